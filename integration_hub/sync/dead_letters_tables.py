"""The dead-letter page's filters and table (the API filters with the same FilterSet)."""
from __future__ import annotations

import json

import django_filters
import django_tables2 as tables
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from connectors.models import ConnectedSystem
from integration_hub.kernel.form_ids import MAX_ID
from integration_hub.kernel.tables import BaseTable
from integration_hub.records.selectors import hidden_fields_for, masked_values
from integration_hub.sync.dead_letters_causes import cause_of, causes, of_cause
from integration_hub.sync.models import OutboundChange, OutboundStatus
from mapping.models import ObjectMapping

SHOWN = (OutboundStatus.DEAD, OutboundStatus.DISCARDED)
PAYLOAD_CHARS = 160


def dead_and_discarded():
    return OutboundChange.objects.filter(status__in=SHOWN)


def _cause_choices():
    return [(c.key, f"{c.system.name} {c.vendor_object}: {c.text} ({c.count})")
            for c in causes(dead_and_discarded())]


def _object_choices():
    return [(name, name) for name in dead_and_discarded().order_by("vendor_object")
            .values_list("vendor_object", flat=True).distinct()]


class DeadLetterFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=[(s.value, s.label) for s in SHOWN], empty_label=None,
                                         label="Status")
    system = django_filters.ModelChoiceFilter(queryset=ConnectedSystem.objects.order_by("name"), label="System")
    mapping = django_filters.ModelChoiceFilter(queryset=ObjectMapping.objects.select_related(
        "crm_system", "erp_system").order_by("entity_type", "id"), method="filter_mapping", label="Mapping")
    vendor_object = django_filters.ChoiceFilter(choices=_object_choices, label="Object")
    cause = django_filters.ChoiceFilter(choices=_cause_choices, method="filter_cause", label="Cause")
    # Ids as the database can hold them: anything else is a form error, never a server error.
    run = django_filters.NumberFilter(field_name="run_id", label="Run", min_value=1, max_value=MAX_ID,
                                      decimal_places=0)
    record = django_filters.NumberFilter(field_name="record_id", label="Record", min_value=1, max_value=MAX_ID,
                                         decimal_places=0)

    class Meta:
        model = OutboundChange
        fields = ["status", "system", "mapping", "vendor_object", "cause", "run", "record"]

    def __init__(self, data=None, *args, **kwargs):
        # Dead letters unless asked for the discarded ones: what a person has to act on.
        data = data.copy() if data is not None else {}
        if not data.get("status"):
            data["status"] = OutboundStatus.DEAD
        super().__init__(data, *args, **kwargs)

    @extend_schema_field(OpenApiTypes.INT)  # the mapping's id
    def filter_mapping(self, queryset, name, value: ObjectMapping):
        return queryset.filter(
            Q(system_id=value.crm_system_id, vendor_object=value.crm_object)
            | Q(system_id=value.erp_system_id, vendor_object=value.erp_object),
            record__entity_type=value.entity_type)

    @extend_schema_field(OpenApiTypes.STR)  # a cause's key
    def filter_cause(self, queryset, name, value: str):
        return of_cause(queryset, value)


def shown_write(row: OutboundChange, user, hidden_by_entity: dict[str, set[str]]) -> dict:
    """A write's values, payload and error as this user may see them: a Viewer sees sensitive values masked,
    and for a write that carries one, no payload and the error's cause instead of its words (they may quote it)."""
    entity = row.record.entity_type
    if entity not in hidden_by_entity:
        hidden_by_entity[entity] = hidden_fields_for(user, entity)
    hidden = hidden_by_entity[entity] & set(row.values or {})
    return {"values": masked_values(row.values or {}, hidden), "payload": None if hidden else row.payload,
            "error": cause_of(row.last_error) if hidden else row.last_error, "masked": bool(hidden)}


class DeadLetterTable(BaseTable):
    select = tables.CheckBoxColumn(accessor="pk", orderable=False, attrs={"th__input": {"id": "select-page",
                                                                                        "aria-label": "Select page"}})
    record = tables.Column(linkify=True, order_by=("record__display_name",))
    system = tables.Column(accessor="system__name", verbose_name="System")
    vendor_object = tables.Column(verbose_name="Object")
    operation = tables.Column()
    payload = tables.Column(orderable=False, verbose_name="Payload sent")
    last_error = tables.Column(verbose_name="The system's error", orderable=False)
    attempts = tables.Column()
    next_attempt_at = tables.Column(verbose_name="Last tried")
    run = tables.Column(linkify=True, verbose_name="Run")
    open = tables.Column(accessor="pk", orderable=False, verbose_name="")

    class Meta(BaseTable.Meta):
        model = OutboundChange
        fields = ("select", "record", "system", "vendor_object", "operation", "payload", "last_error", "attempts",
                  "next_attempt_at", "run", "open")
        sequence = fields
        order_by = ("-id",)
        attrs = {"class": "hub-table", "id": "dead-letters"}
        row_attrs = {"data-write": lambda record: record.pk}

    def __init__(self, *args, user=None, can_act: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self._hidden = user, {}
        if not can_act:
            self.columns.hide("select")

    def render_payload(self, record):
        shown = shown_write(record, self.user, self._hidden)
        if shown["payload"] is None:
            return "hidden (sensitive values)"
        text = json.dumps(shown["payload"], ensure_ascii=False, sort_keys=True)
        return format_html("<code>{}</code>", text if len(text) <= PAYLOAD_CHARS else text[:PAYLOAD_CHARS] + "…")

    def render_last_error(self, record):
        return shown_write(record, self.user, self._hidden)["error"]

    def render_run(self, value):
        return f"sync-run:{value.pk}"

    def render_open(self, value, record):
        return format_html('<a href="{}">Open</a>', reverse("sync:dead-letter", args=[value]))
