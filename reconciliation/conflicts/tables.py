"""The conflict queue's table: one row per conflict, its three values side by side."""
from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.timesince import timesince

from integration_hub.kernel.tables import BaseTable
from integration_hub.kernel.templatetags.hub_tags import show_value
from reconciliation.conflicts.models import Conflict
from reconciliation.conflicts.selectors import hidden_for, shown, sla_cutoff

APPROVER_COLOURS = {"finance": "amber", "revops": "grey"}


class ConflictTable(BaseTable):
    select = tables.CheckBoxColumn(accessor="pk", orderable=False, attrs={"th__input": {"id": "select-page",
                                                                                        "aria-label": "Select page"}})
    record = tables.Column(linkify=True, orderable=False)
    field = tables.Column()
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
        # Ties in queue order, along the (status, amount_at_stake, created_at, id) index either way.
        fields = ("amount_at_stake", "created_at", "id")
        return queryset.order_by(*(f"-{f}" for f in fields) if is_descending else fields), True

    def render_field(self, value, record):
        return format_html('<a href="{}{}">{}</a>', record.get_absolute_url(),
                           f"?{self.query}" if self.query else "", value)

    def render_values(self, record):
        hidden = hidden_for(self.user, record.entity_type or record.record.entity_type, self._hidden)
        mapping = record.mapping

        def side(name: str, value, system, when) -> str:
            stamp = f", {when:%Y-%m-%d %H:%M}" if when else ""
            return format_html('<span class="side {}"><strong>{}</strong> <span class="value">{}</span> '
                               '<small>{}{}</small></span>', name, name.upper(), show_value(value), system.name, stamp)

        return format_html(
            '<div class="conflict-values"><span class="base" title="Base: the value both systems agreed on last">'
            '{}</span> → {} <span class="vs">vs</span> {}</div>',
            show_value(shown(record.base_value, record.field, hidden)),
            side("crm", shown(record.crm_value, record.field, hidden), mapping.crm_system, record.crm_updated_at),
            side("erp", shown(record.erp_value, record.field, hidden), mapping.erp_system, record.erp_updated_at))

    def render_approver_role(self, value, record):
        return format_html('<span class="badge badge-{}">{}</span>', APPROVER_COLOURS.get(value, "grey"),
                           "Finance" if value == "finance" else "RevOps")

    def render_amount_at_stake(self, value, record):
        return f"{value.normalize():f} {record.stake_currency}" if record.stake_currency else "—"

    def render_created_at(self, value, record):
        label = f"{timesince(value).split(',')[0]}"
        if value < self.sla:
            return format_html('<span class="badge badge-red" title="Over the SLA">{}</span>', label)
        return label
