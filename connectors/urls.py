from django.urls import path

from connectors import views

app_name = "systems"

urlpatterns = [
    path("", views.SystemListView.as_view(), name="list"),
    path("<slug:slug>/", views.SystemDetailView.as_view(), name="detail"),
]
