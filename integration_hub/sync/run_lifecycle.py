"""What every kind of sync run shares, whatever it reads: one executor per run (claimed with a conditional
UPDATE), one run per mapping at a time (mapping_lock.py), the published rules, the actor in history, a heartbeat
while it runs, its progress stored with each page or chunk, and a final status.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Case, Count, DateTimeField, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors.base import ConnectorError
from integration_hub.kernel import audit
from integration_hub.kernel.task_policy import TRANSIENT_ERRORS
from integration_hub.sync import mapping_lock, ports
from integration_hub.sync.models import OutboundStatus, SyncRun, SyncStatus
from integration_hub.sync.rules import NothingPublished, compile_mapping
from integration_hub.sync.run_context import RunContext

logger = logging.getLogger(__name__)

Work = Callable[[RunContext], None]


class RunTakenOver(Exception):
    """The stale-run sweep handed this run to another worker (this process looked dead): stop, change nothing."""


def execute(run: SyncRun, work: Work, *, owner: str | None = None) -> SyncRun:
    """Carry out `work` as `run`. A run that finds another one of its mapping running joins it ("coalesced"):
    what changed after that run started is read by the next pull from its cursor, so nothing is lost.

    A run resumed after its worker died (redelivered, retried, or re-queued by the stale-run sweep) takes its own
    lock back and resumes: cursors moved only past stored pages, and records stored but not merged are still
    flagged (`RecordLink.needs_merge`). A lost database or broker connection leaves the run "running" (with its
    lock) for that resume instead of failing it.

    `owner`: the Celery task executing it (see `_claim`); None when the caller runs it in its own process."""
    answers = ports.required()  # before claiming: a process that cannot sync leaves the run to one that can
    if not _claim(run, owner):
        run.refresh_from_db()
        return run  # finished already, or a live worker runs it: this is a duplicate delivery
    if not mapping_lock.take(run):
        SyncRun.objects.filter(pk=run.pk, owner=run.owner).update(status=SyncStatus.COALESCED,
                                                                  finished_at=timezone.now())
        run.refresh_from_db()
        return run
    heartbeat = _Heartbeat(run)
    release = True
    try:
        try:
            compiled = compile_mapping(run.mapping)
        except NothingPublished as exc:
            _finish(run, SyncStatus.FAILED, str(exc))
            return run
        run.rule_version = compiled.version
        save_progress(run, ["rule_version"])
        try:
            with audit.acting_as(run.actor, reason=f"sync run {run.pk} ({run.get_trigger_display().lower()})"):
                work(RunContext(run, compiled, answers.conflicts, answers.duplicates))
        except ConnectorError as exc:
            _finish(run, SyncStatus.FAILED, exc.message)
            return run
        except RunTakenOver:
            raise
        except Exception as exc:
            # A lost connection: the run stays "running" for its task's retry (or the stale-run sweep) to resume,
            # unless nothing will: a targeted run carried out in the caller's own process.
            if isinstance(exc, TRANSIENT_ERRORS) and (owner is not None or not run.targeted):
                logger.warning("sync run %s interrupted by a lost connection (%s); it will be resumed", run.pk, exc)
                release = False  # kept for the resume, which takes it back
                raise
            # A bug: the run says so instead of "running" for ever.
            logger.exception("sync run %s failed", run.pk)
            _finish(run, SyncStatus.FAILED, f"unexpected error: {type(exc).__name__}: {exc}")
            raise
        _finish(run, SyncStatus.COMPLETED_WITH_ERRORS if run.counts["failed"] else SyncStatus.SUCCEEDED)
    except RunTakenOver:
        logger.warning("sync run %s was resumed by another worker; this one stops", run.pk)
        release = False  # the lock is the new owner's now
        run.refresh_from_db()
    finally:
        heartbeat.stop()
        if release:
            mapping_lock.release(run)
    return run


def stale_before():
    """Runs whose heartbeat stopped before this moment are taken for dead."""
    return timezone.now() - timedelta(seconds=settings.SYNC_STALE_RUN_SECONDS)


def _claim(run: SyncRun, owner: str | None) -> bool:
    """Make the caller the run's one executor (a conditional UPDATE: of two deliveries of a run, one wins).

    A task may take a queued run; a running one only if it is the run's owner already (its own retry or
    redelivery; the sweep names the task it queues as the owner) or if the run's heartbeat stopped. A finished
    run is never run again by a task. A caller in its own process (`owner` None: the command line) runs the run
    it was given."""
    now = timezone.now()
    runs = SyncRun.objects.filter(pk=run.pk)
    if owner:
        runs = runs.filter(Q(status=SyncStatus.QUEUED) | Q(status=SyncStatus.RUNNING) & (
            Q(owner=owner) | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale_before())))
    else:
        owner = f"process-{uuid.uuid4()}"
    if not runs.update(status=SyncStatus.RUNNING, owner=owner, heartbeat_at=now,
                       started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField()))):
        return False
    run.status, run.owner, run.heartbeat_at = SyncStatus.RUNNING, owner, now
    run.refresh_from_db(fields=["started_at"])
    return True


def save_progress(run: SyncRun, fields: list[str]) -> None:
    """Store the run's progress (with the page or chunk it counts) and show it is alive. A run the sweep handed
    to another worker meanwhile raises `RunTakenOver`, rolling back the page this process was storing."""
    run.heartbeat_at = timezone.now()
    if not SyncRun.objects.filter(pk=run.pk, owner=run.owner, status=SyncStatus.RUNNING).update(
            heartbeat_at=run.heartbeat_at, **{name: getattr(run, name) for name in fields}):
        raise RunTakenOver(run.pk)


class _Heartbeat:
    """While a run executes, a thread stamps its heartbeat every third of the stale-run limit, so a page that
    waits long for a slow vendor (retries, Retry-After) is not taken for a dead worker. It dies with its process:
    a killed worker's run stops beating and the sweep resumes it."""

    def __init__(self, run: SyncRun) -> None:
        self.run_id, self.owner = run.pk, run.owner
        self.every = max(1.0, settings.SYNC_STALE_RUN_SECONDS / 3)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"sync-run-{run.pk}-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        try:
            while not self._stopped.wait(self.every):
                try:
                    if not SyncRun.objects.filter(pk=self.run_id, owner=self.owner, status=SyncStatus.RUNNING
                                                  ).update(heartbeat_at=timezone.now()):
                        return  # finished, or handed to another worker
                except Exception as exc:  # the database is away: the run itself fails and is retried
                    logger.warning("sync run %s: heartbeat not stored (%s)", self.run_id, exc)
                    connections.close_all()  # the next beat connects afresh
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


def _finish(run: SyncRun, status: str, error: str = "") -> None:
    """The final status, with the progress. Not "succeeded" when the outbox gave up on one of the run's writes
    already (sent while it ran): one UPDATE, so a dead letter recorded at the same moment is not missed."""
    run.error, run.finished_at = error[:2000], timezone.now()
    final: Any = Value(status)
    if status == SyncStatus.SUCCEEDED:
        final = Case(When(dead_writes__gt=0, then=Value(SyncStatus.WRITES_FAILED)), default=Value(status))
    if not SyncRun.objects.filter(pk=run.pk, owner=run.owner).update(
            status=final, error=run.error, finished_at=run.finished_at, counts=run.counts, processed=run.processed,
            cursor_before=run.cursor_before, cursor_after=run.cursor_after, rule_version=run.rule_version):
        raise RunTakenOver(run.pk)
    run.refresh_from_db(fields=["status", "dead_writes"])


# A run's writes by what became of them, in the order its page shows them.
WRITE_OUTCOMES = (OutboundStatus.SENT, OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.FAILED,
                  OutboundStatus.DEAD, OutboundStatus.DISCARDED, OutboundStatus.SHADOW)
OUTCOME_COLOURS = {OutboundStatus.SENT: "green", OutboundStatus.FAILED: "amber", OutboundStatus.DEAD: "red"}


def run_writes(run: SyncRun) -> list[dict]:
    """What became of the writes the run queued (or took over: a replay's), as its page, the API and the `sync`
    command say it: [{status, label, count, colour}] for the outcomes it has."""
    counts = dict(run.outbound.order_by().values_list("status").annotate(n=Count("id")))
    return [{"status": status, "label": OutboundStatus(status).label, "count": counts[status],
             "colour": OUTCOME_COLOURS.get(status, "grey")} for status in WRITE_OUTCOMES if counts.get(status)]
