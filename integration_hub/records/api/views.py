"""API views for golden records: thin, over the same selectors and FilterSets as the pages."""
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action

from integration_hub.records import selectors
from integration_hub.records.api.serializers import RecordSerializer, TimelineEntrySerializer
from integration_hub.records.filters import RecordFilterSet
from integration_hub.records.models import Record


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

