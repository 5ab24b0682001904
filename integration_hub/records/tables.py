"""The records list's table."""
import django_tables2 as tables

from integration_hub.kernel.tables import BaseTable
from integration_hub.records.models import Record


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
