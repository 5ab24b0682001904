"""The data-quality table: one row per held field, with names, the value as read and the reason."""
from __future__ import annotations

import django_tables2 as tables
from django.template.defaultfilters import date
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from integration_hub.kernel.tables import BaseTable
from integration_hub.records.selectors import hidden_fields_for
from integration_hub.sync.held_selectors import as_read, shown
from integration_hub.sync.models import HeldField


class HeldFieldTable(BaseTable):
    select = tables.CheckBoxColumn(accessor="pk", orderable=False,
                                   attrs={"th__input": {"id": "select-page", "aria-label": "Select page"}})
    record = tables.Column(empty_values=(), order_by=("record__display_name", "external_id"), verbose_name="Record")
    system = tables.Column(accessor="system__name", verbose_name="System")
    mapping = tables.Column(linkify=True, order_by=("mapping__entity_type", "mapping_id"))
    side = tables.Column(verbose_name="Side")
    field = tables.Column(verbose_name="Field")
    value = tables.Column(empty_values=(), orderable=False, verbose_name="Value as read")
    reason = tables.Column(verbose_name="Reason")
    first_seen_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="First seen")
    last_seen_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Last seen")
    run = tables.Column(accessor="run_id", verbose_name="Found by")
    status = tables.Column(empty_values=(), order_by=("cleared_at",), verbose_name="Status")
    kind = tables.Column(verbose_name="Held or flowed")

    class Meta(BaseTable.Meta):
        model = HeldField
        fields = ("select", "record", "system", "mapping", "side", "field", "kind", "value", "reason",
                  "first_seen_at", "last_seen_at", "run", "status")
        sequence = fields
        order_by = ("-last_seen_at",)
        attrs = {"class": "hub-table", "id": "held-fields"}
        row_attrs = {"data-held": lambda record: record.pk}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self._hidden: dict[str, set[str]] = {}

    def _shown(self, held: HeldField):
        entity = held.mapping.entity_type
        if entity not in self._hidden:
            self._hidden[entity] = hidden_fields_for(self.user, entity)
        return shown(held, self._hidden[entity])

    def render_record(self, record):
        vendor_id = format_html('<code>{}</code>', record.external_id)
        if record.record_id is None:
            return format_html('{} <small class="hub-muted">(no golden record yet)</small>', vendor_id)
        return format_html('<a href="{}">{}</a> <small class="hub-muted">{}</small>',
                           record.record.get_absolute_url(), record.record, vendor_id)

    def render_side(self, value):
        return value.upper()

    def render_value(self, record):
        return as_read(self._shown(record)[0])

    def render_reason(self, record):
        return self._shown(record)[1]

    def render_run(self, value):
        return format_html('<a href="{}">sync-run:{}</a>', reverse("sync:run-detail", args=[value]), value)

    def render_status(self, record):
        if record.cleared_at is None and record.kind == "flagged":
            return mark_safe('<span class="badge badge-grey">flowed as typed, flagged</span>')
        if record.cleared_at is None:
            return mark_safe('<span class="badge badge-amber">held</span>')
        return format_html('<span class="badge badge-green">cleared</span> {} <small>{}</small>',
                           date(record.cleared_at, "Y-m-d H:i"), record.cleared_because)
