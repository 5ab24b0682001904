"""Tables for the reconciliation pages."""
import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

from integration_hub.kernel.money import Money
from integration_hub.kernel.tables import BaseTable
from reconciliation.reports.models import KIND_COLOURS, ReconciliationReport, ReportItem


def _badge(colour: str, text) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', colour, text)


REPORT_COLOURS = {"succeeded": "green", "failed": "red", "running": "amber"}


class ReportTable(BaseTable):
    id = tables.Column(linkify=True, verbose_name="Report")
    mapping = tables.Column()
    status = tables.Column()
    consistency_score = tables.Column(verbose_name="Consistency")
    created_at = tables.DateTimeColumn(verbose_name="Started", format="Y-m-d H:i")

    def render_id(self, value):
        return f"#{value}"

    def render_status(self, value, record):
        return _badge(REPORT_COLOURS.get(record.status, "grey"), value)

    def render_consistency_score(self, value, record):
        return record.score_percent

    class Meta(BaseTable.Meta):
        model = ReconciliationReport
        fields = ("id", "mapping", "trigger", "status", "consistency_score", "mismatched", "in_flight", "only_crm",
                  "only_erp", "money_mismatches", "created_at")
        order_by = ("-created_at",)


def _value(value):
    if value is None:
        return format_html('<span class="hub-muted">(empty)</span>')
    money = Money.of(value)
    return str(money) if money is not None else str(value)


class ReportItemTable(BaseTable):
    kind = tables.Column()
    record = tables.Column(linkify=True, verbose_name="Golden record")
    crm_value = tables.Column(verbose_name="CRM value", empty_values=())
    erp_value = tables.Column(verbose_name="ERP value", empty_values=())
    lineage = tables.Column(verbose_name="Where each side's value came from", orderable=False, empty_values=())
    actions = tables.Column(verbose_name="", orderable=False, empty_values=())

    def __init__(self, *args, request=None, can_resync=False, **kwargs):
        self.request, self.can_resync = request, can_resync
        super().__init__(*args, **kwargs)

    def render_kind(self, value, record):
        return _badge(KIND_COLOURS.get(record.kind, "grey"), value)

    def render_crm_value(self, value, record):
        return _value(value) if record.kind in ("field", "money") else ""

    def render_erp_value(self, value, record):
        return _value(value) if record.kind in ("field", "money") else ""

    def render_lineage(self, value, record):
        if not value:
            return ""
        parts = []
        for side in ("crm", "erp"):
            entry = value.get(side) or {}
            run = entry.get("run")
            link = format_html(' <a href="{}">sync-run:{}</a>', reverse("sync:run-detail", args=[run]), run) \
                if run else ""
            version = f" rule v{entry['rule_version']}" if entry.get("rule_version") else ""
            parts.append(format_html("<div><strong>{}</strong>: {}{}{}</div>", side.upper(), entry.get("how", ""),
                                     link, version))
        return format_html("{}{}", parts[0], parts[1])

    def render_actions(self, record):
        if not self.can_resync or not (record.crm_id or record.erp_id) or record.kind == "money":
            return ""
        return format_html(
            '<form method="post" action="{}" class="inline-action"><input type="hidden" '
            'name="csrfmiddlewaretoken" value="{}"><button type="submit">Re-sync this record</button></form>',
            reverse("reports:item-resync", args=[record.pk]), get_token(self.request))

    class Meta(BaseTable.Meta):
        model = ReportItem
        fields = ("kind", "field", "record", "crm_id", "erp_id", "crm_value", "erp_value", "detail", "lineage",
                  "actions")
        order_by = ("kind", "field")
