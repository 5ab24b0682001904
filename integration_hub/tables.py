"""Tables for the work pages; one base table and shared columns."""
import django_tables2 as tables
from django.utils.html import format_html

from connectors.models import ConnectedSystem
from integration_hub.models import Record

STATUS_COLOURS = {"ok": "green", "failed": "red", "unknown": "grey", "active": "green",
                  "archived": "amber", "deleted": "red"}


class BadgeColumn(tables.Column):
    """A choice shown as a coloured badge, the same in every table."""

    def render(self, value, record, bound_column):
        raw = getattr(record, bound_column.name, "")
        return format_html('<span class="badge badge-{}">{}</span>', STATUS_COLOURS.get(raw, "grey"), value)


class BaseTable(tables.Table):
    class Meta:
        attrs = {"class": "hub-table"}
        per_page = 50


class RecordTable(BaseTable):
    display_name = tables.Column(linkify=True, verbose_name="Name", empty_values=())
    entity_type = tables.Column(verbose_name="Entity")
    link_count = tables.Column(verbose_name="Links", orderable=True)
    updated_at = tables.DateTimeColumn(verbose_name="Updated", format="Y-m-d H:i")

    def render_display_name(self, value, record):
        return str(record)

    class Meta(BaseTable.Meta):
        model = Record
        fields = ("display_name", "entity_type", "link_count", "updated_at")
        order_by = ("-updated_at",)


class SystemTable(BaseTable):
    name = tables.Column(linkify=True)
    auth_status = BadgeColumn(verbose_name="Auth")

    class Meta(BaseTable.Meta):
        model = ConnectedSystem
        fields = ("name", "slug", "role", "vendor", "rollout_stage", "auth_status", "auth_checked_at")
