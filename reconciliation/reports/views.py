"""Pages: reconciliation reports (list, run, detail, CSV) and re-syncing one line's record."""
from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from integration_hub.kernel import roles
from integration_hub.kernel.views import RolePermissionMixin
from mapping.models import ObjectMapping
from reconciliation.reports import selectors, services
from reconciliation.reports.filters import ReportFilterSet, ReportItemFilterSet
from reconciliation.reports.models import ReconciliationReport, ReportItem
from reconciliation.reports.tables import ReportItemTable, ReportTable


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
            return redirect("reports:list")
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
