from django.urls import path

from mapping import views

app_name = "mapping"
urlpatterns = [
    path("", views.MappingListView.as_view(), name="list"),
    path("install-template/", views.TemplateInstallView.as_view(), name="install-template"),
    path("<int:pk>/", views.MappingDetailView.as_view(), name="detail"),
    path("<int:pk>/<slug:action>/", views.MappingActionView.as_view(), name="action"),
]
