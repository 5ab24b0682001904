"""API views: thin, over the same selectors and FilterSets as the pages."""
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action

from connectors.models import ConnectedSystem
from integration_hub import selectors
from integration_hub.api.serializers import (
    ConnectedSystemSerializer,
    RecordSerializer,
    SyncRunSerializer,
    TimelineEntrySerializer,
)
from integration_hub.filters import RecordFilterSet, SystemFilterSet
from integration_hub.models import Record, SyncRun, SyncTrigger


class ConnectedSystemViewSet(viewsets.ModelViewSet):
    """Connected CRMs and ERPs. RevOps admins edit; every role reads (secrets are never returned)."""

    queryset = ConnectedSystem.objects.all()
    serializer_class = ConnectedSystemSerializer
    filterset_class = SystemFilterSet
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "put", "head", "options"]


class RecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Golden records with their links; ``history`` gives the field-level timeline."""

    queryset = Record.objects.prefetch_related("links__system")
    serializer_class = RecordSerializer
    filterset_class = RecordFilterSet
    ordering_fields = ("updated_at", "display_name", "id")

    @extend_schema(responses=TimelineEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        record = self.get_object()
        hidden = selectors.hidden_fields_for(request.user, record.entity_type)
        entries = selectors.mask_timeline(selectors.record_timeline(record=record), hidden)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)


class SyncRunViewSet(viewsets.mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sync runs: GET shows progress and counts; POST {"mapping": id, "mode", "full"} starts one (RevOps)."""

    queryset = SyncRun.objects.select_related("rule_version")
    serializer_class = SyncRunSerializer
    filterset_fields = ("mapping", "status", "trigger", "mode")

    def perform_create(self, serializer):
        from django.db import transaction

        from integration_hub import tasks

        run = serializer.save(trigger=SyncTrigger.MANUAL, requested_by=self.request.user)
        transaction.on_commit(lambda: tasks.sync_mapping.delay(run.mapping_id, run_id=run.pk))
