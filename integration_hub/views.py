"""The home page: the connected systems and how many golden records of each kind the hub holds."""
from __future__ import annotations

from django.db.models import Count
from django.views.generic import TemplateView

from connectors.models import ConnectedSystem
from integration_hub.kernel.views import RolePermissionMixin
from integration_hub.records.models import Record


class HomeView(RolePermissionMixin, TemplateView):
    template_name = "hub/home.html"
    permission_required = "hub.view_record"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["systems"] = ConnectedSystem.objects.all()
        ctx["record_counts"] = (Record.objects.values("entity_type").annotate(n=Count("id")).order_by("entity_type"))
        return ctx

