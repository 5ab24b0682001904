from django.urls import path

from reconciliation.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.ReportListView.as_view(), name="list"),
    path("<int:pk>/", views.ReportDetailView.as_view(), name="report-detail"),
    path("<int:pk>/csv/", views.ReportCsvView.as_view(), name="report-csv"),
    path("run/<int:mapping_pk>/", views.ReportRunView.as_view(), name="report-run"),
    path("items/<int:pk>/resync/", views.ItemResyncView.as_view(), name="item-resync"),
]
