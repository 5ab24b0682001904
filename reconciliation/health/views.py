"""Pages: the health dashboard, alerts, reconciliation reports (list, detail, CSV), and /metrics."""
from __future__ import annotations

import csv
import hmac
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub import roles
from integration_hub.views import RolePermissionMixin
from mapping.models import DriftFinding, ObjectMapping
from reconciliation.health import alerts, metrics, prometheus, selectors, services
from reconciliation.health.filters import AlertFilterSet, ReportFilterSet, ReportItemFilterSet
from reconciliation.health.models import Alert, AlertStatus, ReconciliationReport, ReportItem
from reconciliation.health.tables import AlertTable, ReportItemTable, ReportTable


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


class ReportListView(RolePermissionMixin, SingleTableMixin, FilterView):
    """Each mapping's latest report with a Run button, the consistency trend, and every kept report."""

    permission_required = "health.view_reconciliationreport"
    queryset = selectors.reports_for_list()
    filterset_class = ReportFilterSet
    table_class = ReportTable
    template_name = "health/report_list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["latest"] = selectors.latest_reports()
        ctx["trend"] = selectors.report_trend(days=30)
        ctx["can_run"] = roles.is_revops(self.request.user)
        return ctx


class ReportRunView(RolePermissionMixin, View):
    permission_required = "health.add_reconciliationreport"

    def post(self, request, mapping_pk):
        mapping = get_object_or_404(ObjectMapping, pk=mapping_pk)
        try:
            report = services.report_request(mapping=mapping, user=request.user)
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from exc
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect("hub:reconciliation")
        messages.success(request, f"Reconciliation of {mapping} queued: this page fills in when it finishes.")
        return redirect(report)


class ReportDetailView(RolePermissionMixin, SingleTableMixin, FilterView):
    permission_required = "health.view_reconciliationreport"
    filterset_class = ReportItemFilterSet
    table_class = ReportItemTable
    template_name = "health/report_detail.html"

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():  # before looking the report up: no 404/403 difference to probe
            return self.handle_no_permission()
        self.report = get_object_or_404(selectors.reports_for_list(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return self.report.items.select_related("record")

    def get_table_kwargs(self):
        return {"request": self.request, "can_resync": roles.is_revops(self.request.user)}

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        report = self.report
        ctx["report"] = report
        ctx["previous"] = report.mapping.reports.filter(created_at__lt=report.created_at,
                                                        status="succeeded").order_by("-created_at").first()
        ctx["counts_rows"] = [(label, report.counts.get(side, {})) for side, label in
                              (("crm", "CRM"), ("erp", "ERP"))]
        ctx["hub_counts"] = report.counts.get("hub", {})
        return ctx


class ReportCsvView(RolePermissionMixin, View):
    """Every line of a report as CSV (streamed: fine for large reports)."""

    permission_required = "health.view_reconciliationreport"
    HEADER = ["report", "mapping", "kind", "field", "currency", "golden_record", "crm_id", "erp_id", "crm_value",
              "erp_value", "hub_value", "crm_lineage", "erp_lineage", "detail"]

    def get(self, request, pk):
        report = get_object_or_404(ReconciliationReport, pk=pk)

        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())

        def text(value):
            if value is None:
                return ""
            return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)

        def lineage(item, side):
            entry = (item.lineage or {}).get(side) or {}
            if not entry:
                return ""
            return "; ".join(str(x) for x in (entry.get("how"), entry.get("run") and f"sync-run:{entry['run']}",
                                               entry.get("rule_version") and f"rule v{entry['rule_version']}",
                                               entry.get("at")) if x)

        def rows():
            yield writer.writerow(self.HEADER)
            for item in report.items.order_by("kind", "field", "id").iterator(chunk_size=2000):
                yield writer.writerow([report.pk, str(report.mapping), item.kind, item.field, item.currency,
                                       item.record_id or "", item.crm_id, item.erp_id, text(item.crm_value),
                                       text(item.erp_value), text(item.hub_value), lineage(item, "crm"),
                                       lineage(item, "erp"), item.detail])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="reconciliation-{report.pk}.csv"'
        return response


class ItemResyncView(RolePermissionMixin, View):
    permission_required = "health.view_reconciliationreport"

    def post(self, request, pk):
        item = get_object_or_404(ReportItem.objects.select_related("report__mapping"), pk=pk)
        try:
            run = services.item_resync(item=item, user=request.user)
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from exc
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect(item.report)
        messages.success(request, f"Re-synced {item.crm_id or ''}/{item.erp_id or ''}: sync-run:{run.pk} "
                                  f"({run.get_status_display().lower()}).")
        return redirect(run)


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
