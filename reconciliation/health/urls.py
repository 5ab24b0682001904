from django.urls import path

from reconciliation.health import views

app_name = "health"

urlpatterns = [
    path("health/alerts/", views.AlertListView.as_view(), name="alerts"),
    path("health/alerts/<int:pk>/acknowledge/", views.AlertAcknowledgeView.as_view(), name="alert-acknowledge"),
    path("reconciliation/<int:pk>/", views.ReportDetailView.as_view(), name="report-detail"),
    path("reconciliation/<int:pk>/csv/", views.ReportCsvView.as_view(), name="report-csv"),
    path("reconciliation/run/<int:mapping_pk>/", views.ReportRunView.as_view(), name="report-run"),
    path("reconciliation/items/<int:pk>/resync/", views.ItemResyncView.as_view(), name="item-resync"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
]
