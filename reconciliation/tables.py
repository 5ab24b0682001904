"""The conflict queue's table: one row per conflict, its three values side by side."""
from __future__ import annotations

import django_tables2 as tables
from django.db.models import F
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.timesince import timesince

from integration_hub.tables import BaseTable
from reconciliation.models import Conflict
from reconciliation.selectors import hidden_for, shown, sla_cutoff

APPROVER_COLOURS = {"finance": "amber", "revops": "grey"}


class ConflictTable(BaseTable):
    select = tables.CheckBoxColumn(accessor="pk", orderable=False, attrs={"th__input": {"id": "select-page",
                                                                                        "aria-label": "Select page"}})
    record = tables.Column(linkify=True, orderable=False)
    field = tables.Column(linkify=lambda record: record.get_absolute_url())
    values = tables.Column(empty_values=(), orderable=False, verbose_name="Base → CRM vs ERP")
    approver_role = tables.Column(verbose_name="Approver")
    amount_at_stake = tables.Column(verbose_name="At stake")
    created_at = tables.Column(verbose_name="Age")

    class Meta(BaseTable.Meta):
        model = Conflict
        fields = ("select", "record", "entity_type", "field", "values", "approver_role", "amount_at_stake",
                  "created_at")
        sequence = fields
        order_by = ("created_at",)
        attrs = {"class": "hub-table conflict-queue", "id": "conflicts"}
        row_attrs = {"class": lambda record, table: "over-sla" if record.created_at < table.sla else "",
                     "data-conflict": lambda record: record.pk}

    def __init__(self, *args, user=None, query: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.query = query
        self._hidden: dict[str, set[str]] = {}
        self.sla = sla_cutoff()

    def order_amount_at_stake(self, queryset, is_descending):
        amount = F("amount_at_stake")  # conflicts with no money at stake go last both ways
        return queryset.order_by(amount.desc(nulls_last=True) if is_descending else amount.asc(nulls_last=True),
                                 "created_at", "id"), True

    def render_field(self, value, record):
        return format_html('<a href="{}{}">{}</a>', record.get_absolute_url(),
                           f"?{self.query}" if self.query else "", value)

    def render_values(self, record):
        hidden = hidden_for(self.user, record.entity_type or record.record.entity_type, self._hidden)
        return render_to_string("reconciliation/_values.html", {
            "c": record, "base": shown(record.base_value, record.field, hidden),
            "crm": shown(record.crm_value, record.field, hidden), "erp": shown(record.erp_value, record.field, hidden)})

    def render_approver_role(self, value, record):
        return format_html('<span class="badge badge-{}">{}</span>', APPROVER_COLOURS.get(value, "grey"),
                           "Finance" if value == "finance" else "RevOps")

    def render_amount_at_stake(self, value, record):
        return f"{value.normalize():f} {record.stake_currency}".strip()

    def render_created_at(self, value, record):
        label = f"{timesince(value).split(',')[0]}"
        if value < self.sla:
            return format_html('<span class="badge badge-red" title="Over the SLA">{}</span>', label)
        return label
