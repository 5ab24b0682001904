"""Celery entry points of the conflict queue: thin, load by id, call a service."""
from __future__ import annotations

from celery import shared_task

from integration_hub.kernel.task_policy import RETRY_POLICY
from reconciliation.conflicts.digest import finance_digest_send
from reconciliation.conflicts.models import BulkDecision, BulkStatus
from reconciliation.conflicts.services import bulk_decision_run


@shared_task(**RETRY_POLICY)
def bulk_decide(job_id: int) -> dict:
    """Perform a bulk decision (a redelivered job picks up the conflicts still open)."""
    job = BulkDecision.objects.select_related("created_by").get(pk=job_id)
    if job.status == BulkStatus.DONE:
        return {"decided": job.decided}
    try:
        job = bulk_decision_run(job=job)
    except Exception as exc:
        BulkDecision.objects.filter(pk=job_id).update(status=BulkStatus.FAILED, messages=[str(exc)[:500]])
        raise
    return {"decided": job.decided, "stale": job.stale, "refused": job.refused, "failed": job.failed}


@shared_task(**RETRY_POLICY)
def send_finance_digest() -> int:
    """Mail the daily digest of open finance conflicts to Finance approvers; returns how many got it."""
    return finance_digest_send()
