from django.urls import path
from rest_framework.routers import SimpleRouter

from reconciliation.health.api.views import AlertViewSet, HealthView, ReconciliationReportViewSet

router = SimpleRouter()
router.register("reconciliation-reports", ReconciliationReportViewSet)
router.register("alerts", AlertViewSet)

urlpatterns = [path("health/", HealthView.as_view(), name="api-health"), *router.urls]
