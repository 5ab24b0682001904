from django.urls import path
from rest_framework.routers import SimpleRouter

from reconciliation.health.api.views import AlertViewSet, HealthView

router = SimpleRouter()
router.register("alerts", AlertViewSet)

urlpatterns = [path("health/", HealthView.as_view(), name="api-health"), *router.urls]
