"""The records pages: the list and the record page (values with provenance, links, documents, timeline)."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub.kernel.views import RolePermissionMixin
from integration_hub.records import extensions, selectors
from integration_hub.records.filters import RecordFilterSet
from integration_hub.records.models import Record
from integration_hub.records.tables import RecordTable


class RecordListView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "hub.view_record"
    queryset = selectors.records_for_list()
    filterset_class = RecordFilterSet
    table_class = RecordTable
    template_name = "hub/record_list.html"


class RecordDetailView(RolePermissionMixin, DetailView):
    permission_required = "hub.view_record"
    model = Record
    template_name = "hub/record_detail.html"
    TIMELINE_PAGE = 25

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        record = self.object
        hidden = selectors.hidden_fields_for(self.request.user, record.entity_type)
        ctx["fields"] = [
            {"name": name, "value": _shown(value), "provenance": record.provenance.get(name, {})}
            for name, value in sorted(selectors.masked_values(record.values, hidden).items())
        ]
        ctx["links"] = record.links.select_related("system")
        ctx.update(extensions.page_context(record, self.request.user))  # what other apps add: documents, merges
        entries = selectors.mask_timeline(selectors.record_timeline(record=record), hidden)
        timeline = Paginator(entries, self.TIMELINE_PAGE)
        ctx["timeline"] = timeline.get_page(self.request.GET.get("page"))
        return ctx


def _shown(value):
    """A document's lines are a table of their own on the page; the values table says where."""
    if isinstance(value, list) and value and all(isinstance(line, dict) and "unit_price" in line for line in value):
        return f"{len(value)} line{'s' if len(value) != 1 else ''} (see Line items)"
    return value
