"""Celery entry points for duplicates: thin, call a service."""
from __future__ import annotations

from celery import shared_task

from integration_hub.kernel import audit
from integration_hub.kernel.task_policy import RETRY_POLICY
from reconciliation.duplicates import readiness, scan
from reconciliation.duplicates.models import ReadinessReport, ReadinessStatus


@shared_task(**RETRY_POLICY)
def scan_duplicates(entity_type: str) -> dict:
    """A full duplicate scan of one entity (scheduled daily per entity; also queued from the queue page)."""
    with audit.acting_as("duplicate-scan", reason=f"scheduled duplicate scan of {entity_type}s"):
        summary = scan.duplicates_scan(entity_type=entity_type)
    return {"records": summary.records, "clusters": summary.clusters, "created": summary.created,
            "stale": summary.stale, "seconds": round(summary.seconds, 1)}


@shared_task(**RETRY_POLICY)
def build_readiness_report(report_id: int) -> str:
    """Build a readiness report a RevOps admin asked for (reads both systems whole; writes nothing there)."""
    stored = ReadinessReport.objects.select_related("mapping").get(pk=report_id)
    if stored.status == ReadinessStatus.BUILDING:
        readiness.readiness_complete(stored)
    return stored.status
