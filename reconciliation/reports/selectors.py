"""Read queries for the reconciliation pages and API."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from mapping.models import ObjectMapping
from reconciliation.reports.models import ReconciliationReport, ReportStatus


def reports_for_list() -> QuerySet[ReconciliationReport]:
    return ReconciliationReport.objects.select_related("mapping", "rule_version", "requested_by")


def latest_reports() -> list[ReconciliationReport]:
    """Each mapping's latest report (any status), newest mapping first."""
    out = []
    for mapping in ObjectMapping.objects.filter(published_version__isnull=False).order_by("entity_type"):
        report = mapping.reports.order_by("-created_at").first()
        out.append((mapping, report))
    return out


def report_trend(*, days: int = 30) -> dict:
    """Consistency score and mismatches per report over time, per mapping (for the trend chart)."""
    since = timezone.now() - timedelta(days=days)
    series: dict[str, dict] = {}
    for report in ReconciliationReport.objects.filter(status=ReportStatus.SUCCEEDED, created_at__gte=since) \
            .select_related("mapping").order_by("created_at"):
        entry = series.setdefault(str(report.mapping), {"points": []})
        entry["points"].append({"t": report.created_at.isoformat(),
                                "score": None if report.consistency_score is None
                                else round(report.consistency_score * 100, 2),
                                "mismatched": report.mismatched, "only_crm": report.only_crm,
                                "only_erp": report.only_erp})
    return series
