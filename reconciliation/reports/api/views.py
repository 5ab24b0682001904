"""API: reconciliation reports (POST queues one) and their lines."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from reconciliation.reports import selectors, services
from reconciliation.reports.api.serializers import ReconciliationReportSerializer, ReportItemSerializer
from reconciliation.reports.filters import ReportFilterSet, ReportItemFilterSet


class ReconciliationReportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Reconciliation reports, newest first. POST {"mapping": id} queues one (RevOps admins);
    ``items`` lists what a report found (paginated, filter by kind, field, external id)."""

    queryset = selectors.reports_for_list()
    serializer_class = ReconciliationReportSerializer
    filterset_class = ReportFilterSet
    ordering_fields = ("created_at", "consistency_score")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            report = services.report_request(mapping=serializer.validated_data["mapping"], user=request.user)
        except PermissionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(report).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=ReportItemSerializer(many=True))
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        report = get_object_or_404(self.get_queryset(), pk=pk)
        self.check_object_permissions(request, report)
        queryset = ReportItemFilterSet(request.GET, queryset=report.items.all()).qs
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ReportItemSerializer(page, many=True).data)
