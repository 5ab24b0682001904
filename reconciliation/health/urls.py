from django.urls import path

from reconciliation.health import views

app_name = "health"

urlpatterns = [
    path("health/", views.DashboardView.as_view(), name="dashboard"),
    path("health/alerts/", views.AlertListView.as_view(), name="alerts"),
    path("health/alerts/<int:pk>/acknowledge/", views.AlertAcknowledgeView.as_view(), name="alert-acknowledge"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
]
