from django.urls import path

from integration_hub.records import views

app_name = "records"

urlpatterns = [
    path("", views.RecordListView.as_view(), name="list"),
    path("<int:pk>/", views.RecordDetailView.as_view(), name="detail"),
]
