"""Tables for the work pages; one base table and shared columns."""
import django_tables2 as tables
from django.utils.html import format_html

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

