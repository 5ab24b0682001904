"""Pages: home, records (list + record page), systems, and the work pages later issues fill."""
from __future__ import annotations

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from connectors.models import ConnectedSystem
from integration_hub import selectors
from integration_hub.filters import RecordFilterSet, SystemFilterSet
from integration_hub.models import Record
from integration_hub.tables import RecordTable, SystemTable


class RolePermissionMixin(PermissionRequiredMixin):
    """Signed-in users without the role's permission get 403, never a redirect loop."""

    raise_exception = True


class HomeView(RolePermissionMixin, TemplateView):
    template_name = "hub/home.html"
    permission_required = "hub.view_record"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["systems"] = ConnectedSystem.objects.all()
        ctx["record_counts"] = (Record.objects.values("entity_type").annotate(n=Count("id")).order_by("entity_type"))
        return ctx


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
        ctx["merged_into"] = selectors.merged_into(record=record)
        ctx["documents"] = selectors.record_documents(record=record)
        entries = selectors.mask_timeline(selectors.record_timeline(record=record), hidden)
        timeline = Paginator(entries, self.TIMELINE_PAGE)
        ctx["timeline"] = timeline.get_page(self.request.GET.get("page"))
        return ctx


def _shown(value):
    """A document's lines are a table of their own on the page; the values table says where."""
    if isinstance(value, list) and value and all(isinstance(line, dict) and "unit_price" in line for line in value):
        return f"{len(value)} line{'s' if len(value) != 1 else ''} (see Line items)"
    return value


class SystemListView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "connectors.view_connectedsystem"
    queryset = ConnectedSystem.objects.all()
    filterset_class = SystemFilterSet
    table_class = SystemTable
    template_name = "hub/system_list.html"


class SystemDetailView(RolePermissionMixin, TemplateView):
    permission_required = "connectors.view_connectedsystem"
    template_name = "hub/system_detail.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        system = get_object_or_404(ConnectedSystem, slug=kwargs["slug"])
        ctx["system"] = system
        ctx["link_counts"] = system.links.values("entity_type").annotate(n=Count("id")).order_by("entity_type")
        return ctx

