"""One sync of a mapping, as docs/architecture.md walks it -- done a page at a time. The entry
points callers use (views, tasks, the `sync` command); the work is in the modules named below.

1. Pull each side's changes since its cursor, page by page (pull.py): each record is mapped to canonical values
   through the published rules, held with its reason if it fails them, else linked by external id, matched
   (match_step.py: the mapping's keys, then the duplicate screen), created as a golden record, or held.
2. Merge every record a pull flagged, a chunk at a time (merge_step.py, the three-way merge in merge.py): apply
   the golden changes, move the bases, open conflicts and hold what waits for a person (holds.py), and put the
   writes in the outbox (writes.py). The outbox is sent by outbox.py.

What every kind of run shares (one executor, one run per mapping, heartbeat, final status) is run_lifecycle.py.
The conflict queue and the duplicate screen belong to reconciliation, above the sync: the sync asks them through
ports.py, and a run does not start without them.

References (and the items of a document's lines) travel as golden ids, translated through links
(references.py). A record is created in the other system only whole: one that would lack a reference it needs,
its lines, or the right currency (documents.py) is held with the reason, and a replay retries it.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Q, When
from django.utils import timezone

from integration_hub.records.models import RecordLink
from integration_hub.sync import customer_chain, dead_letters, mapping_lock, outbox, run_lifecycle
from integration_hub.sync.merge_step import merge_pending
from integration_hub.sync.models import (
    SyncEvent,
    SyncEventKind,
    SyncMode,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)
from integration_hub.sync.pull import Progress, pull_order, pull_side, reread
from integration_hub.sync.rules import SIDES
from integration_hub.sync.run_context import RunContext
from integration_hub.sync.writes import refresh_dead_creates
from mapping.models import ObjectMapping

logger = logging.getLogger(__name__)

REPLAYABLE = (SyncEventKind.FAILED, SyncEventKind.HELD, SyncEventKind.UNLINKED, SyncEventKind.WRITE_FAILED)


def sync_run_create(*, mapping: ObjectMapping, trigger: str = SyncTrigger.MANUAL, mode: str = SyncMode.LIVE,
                    full: bool = False, user=None, targeted: bool = False, task_id: str = "") -> SyncRun:
    """Record a requested sync; it runs in a worker (or in-process from the command line)."""
    return SyncRun.objects.create(mapping=mapping, trigger=trigger, mode=mode, full=full, targeted=targeted,
                                  task_id=task_id,
                                  requested_by=user if user is not None and user.is_authenticated else None)


def sync_run_execute(*, run: SyncRun, progress: Progress | None = None, owner: str | None = None) -> SyncRun:
    """Run a sync: pull both sides' changes since their cursors, merge, queue the writes.

    `owner`: the Celery task executing it (see run_lifecycle.py); None when the caller runs it in its own
    process."""

    def work(ctx: RunContext) -> None:
        order = pull_order(ctx.compiled.mapping)
        for side in order:
            pull_side(ctx, side, progress, last=side == order[-1])
        _customers_first(ctx)
        merge_pending(ctx, progress)

    return run_lifecycle.execute(run, work, owner=owner)


def sync_run_for_ids(*, mapping: ObjectMapping, ids: dict[str, list[str]], trigger: str = SyncTrigger.WEBHOOK,
                     user=None, run: SyncRun | None = None, owner: str | None = None,
                     promote: dict[str, dict] | None = None) -> SyncRun:
    """A targeted sync of the records a webhook named: re-read them by id, merge, queue the writes. `run` when
    one was recorded already (a worker carrying out a sync a page queued, `owner` its task). `promote`: ids among
    them to create in the other system whatever the create policy (a won deal's company, customer_chain.py)."""
    run = run or sync_run_create(mapping=mapping, trigger=trigger, user=user, targeted=True)

    def work(ctx: RunContext) -> None:
        ctx.promote = dict(promote or {})
        for side in pull_order(mapping):
            if ids.get(side):
                reread(ctx, side, sorted(set(ids[side])))
        _customers_first(ctx)
        merge_pending(ctx, None)

    return run_lifecycle.execute(run, work, owner=owner)


def _customers_first(ctx: RunContext) -> None:
    """Documents about to be created for a company with no customer in the other system: that customer first, by
    a targeted run of the account mapping whose creates are sent at once (customer_chain.py)."""
    needed = customer_chain.companies_needing_customers(ctx)
    accounts = customer_chain.account_mapping(ctx) if needed else None
    for side, companies in needed.items():
        other = "erp" if side == "crm" else "crm"
        if accounts is None:
            ctx.event(SyncEventKind.FAILED, side=side, message=f"{len(companies)} companies need a customer in "
                      f"{ctx.compiled.system(other).name} first, and no account mapping between these systems "
                      "is enabled and published")
            continue
        chained = sync_run_for_ids(mapping=accounts, ids={side: list(companies)}, trigger=SyncTrigger.CHAIN,
                                   promote=companies)
        sent = outbox.dispatch_system(system=ctx.compiled.system(other))
        ctx.event(SyncEventKind.CREATED, side=other,
                  message=f"{len(companies)} of its companies became {ctx.compiled.system(other).name} customers "
                          f"first (sync-run:{chained.pk}: {chained.get_status_display().lower()}; "
                          f"{sent.sent} writes sent)", data={"companies": list(companies), "run": chained.pk})
    ctx.flush_events()


# --- replay -------------------------------------------------------------------------------------

def sync_run_replay_create(*, run: SyncRun, user=None) -> SyncRun:
    """Record a requested replay of a run's failed records (queued; `sync_run_replay` carries it out)."""
    return sync_run_create(mapping=run.mapping, trigger=SyncTrigger.REPLAY, mode=run.mode, user=user, targeted=True)


def sync_run_replay(*, run: SyncRun, event_ids: list[int] | None = None, user=None, replay: SyncRun | None = None,
                    owner: str | None = None) -> SyncRun:
    """Replay a run's failed records through the same path: re-read them by id, merge, queue the writes.

    Failed writes (dead letters) of that run are queued again. Returns the new run (trigger "replay"): `replay`
    when one was recorded already (a worker carrying out a replay the run page queued, `owner` its task)."""
    events = SyncEvent.objects.filter(run=run, kind__in=REPLAYABLE, replayed_by__isnull=True)
    if event_ids is not None:
        events = events.filter(pk__in=event_ids)
    events = list(events)
    replay = replay or sync_run_replay_create(run=run, user=user)

    def work(ctx: RunContext) -> None:
        compiled = ctx.compiled
        for side in pull_order(replay.mapping):
            ids = sorted({e.external_id for e in events if e.side == side and e.external_id
                          and e.kind != SyncEventKind.WRITE_FAILED})
            if ids:
                reread(ctx, side, ids)
        # A held record is merged again even when nothing about it changed: what it waited for (a link, a
        # fix in another mapping) is outside it. A held create is queued this time if it can be.
        held = {e.record_id for e in events if e.record_id and e.kind != SyncEventKind.WRITE_FAILED}
        if held:
            RecordLink.objects.filter(record_id__in=held, entity_type=compiled.mapping.entity_type,
                                      system_id__in=[compiled.system(side).pk for side in SIDES]
                                      ).update(needs_merge=True)
        _customers_first(ctx)
        merge_pending(ctx, None)
        # The replayed records' writes the outbox gave up on (in that run or a later one) go again, counted on the
        # replay: one refused again makes the replay "completed with failed writes", never "succeeded".
        dead = dead_letters.of_records({e.record_id for e in events if e.record_id}, compiled)
        still_held = refresh_dead_creates(ctx, list(dead.filter(link__isnull=True).select_related("record")))
        again = dead_letters.put_back(list(dead.exclude(pk__in=still_held).select_related("record", "link", "system")),
                                      run=replay)
        replay.counts["written"] += len(again.done)
        ctx.flush_events()
        SyncEvent.objects.filter(pk__in=[e.pk for e in events]).update(replayed_by=replay)

    return run_lifecycle.execute(replay, work, owner=owner)


# --- the stale-run sweep ------------------------------------------------------------------------

def sync_runs_resume_stale(*, resume: Callable[[SyncRun, str], None]) -> list[int]:
    """Find queued or running runs whose heartbeat stopped longer ago than SYNC_STALE_RUN_SECONDS (their worker
    died, lost its database, or their task was never delivered) and hand each to a new task: `resume(run,
    task_id)` queues it, the task id being the run's new owner. Each run is claimed with a conditional UPDATE in
    the same transaction as its queueing, so two sweeps resume it once, and a queueing that fails claims nothing.

    A targeted run (a webhook's, a replay's) cannot be resumed as an incremental sync, and a run that died
    SYNC_STALE_RUN_MAX_RESUMES times is not resumed again: both are failed with the reason. (A targeted run still
    queued is left to its task: what it re-reads is in the task, and waiting behind other tasks is not dying.)
    Returns the runs resumed."""
    before = run_lifecycle.stale_before()
    stale = (Q(status=SyncStatus.RUNNING) | Q(status=SyncStatus.QUEUED, targeted=False)) & (
        Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, created_at__lt=before))
    resumed = []
    for run in SyncRun.objects.filter(stale).order_by("pk"):
        if run.targeted or run.resumes >= settings.SYNC_STALE_RUN_MAX_RESUMES:
            why = ("Stopped before it finished: the worker running it was lost (stopped, or cut off from the "
                   "database). Sync the mapping again, or replay the records, to finish its work."
                   if run.targeted else
                   f"Stopped {run.resumes + 1} times before it finished (each time its worker was lost or cut off "
                   "from the database), so it was not resumed again. The next sync of this mapping continues "
                   "from where it stopped.")
            if SyncRun.objects.filter(stale, pk=run.pk).update(status=SyncStatus.FAILED, error=why,
                                                               finished_at=timezone.now()):
                mapping_lock.release(run)
            continue
        owner = str(uuid.uuid4())
        with transaction.atomic():
            claimed = SyncRun.objects.filter(stale, pk=run.pk).update(
                owner=owner, heartbeat_at=timezone.now(),
                resumes=Case(When(status=SyncStatus.RUNNING, then=F("resumes") + 1), default=F("resumes"),
                             output_field=PositiveSmallIntegerField()))
            if not claimed:
                continue  # another sweep resumed it, or its worker came back
            resume(run, owner)
        logger.warning("sync run %s had no heartbeat since %s: resumed as task %s", run.pk, run.heartbeat_at, owner)
        resumed.append(run.pk)
    return resumed
