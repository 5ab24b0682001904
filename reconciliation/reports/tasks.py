"""Celery entry points: thin, load by id, call a service."""
from __future__ import annotations

from celery import shared_task

from integration_hub.kernel.task_policy import RETRY_POLICY
from reconciliation.reports import services
from reconciliation.reports.models import ReconciliationReport
from reconciliation.reports.reconcile import report_run


@shared_task(**RETRY_POLICY)
def reconcile_mapping(report_id: int) -> dict:
    """Run a queued reconciliation report (the button, the API)."""
    report = report_run(report=ReconciliationReport.objects.select_related("mapping").get(pk=report_id))
    return {"report": report.pk, "status": report.status, "score": report.consistency_score}


@shared_task(**RETRY_POLICY)
def reconcile_all() -> list[int]:
    """The daily reconciliation of every enabled mapping."""
    services.report_fail_stale()
    return [report.pk for report in services.reconcile_all()]
