"""The connected systems' pages."""
from __future__ import annotations

from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from connectors.filters import SystemFilterSet
from connectors.models import ConnectedSystem
from connectors.tables import SystemTable
from integration_hub.kernel.views import RolePermissionMixin


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
