"""Pages: the health dashboard, alerts, reconciliation reports (list, detail, CSV), and /metrics."""
from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub.kernel.views import RolePermissionMixin
from mapping.models import DriftFinding
from reconciliation.health import alerts, metrics, prometheus, selectors
from reconciliation.health.filters import AlertFilterSet
from reconciliation.health.models import Alert, AlertStatus
from reconciliation.health.tables import AlertTable


class DashboardView(RolePermissionMixin, TemplateView):
    """Status tile per system, open alerts, charts over time, per-mapping figures, drift findings."""

    permission_required = "health.view_alert"
    template_name = "health/dashboard.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        data = metrics.snapshot()
        ctx["health"] = data
        ctx["systems"] = sorted(data["systems"].items(), key=lambda kv: (kv[1]["role"], kv[0]))
        ctx["mappings"] = [m for m in data["mappings"].values() if m["published"]]
        ctx["alerts"] = selectors.alerts_for_list().exclude(status=AlertStatus.RESOLVED)[:50]
        ctx["can_ack"] = self.request.user.has_perm("health.change_alert")
        ctx["findings"] = DriftFinding.objects.filter(is_open=True).select_related("mapping")
        try:
            hours = min(max(int(self.request.GET.get("hours", 24)), 1), 24 * 30)
        except ValueError:
            hours = 24
        ctx["charts"] = selectors.chart_series(hours=hours)
        return ctx


class AlertListView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "health.view_alert"
    queryset = selectors.alerts_for_list()
    filterset_class = AlertFilterSet
    table_class = AlertTable
    template_name = "health/alert_list.html"

    def get_table_kwargs(self):
        return {"request": self.request, "can_ack": self.request.user.has_perm("health.change_alert")}


class AlertAcknowledgeView(RolePermissionMixin, View):
    permission_required = "health.change_alert"

    def post(self, request, pk):
        alert = get_object_or_404(Alert, pk=pk)
        try:
            alerts.alert_acknowledge(alert=alert, user=request.user, note=request.POST.get("note", ""))
            messages.success(request, f"Acknowledged: {alert.message}")
        except ValueError as exc:
            messages.error(request, str(exc))
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            target = reverse("health:alerts")
        return HttpResponseRedirect(target)  # a path, never a view name for redirect() to look up


@method_decorator(login_not_required, name="dispatch")
class MetricsView(View):
    """Prometheus scrape endpoint: a bearer token (METRICS_TOKEN) or a signed-in user who may read health."""

    def get(self, request):
        token = getattr(settings, "METRICS_TOKEN", "")
        header = request.headers.get("Authorization", "")
        by_token = bool(token) and header[:7].lower() == "bearer " and hmac.compare_digest(
            header[7:].strip().encode(), token.encode())
        if not by_token:
            if not request.user.is_authenticated:
                response = HttpResponse("401 Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n",
                                        status=401, content_type="text/plain")
                response["WWW-Authenticate"] = 'Bearer realm="metrics"'
                return response
            if not request.user.has_perm("health.view_alert"):
                return HttpResponse("403 Forbidden\n", status=403, content_type="text/plain")
        return HttpResponse(prometheus.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
