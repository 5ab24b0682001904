"""The duplicate queue table."""
import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from integration_hub.kernel.tables import BaseTable
from integration_hub.records.services import display_name_for
from reconciliation.duplicates.models import DuplicateCandidate

KIND_COLOURS = {"within": "amber", "across": "green", "hub": "grey", "incoming": "red"}
STATUS_COLOURS = {"open": "amber", "merged": "green", "dismissed": "grey", "stale": "grey"}


class CandidateTable(BaseTable):
    id = tables.Column(linkify=True, verbose_name="Cluster")
    score = tables.Column()
    records = tables.Column(empty_values=(), orderable=False, verbose_name="Records")
    kind = tables.Column()
    status = tables.Column()

    def render_id(self, value):
        return f"#{value}"

    def render_score(self, value):
        return format_html('<meter min="0" max="1" value="{}"></meter> {}', f"{value:.3f}", f"{value:.2f}")

    def render_records(self, record):
        names = [(str(r),) for r in record.records.all()]
        if record.is_incoming:
            name = display_name_for(record.entity_type, record.incoming_values) or record.incoming_external_id
            names.insert(0, (f"{name} (held: {record.incoming_system.name} {record.incoming_external_id})",))
        return format_html_join(" · ", "{}", names)

    def render_kind(self, value, record):
        return format_html('<span class="badge badge-{}">{}</span>', KIND_COLOURS.get(record.kind, "grey"), value)

    def render_status(self, value, record):
        return format_html('<span class="badge badge-{}">{}</span>', STATUS_COLOURS.get(record.status, "grey"),
                           value)

    class Meta(BaseTable.Meta):
        model = DuplicateCandidate
        fields = ("id", "score", "entity_type", "records", "kind", "status", "created_at")
        order_by = ()
