"""The held fields in the API: read-only, filtered and masked as the data-quality page filters and masks them."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from integration_hub.records.selectors import hidden_fields_for
from integration_hub.sync.held_filters import HeldFieldFilterSet
from integration_hub.sync.held_selectors import cause_of, held_fields_for_list, shown
from integration_hub.sync.models import HeldField


class HeldFieldSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    mapping_name = serializers.CharField(source="mapping", read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True)
    record_name = serializers.SerializerMethodField()
    value = serializers.SerializerMethodField(help_text="The vendor's value as read (masked for Viewers where the "
                                                        "field is sensitive).")
    reason = serializers.SerializerMethodField()
    cause = serializers.SerializerMethodField(help_text="The field and the reason with the value taken out: held "
                                                        "fields that fail the same way share it.")

    class Meta:
        model = HeldField
        fields = ("id", "status", "mapping", "mapping_name", "system", "system_name", "side", "external_id",
                  "record", "record_name", "field", "value", "reason", "cause", "run", "first_seen_at",
                  "last_seen_at", "cleared_at", "cleared_because")
        read_only_fields = fields

    def _shown(self, held: HeldField) -> tuple[Any, str]:
        hidden = self.context.setdefault("hidden_fields", {})
        entity = held.mapping.entity_type
        if entity not in hidden:
            hidden[entity] = hidden_fields_for(self.context["request"].user, entity)
        return shown(held, hidden[entity])

    def get_status(self, held: HeldField) -> str:
        return "held" if held.cleared_at is None else "cleared"

    def get_record_name(self, held: HeldField) -> str | None:
        return str(held.record) if held.record_id else None

    @extend_schema_field(OpenApiTypes.ANY)
    def get_value(self, held: HeldField) -> Any:
        return self._shown(held)[0]

    def get_reason(self, held: HeldField) -> str:
        return self._shown(held)[1]

    def get_cause(self, held: HeldField) -> str:
        return f"{held.field}: {cause_of(held.reason)}"


class HeldFieldViewSet(viewsets.ReadOnlyModelViewSet):
    """Held fields: vendor values that failed their rules while the rest of their records flowed. Without
    `status`, those still held; `status=cleared` or `status=all` for the others; `cause` as the page's causes."""

    queryset = held_fields_for_list()
    serializer_class = HeldFieldSerializer
    filterset_class = HeldFieldFilterSet
    ordering_fields = ("last_seen_at", "first_seen_at", "field", "id")
    ordering = ("-last_seen_at", "-id")

    def filter_queryset(self, queryset):
        # One held field is found by its id whatever its status; the filters (held by default) are the list's.
        return queryset if self.action == "retrieve" else super().filter_queryset(queryset)
