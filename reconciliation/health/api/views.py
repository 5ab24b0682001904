"""API: reconciliation reports (POST queues one), alerts (+ acknowledge), and health for uptime checks."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from reconciliation.health import alerts, metrics, selectors
from reconciliation.health.api.serializers import AlertSerializer
from reconciliation.health.filters import AlertFilterSet
from reconciliation.health.models import Alert


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts, newest first (filter by status); ``acknowledge`` for RevOps admins."""

    queryset = selectors.alerts_for_list()
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = get_object_or_404(Alert, pk=pk)
        try:
            alerts.alert_acknowledge(alert=alert, user=request.user, note=str(request.data.get("note", "")))
        except PermissionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(AlertSerializer(alert).data)


class HealthView(APIView):
    """Overall status (green, amber, red) for load balancers and uptime checks, open to anyone; signed-in
    users who may read health also get each system's and mapping's figures and the open alerts."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiResponse(description="status, checked_at; details when allowed")})
    def get(self, request):
        data = selectors.latest_snapshot(max_age_minutes=6) or metrics.snapshot()
        body = {"status": data["status"], "checked_at": data["taken_at"]}
        if request.user.is_authenticated and request.user.has_perm("health.view_alert"):
            body.update({"hub": data["hub"], "systems": data["systems"], "mappings": data["mappings"],
                         "open_alerts": AlertSerializer(selectors.alerts_for_list().exclude(status="resolved"),
                                                        many=True).data})
        return Response(body)
