"""Write paths of reconciliation reports, shared by the pages, the API, the command and the tasks."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from integration_hub.kernel import roles
from integration_hub.sync.engine import sync_run_for_ids
from integration_hub.sync.models import SyncRun, SyncTrigger
from integration_hub.sync.tasks import dispatch_outbox
from mapping.models import ObjectMapping
from reconciliation.reports.models import ReconciliationReport, ReportItem, ReportStatus, ReportTrigger
from reconciliation.reports.reconcile import report_create, report_run


def require_revops(user, *, action: str) -> None:
    if not roles.is_revops(user):
        raise PermissionError(f"Only RevOps admins can {action}.")


def report_request(*, mapping, user) -> ReconciliationReport:
    """The button and the API: a report queued for a worker (the page follows its progress)."""
    from reconciliation.reports import tasks  # the tasks import these services: imported when queuing

    require_revops(user, action="run a reconciliation")
    if mapping.published_version_id is None:
        raise ValueError(f"{mapping} has no published rules: publish a version before reconciling.")
    report = report_create(mapping=mapping, trigger=ReportTrigger.MANUAL, user=user)
    transaction.on_commit(lambda: tasks.reconcile_mapping.delay(report.pk))
    return report


def reconcile_all(*, trigger: str = ReportTrigger.SCHEDULE) -> list[ReconciliationReport]:
    """Every enabled mapping with published rules, one after the other."""
    done = []
    for mapping in ObjectMapping.objects.filter(is_enabled=True, published_version__isnull=False):
        done.append(report_run(report=report_create(mapping=mapping, trigger=trigger)))
    return done


def item_resync(*, item: ReportItem, user) -> SyncRun:
    """"Re-sync this record": re-read it from both systems by id and merge it (the owner's value flows, a
    non-owner's edit is put back or queued), then send the writes."""
    require_revops(user, action="re-sync records")
    ids = {side: [value] for side, value in (("crm", item.crm_id), ("erp", item.erp_id)) if value}
    if not ids:
        raise ValueError("This line names no record in either system.")
    run = sync_run_for_ids(mapping=item.report.mapping, ids=ids, trigger=SyncTrigger.MANUAL, user=user)
    transaction.on_commit(dispatch_outbox.delay)
    return run


def report_fail_stale(*, older_than_minutes: int = 24 * 60) -> int:
    """Reports left running by a worker that died are marked failed (their page would spin for ever)."""
    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    return ReconciliationReport.objects.filter(status=ReportStatus.RUNNING, created_at__lt=cutoff).update(
        status=ReportStatus.FAILED, error="the worker running it stopped", finished_at=timezone.now())
