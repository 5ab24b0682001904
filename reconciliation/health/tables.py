"""Tables for the reconciliation and health pages."""
import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

from integration_hub.kernel.tables import BaseTable
from reconciliation.health.models import ALERT_COLOURS, Alert


def _badge(colour: str, text) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', colour, text)


class AlertTable(BaseTable):
    rule = tables.Column()
    status = tables.Column()
    opened_at = tables.DateTimeColumn(verbose_name="Opened", format="Y-m-d H:i")
    resolved_at = tables.DateTimeColumn(verbose_name="Resolved", format="Y-m-d H:i")
    actions = tables.Column(verbose_name="", orderable=False, empty_values=())

    def __init__(self, *args, request=None, can_ack=False, **kwargs):
        self.request, self.can_ack = request, can_ack
        super().__init__(*args, **kwargs)

    def render_status(self, value, record):
        return _badge(ALERT_COLOURS.get(record.status, "grey"), value)

    def render_actions(self, record):
        if record.status == "acknowledged" and record.acknowledged_by:
            return f"acknowledged by {record.acknowledged_by.get_username()}"
        if not self.can_ack or record.status != "open":
            return ""
        return format_html(
            '<form method="post" action="{}" class="inline-action"><input type="hidden" '
            'name="csrfmiddlewaretoken" value="{}"><button type="submit">Acknowledge</button></form>',
            reverse("health:alert-acknowledge", args=[record.pk]), get_token(self.request))

    class Meta(BaseTable.Meta):
        model = Alert
        fields = ("rule", "subject_label", "status", "message", "opened_at", "resolved_at", "actions")
        order_by = ("-opened_at",)
