"""One sync of a mapping, as DESIGN.md's "The sync, one record at a time" -- done a page at a time.

1. Pull each side's changes since its cursor, page by page. Each record is mapped to canonical
   values through the published rules; a record that fails them is held with its reason (an event
   to replay), never half-written. Valid records refresh their link's last known values (a record read
   again unchanged is skipped), are linked by external id, else matched by the mapping's keys (an index,
   see integration_hub.records.matching), else become a new golden record where the mapping lets that side
   create one, else are held as "unlinked". A page is stored in one transaction with the cursor past it,
   so a run that dies resumes where it stopped. A golden record created from the side read last has nothing
   to merge and nothing later in the run can match it: its create in the other system is queued with its page.
2. Merge every record a pull flagged (`needs_merge`) field by field against each side's base (three-way,
   see merge.py), a chunk at a time; in one transaction per chunk apply the golden changes, move the bases,
   open conflicts, log blocked edits, put the writes in the outbox and clear the flags. The outbox is sent
   by outbox.py.

Every kind of write is one statement per page or chunk (integration_hub.kernel.bulk: COPY on PostgreSQL), history
rows included, so the audit costs no round trips of its own.

References (and the items of a document's lines) travel as golden ids, translated through links
(references.py). A record is created in the other system only whole: one that would lack a reference it needs,
its lines, or the right currency (documents.py) is held with the reason, and a replay retries it.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.db.models import Case, DateTimeField, F, PositiveSmallIntegerField, Prefetch, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors.base import ConnectorError, parse_timestamp
from connectors.models import RolloutStage
from connectors.services import connector_session
from integration_hub.kernel import audit
from integration_hub.kernel.bulk import insert_many, update_many
from integration_hub.kernel.task_policy import TRANSIENT_ERRORS
from integration_hub.records import matching, services
from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync import documents
from integration_hub.sync.merge import MergeResult, SideState, merge_record, same
from integration_hub.sync.models import (
    OutboundChange,
    OutboundStatus,
    SyncCursor,
    SyncEvent,
    SyncEventKind,
    SyncMode,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)
from integration_hub.sync.references import ToGolden, ToSide
from integration_hub.sync.rules import SIDES, CompiledMapping, NothingPublished, compile_mapping
from mapping.models import CreatePolicy, ObjectMapping
from mapping.paths import unshare_selected_lines
from mapping.preview import vendor_fields
from reconciliation.conflicts.models import Conflict, ConflictStatus

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000  # the connector lowers it to the vendor's page limit
REREAD_SIZE = 100
MERGE_CHUNK = 1000
LOCK_SECONDS = 60 * 60
Progress = Callable[[SyncRun], None]


def sync_run_create(*, mapping: ObjectMapping, trigger: str = SyncTrigger.MANUAL, mode: str = SyncMode.LIVE,
                    full: bool = False, user=None, targeted: bool = False, task_id: str = "") -> SyncRun:
    """Record a requested sync; it runs in a worker (or in-process from the command line)."""
    return SyncRun.objects.create(mapping=mapping, trigger=trigger, mode=mode, full=full, targeted=targeted,
                                  task_id=task_id,
                                  requested_by=user if user is not None and user.is_authenticated else None)


def _lock_key(mapping_id: int) -> str:
    return f"sync-lock:mapping:{mapping_id}"


def sync_run_execute(*, run: SyncRun, progress: Progress | None = None, owner: str | None = None) -> SyncRun:
    """Run a sync: pull both sides' changes since their cursors, merge, queue the writes.

    `owner`: the Celery task executing it (see `_claim`); None when the caller runs it in its own process."""

    def work(compiled: CompiledMapping) -> None:
        order = _pull_order(compiled.mapping)
        for side in order:
            _pull_side(run, compiled, side, progress, last=side == order[-1])
        _merge_pending(run, compiled, progress)

    return _run(run, work, owner=owner)


class RunTakenOver(Exception):
    """The stale-run sweep handed this run to another worker (this process looked dead): stop, change nothing."""


def _run(run: SyncRun, work: Callable[[CompiledMapping], None], *, owner: str | None = None) -> SyncRun:
    """What every kind of run shares: one executor per run, one run per mapping at a time, the published rules,
    the actor in history, a heartbeat, and a final status. A run that finds another one running joins it
    ("coalesced"): what changed after that run started is read by the next pull from its cursor, so nothing is lost.

    A run resumed after its worker died (redelivered, retried, or re-queued by the stale-run sweep) takes its own
    lock back and resumes: cursors moved only past stored pages, and records stored but not merged are still
    flagged (`RecordLink.needs_merge`). A lost database or broker connection leaves the run "running" (with its
    lock) for that resume instead of failing it."""
    if not _claim(run, owner):
        run.refresh_from_db()
        return run  # finished already, or a live worker runs it: this is a duplicate delivery
    key = _lock_key(run.mapping_id)
    if not cache.add(key, run.pk, LOCK_SECONDS) and cache.get(key) != run.pk:
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
        _save_progress(run, ["rule_version"])
        try:
            with audit.acting_as(run.actor, reason=f"sync run {run.pk} ({run.get_trigger_display().lower()})"):
                work(compiled)
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
            _release_lock(run)
    return run


def _release_lock(run: SyncRun) -> None:
    try:
        if cache.get(_lock_key(run.mapping_id)) == run.pk:
            cache.delete(_lock_key(run.mapping_id))
    except TRANSIENT_ERRORS:
        logger.warning("sync run %s could not release its mapping's lock; it expires by itself", run.pk)


def _stale_before():
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
            Q(owner=owner) | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=_stale_before())))
    else:
        owner = f"process-{uuid.uuid4()}"
    if not runs.update(status=SyncStatus.RUNNING, owner=owner, heartbeat_at=now,
                       started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField()))):
        return False
    run.status, run.owner, run.heartbeat_at = SyncStatus.RUNNING, owner, now
    run.refresh_from_db(fields=["started_at"])
    return True


def _save_progress(run: SyncRun, fields: list[str]) -> None:
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


def sync_runs_resume_stale(*, resume: Callable[[SyncRun, str], None]) -> list[int]:
    """Find queued or running runs whose heartbeat stopped longer ago than SYNC_STALE_RUN_SECONDS (their worker
    died, lost its database, or their task was never delivered) and hand each to a new task: `resume(run,
    task_id)` queues it, the task id being the run's new owner. Each run is claimed with a conditional UPDATE in
    the same transaction as its queueing, so two sweeps resume it once, and a queueing that fails claims nothing.

    A targeted run (a webhook's, a replay's) cannot be resumed as an incremental sync, and a run that died
    SYNC_STALE_RUN_MAX_RESUMES times is not resumed again: both are failed with the reason. (A targeted run still
    queued is left to its task: what it re-reads is in the task, and waiting behind other tasks is not dying.)
    Returns the runs resumed."""
    before = _stale_before()
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
                _release_lock(run)
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


def _pull_order(mapping: ObjectMapping) -> list[str]:
    """A side that may add golden records is read first, so the other side's records can match them."""
    return sorted(SIDES, key=lambda side: getattr(mapping, f"{side}_creates") == CreatePolicy.NEVER)


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


def _count(run: SyncRun, key: str, n: int = 1) -> None:
    run.counts[key] = run.counts.get(key, 0) + n


def _event(run: SyncRun, kind: str, *, record: Record | None = None, side: str = "", external_id: str = "",
           field: str = "", message: str = "", data: dict | None = None) -> None:
    """Buffer an event; the transaction that stores its page or chunk writes the buffer (`_flush_events`)."""
    _buffer(run).append(SyncEvent(run=run, record=record, side=side, external_id=str(external_id)[:255],
                                  kind=kind, field=field[:80], message=message[:2000], data=data or {}))


def _buffer(run: SyncRun) -> list[SyncEvent]:
    return run.__dict__.setdefault("_pending_events", [])


# --- replay -------------------------------------------------------------------------------------

REPLAYABLE = (SyncEventKind.FAILED, SyncEventKind.UNLINKED, SyncEventKind.WRITE_FAILED)


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

    def work(compiled: CompiledMapping) -> None:
        for side in _pull_order(replay.mapping):
            ids = sorted({e.external_id for e in events if e.side == side and e.external_id
                          and e.kind != SyncEventKind.WRITE_FAILED})
            if ids:
                _reread(replay, compiled, side, ids)
        # A held record is merged again even when nothing about it changed: what it waited for (a link, a
        # fix in another mapping) is outside it. A held create is queued this time if it can be.
        held = {e.record_id for e in events if e.record_id and e.kind != SyncEventKind.WRITE_FAILED}
        if held:
            RecordLink.objects.filter(record_id__in=held, entity_type=compiled.mapping.entity_type,
                                      system_id__in=[compiled.system(side).pk for side in SIDES]
                                      ).update(needs_merge=True)
        _merge_pending(replay, compiled, None)
        dead = OutboundChange.objects.filter(
            record_id__in=[e.record_id for e in events if e.kind == SyncEventKind.WRITE_FAILED and e.record_id],
            status=OutboundStatus.DEAD)
        still_held = _refresh_dead_creates(replay, compiled, list(dead.filter(link__isnull=True)
                                                                  .select_related("record")))
        replay.counts["written"] += dead.exclude(pk__in=still_held).update(
            status=OutboundStatus.PENDING, attempts=0, next_attempt_at=None, run=replay)
        _flush_events(replay)
        SyncEvent.objects.filter(pk__in=[e.pk for e in events]).update(replayed_by=replay)

    return _run(replay, work, owner=owner)


def _refresh_dead_creates(run: SyncRun, compiled: CompiledMapping, rows: list[OutboundChange]) -> set[int]:
    """A refused create is sent again with the golden record as it is now (the fix may be in the record: a
    corrected line), under the same create key, so it still makes one record. Returns the rows held again."""
    held = set()
    for side in SIDES:
        mine = [row for row in rows if row.side == side]
        if not mine:
            continue
        prepared = {record.pk: (values, payload) for record, _, values, payload in _prepare(
            run, compiled, side, [(row.record, None, {k: v for k, v in row.record.values.items() if v is not None})
                                  for row in mine])}
        for row in mine:
            if row.record_id in prepared:
                row.values, row.payload = prepared[row.record_id]
            else:
                held.add(row.pk)
        update_many(OutboundChange, [row for row in mine if row.pk not in held], ["values", "payload"])
    return held


def sync_run_for_ids(*, mapping: ObjectMapping, ids: dict[str, list[str]], trigger: str = SyncTrigger.WEBHOOK,
                     user=None) -> SyncRun:
    """A targeted sync of the records a webhook named: re-read them by id, merge, queue the writes."""
    run = sync_run_create(mapping=mapping, trigger=trigger, user=user, targeted=True)

    def work(compiled: CompiledMapping) -> None:
        for side in _pull_order(mapping):
            if ids.get(side):
                _reread(run, compiled, side, sorted(set(ids[side])))
        _merge_pending(run, compiled, None)

    return _run(run, work)


def _reread(run: SyncRun, compiled: CompiledMapping, side: str, ids: list[str]) -> None:
    system, obj = compiled.system(side), compiled.vendor_object(side)
    with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
        options = connector.read_options(obj, compiled.paths[side])
        for start in range(0, len(ids), REREAD_SIZE):
            remotes = connector.get_many(obj, ids[start:start + REREAD_SIZE], **options)
            with transaction.atomic():
                _stage_page(run, compiled, side, remotes)
                _save_progress(run, ["counts", "processed"])


# --- 1. pull ------------------------------------------------------------------------------------

def _pull_side(run: SyncRun, compiled: CompiledMapping, side: str, progress: Progress | None, *,
               last: bool = False) -> None:
    """Read a side's changes page by page. `last`: no other side is read after it in this run, so a golden
    record created from one of its pages cannot be matched by anything else in the run: it is settled with the
    page (`_settle_created`) instead of waiting for the merge."""
    system, obj = compiled.system(side), compiled.vendor_object(side)
    if not system.is_active:
        return
    cursor, _ = SyncCursor.objects.get_or_create(mapping=compiled.mapping, side=side)
    run.cursor_before.setdefault(side, cursor.cursor)  # a resumed run keeps the cursor it started from
    since = None if run.full or not cursor.cursor else parse_timestamp(cursor.cursor)
    with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
        pages = connector.changes(obj, since, PAGE_SIZE, **connector.read_options(obj, compiled.paths[side]))
        for page in pages:
            with transaction.atomic():  # a page is stored whole, with the cursor past it, or not at all
                for problem in page.errors:
                    run.processed += 1
                    _count(run, "failed")
                    _event(run, SyncEventKind.FAILED, side=side, external_id=problem.external_id or "",
                           message=f"unreadable record from {system.name}: {problem.message}")
                _stage_page(run, compiled, side, page.records, settle_created=last)
                if page.cursor:
                    cursor.cursor = page.cursor
                    cursor.save(update_fields=["cursor", "updated_at"])
                run.cursor_after[side] = cursor.cursor
                _save_progress(run, ["counts", "processed", "cursor_before", "cursor_after"])
            if progress:
                progress(run)
        removed = documents.with_removed_lines(compiled, side, connector, since)  # a line item deleted from a deal
    if removed:
        _reread(run, compiled, side, removed)


def _stage_page(run: SyncRun, compiled: CompiledMapping, side: str, remotes, *, settle_created: bool = False) -> None:
    """Store what a side says about a page of records: refresh the links of known records (flagged for the
    merge), link the others by the mapping's match keys or create their golden records, hold the rest."""
    system, entity = compiled.system(side), compiled.mapping.entity_type
    mapper = compiled.mappers[side]
    valid: dict[str, tuple[Any, dict, dict]] = {}  # external id -> (remote, vendor fields, canonical values)
    for remote in remotes:
        run.processed += 1
        _count(run, "read")
        raw = vendor_fields(remote)
        mapped = mapper.to_canonical(raw)  # the rules see exactly what the vendor sent
        fields = _storable(raw)
        if mapped.errors:
            _count(run, "failed")
            reasons = "; ".join(f"{field}: {reason}" for field, reason in mapped.errors.items())
            _event(run, SyncEventKind.FAILED, side=side, external_id=remote.external_id,
                   message=f"held: {reasons}", data={"errors": mapped.errors})
            continue
        valid[str(remote.external_id)] = (remote, fields, mapped.values)  # a record read twice: the later read

    now = timezone.now()
    known = {link.external_id: link for link in RecordLink.objects.filter(
        system=system, entity_type=entity, external_id__in=list(valid)).only(
        "pk", "external_id", "remote_values", "remote_updated_at", "needs_merge", "status")}
    refreshed = []
    for external_id, link in known.items():
        remote, fields, _ = valid.pop(external_id)
        if link.status != LinkStatus.ACTIVE:
            _count(run, "unchanged")  # an identity merged away (or gone): kept for its history, not synced
            continue
        if link.remote_values == fields and link.remote_updated_at == remote.updated_at and not link.needs_merge:
            _count(run, "unchanged")  # read again (a cursor's boundary, our own write's echo): nothing new
            continue
        link.remote_values, link.remote_updated_at, link.last_synced_at, link.needs_merge = \
            fields, remote.updated_at, now, True
        refreshed.append(link)
    # Raw vendor data, not governed values: stored without history rows.
    update_many(RecordLink, refreshed, ["remote_values", "remote_updated_at", "last_synced_at", "needs_merge"])
    if valid:
        _link_new(run, compiled, side, valid, settle_created=settle_created)
    _flush_events(run)


def _storable(value: Any) -> Any:
    """Vendor data as PostgreSQL's JSON can hold it: a NUL character (which no rule read, or the record would
    be held) becomes U+FFFD instead of failing the whole page."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _link_new(run: SyncRun, compiled: CompiledMapping, side: str, new: dict[str, tuple[Any, dict, dict]], *,
              settle_created: bool = False) -> None:
    """Records this side has that no link knows: match them to golden records, or create or hold them."""
    system, entity = compiled.system(side), compiled.mapping.entity_type
    translate = ToGolden(compiled, side, [compiled.readable(side, values) for _, _, values in new.values()])
    values_by_id = {external_id: translate(compiled.readable(side, values))
                    for external_id, (_, _, values) in new.items()}
    matched = _match_many(compiled, side, values_by_id)
    matched.update(documents.own_creates(compiled, side, new, matched))  # made by the hub, its link not stored
    held = _match_duplicates(run, compiled, side, new, values_by_id, matched)
    creates_here = getattr(compiled.mapping, f"{side}_creates") != CreatePolicy.NEVER
    to_create = [external_id for external_id in new
                 if external_id not in matched and external_id not in held and creates_here]
    source = services.Source(system=system.slug, sync_run=run.pk, rule_version=compiled.version.number)
    created = services.records_create_many(
        entity_type=entity, items=[(values_by_id[external_id], source) for external_id in to_create],
        reason=f"new in {system.name}")
    records = dict(zip(to_create, created, strict=True))
    links, created_links = [], []
    for external_id, (remote, fields, _) in new.items():
        record_id, base = matched.get(external_id), {}  # first sync of a matched pair: every value is new
        if external_id in records:
            record = records[external_id]
            record_id, base = record.pk, values_by_id[external_id]  # the hub holds exactly what this side holds
            _count(run, "created")
            _event(run, SyncEventKind.CREATED, record=record, side=side, external_id=external_id,
                   message=f"golden record created from {system.name}")
        elif external_id in held:
            continue
        elif record_id is None:
            _count(run, "unlinked")
            _event(run, SyncEventKind.UNLINKED, side=side, external_id=external_id,
                   message=f"no match for {system.name} record {external_id} by "
                           f"{', '.join(compiled.mapping.match_keys) or 'any key'}, and the mapping does not "
                           f"create golden records from the {side.upper()}")
            continue
        link = RecordLink(record_id=record_id, system=system, entity_type=entity, external_id=external_id,
                          base_snapshot=base, remote_values=fields, remote_updated_at=remote.updated_at,
                          needs_merge=not (settle_created and external_id in records))
        links.append(link)
        if settle_created and external_id in records:
            created_links.append((records[external_id], link, compiled.readable(side, new[external_id][2])))
    services.links_create_many(links)
    _first_sync_of_pairs(system, [link.record_id for link in links if not link.base_snapshot])
    if created_links:
        _settle_created(run, compiled, side, created_links, translate)


def _settle_created(run: SyncRun, compiled: CompiledMapping, side: str,
                    created: list[tuple[Record, RecordLink, dict]], translate: ToGolden) -> None:
    """Golden records just created from this side's values, linked on this side only: a merge would change
    nothing (golden, the link's base and the side's current values are the same values), so they skip the
    merge's re-read and only their creates in the other system are worked out and queued, in the page's
    transaction (`_merge_records` does the same for every other record)."""
    other = "erp" if side == "crm" else "crm"
    merged, current = [], {}
    for record, link, readable in created:
        links = {side: link, other: None}
        current[record.pk, side] = readable  # as read, before references became golden ids (like the merge's)
        record._prefetched_objects_cache = {"links": [link]}  # what `_link_on` reads: no query for it
        state = SideState(current=link.base_snapshot, base=link.base_snapshot, updated_at=link.remote_updated_at)
        merged.append((record, links, {side: state}, MergeResult(), record.values,
                       _creates_for(compiled, record.values, links)))
    effects = _effects_of(run, compiled, merged, current, {side: translate, other: ToGolden(compiled, other, [])})
    _apply(run, compiled, effects)


def _first_sync_of_pairs(system, record_ids: list[int]) -> None:
    """A record just matched to a golden record another system holds: the first merge of the pair compares
    both systems' values as data that predates the link (neither is "unchanged" against the other), so a
    shared field they disagree on follows its conflict policy instead of the newcomer silently winning."""
    others = list(RecordLink.objects.filter(record_id__in=record_ids).exclude(system=system)
                  .exclude(base_snapshot={}))
    for link in others:
        link.base_snapshot = {}
    services.links_save_bases(others)


def _match_duplicates(run: SyncRun, compiled: CompiledMapping, side: str, new: dict[str, tuple[Any, dict, dict]],
                      values_by_id: dict[str, dict], matched: dict[str, int]) -> set[str]:
    """Records no key matched go through duplicate scoring (reconciliation.duplicates): a near-certain match is
    linked (and logged), a likely one waits in the duplicate queue instead of becoming a new record. Returns
    the records held for the queue. Skipped while every golden record of the entity is linked on this side
    already (nothing to find: a first import), which is checked once per run and side."""
    from reconciliation.duplicates.services import match_for_sync, queue_for_review

    system, entity = compiled.system(side), compiled.mapping.entity_type
    unmatched = [external_id for external_id in new if external_id not in matched]
    cache = run.__dict__.setdefault("_unlinked_golden", {})
    if not unmatched:
        return set()
    if side not in cache:
        cache[side] = Record.objects.filter(entity_type=entity).exclude(links__system=system).exists()
    if not cache[side]:
        return set()
    held: set[str] = set()
    taken = set(matched.values())
    for external_id in unmatched:
        remote, fields, _ = new[external_id]
        decision = match_for_sync(entity, values_by_id[external_id], exclude_linked_in_system_id=system.pk,
                                  system_id=system.pk, external_id=external_id)
        if decision.action == "link" and decision.record.pk not in taken:
            matched[external_id] = decision.record.pk
            taken.add(decision.record.pk)
            _count(run, "linked")
            _event(run, SyncEventKind.LINKED, record=decision.record, side=side, external_id=external_id,
                   message=decision.message, data={"evidence": decision.candidates[0].evidence})
        elif decision.action in ("review", "held", "link"):
            if decision.action != "held":
                queue_for_review(entity_type=entity, system=system, external_id=external_id,
                                 values=values_by_id[external_id], decision=decision, remote_values=fields,
                                 remote_updated_at=remote.updated_at)
            held.add(external_id)
            why = decision.message if decision.action != "link" else (
                f"its near-certain match {decision.record} is linked to another {system.name} record "
                f"(a duplicate within {system.name}?)")
            _count(run, "unlinked")
            _event(run, SyncEventKind.UNLINKED, side=side, external_id=external_id,
                   message=f"held for the duplicate queue: {why}")
    return held


def _match_many(compiled: CompiledMapping, side: str, values_by_id: dict[str, dict]) -> dict[str, int]:
    """external id -> the golden record it is, by the mapping's keys in order: a record not linked in this
    system yet, each taken by one record at most (the lowest id first)."""
    system, entity = compiled.system(side), compiled.mapping.entity_type
    matched: dict[str, int] = {}
    taken: set[int] = set()
    for key in compiled.mapping.match_keys:
        wanted = {external_id: matching.key_digest(key, values) for external_id, values in values_by_id.items()
                  if external_id not in matched}
        wanted = {external_id: digest for external_id, digest in wanted.items() if digest}
        if not wanted:
            continue
        found = matching.find_matches(entity, key, wanted.values())
        candidates = {record_id for ids in found.values() for record_id in ids}
        taken |= set(RecordLink.objects.filter(system=system, entity_type=entity, record_id__in=candidates)
                     .values_list("record_id", flat=True)) if candidates else set()
        for external_id, digest in wanted.items():
            record_id = next((r for r in found.get(digest, ()) if r not in taken), None)
            if record_id is not None:
                matched[external_id] = record_id
                taken.add(record_id)
    return matched


# --- 2. merge and queue -------------------------------------------------------------------------

def _merge_pending(run: SyncRun, compiled: CompiledMapping, progress: Progress | None) -> None:
    """Merge every record with a link flagged by a pull (this run's, or one a dead run left), in chunks."""
    system_ids = [compiled.system(side).pk for side in SIDES]
    flagged = RecordLink.objects.filter(needs_merge=True, entity_type=compiled.mapping.entity_type,
                                        system_id__in=system_ids, status=LinkStatus.ACTIVE)
    last = 0
    while True:
        chunk = list(flagged.filter(record_id__gt=last).order_by("record_id").values_list("record_id", flat=True)
                     .distinct()[:MERGE_CHUNK])
        if not chunk:
            return
        last = chunk[-1]
        _merge_chunk(run, compiled, chunk)
        if progress:
            progress(run)


def _merge_chunk(run: SyncRun, compiled: CompiledMapping, record_ids: list[int]) -> None:
    """Merge a chunk of records field by field and, in one transaction, apply the golden changes, move the
    bases, open conflicts, log blocked edits, queue the writes and clear the flags. The chunk's records are
    locked while it merges, so a person's decision committed meanwhile is never overwritten with a stale read."""
    with transaction.atomic():
        records = list(Record.objects.select_for_update().filter(pk__in=record_ids).order_by("pk").prefetch_related(
            Prefetch("links", queryset=RecordLink.objects.filter(system_id__in=_system_ids(compiled).values(),
                                                                 status=LinkStatus.ACTIVE))))
        effects = _merge_records(run, compiled, records)
        _apply(run, compiled, effects)
        RecordLink.objects.filter(record_id__in=record_ids, system_id__in=_system_ids(compiled).values(),
                                  needs_merge=True).update(needs_merge=False)
        _flush_events(run)
        _save_progress(run, ["counts"])  # with the chunk: a run killed after it counts it once, on resume too


def _system_ids(compiled: CompiledMapping) -> dict[str, int]:
    return {side: compiled.system(side).pk for side in SIDES}


def _merge_records(run: SyncRun, compiled: CompiledMapping, records: list[Record]) -> _Effects:
    system_ids = _system_ids(compiled)
    record_ids = [record.pk for record in records]
    # Each side's current canonical values, references translated to golden ids in one query per field.
    links_of: dict[int, dict[str, RecordLink | None]] = {}
    current: dict[tuple[int, str], dict] = {}
    for record in records:
        links_of[record.pk] = {side: next((link for link in record.links.all() if link.system_id == system_ids[side]),
                                          None) for side in SIDES}
        for side, link in links_of[record.pk].items():
            if link is not None:
                values = compiled.mappers[side].to_canonical(link.remote_values or {}).values
                current[record.pk, side] = compiled.readable(side, values)
    translate = {side: ToGolden(compiled, side, [v for (_, s), v in current.items() if s == side]) for side in SIDES}
    states = {record.pk: {side: SideState(current=translate[side](current[record.pk, side]),
                                          base=link.base_snapshot or {}, updated_at=link.remote_updated_at)
                          for side, link in links_of[record.pk].items() if link is not None}
              for record in records}
    held = _held_fields(record_ids, states)

    already_creating = set(OutboundChange.objects.filter(record_id__in=record_ids, link__isnull=True)
                           .values_list("record_id", "side"))
    merged = []
    for record in records:
        links, sides = links_of[record.pk], states[record.pk]
        result = merge_record(compiled.policies, record.values, sides,
                              open_conflicts=frozenset(held.get(record.pk, ())))
        after = {**record.values, **result.golden}  # a create follows the values this merge leaves
        creates = [side for side in _creates_for(compiled, after, links) if (record.pk, side) not in already_creating]
        merged.append((record, links, sides, result, after, creates))
    return _effects_of(run, compiled, merged, current, translate)


def _effects_of(run: SyncRun, compiled: CompiledMapping, merged: list, current: dict,
                translate: dict[str, ToGolden]) -> _Effects:
    """What merged records change, with the creates each needs in the other system (held when they could only be
    made partial, given the mapping's create defaults otherwise)."""
    customers = documents.customers_of([after for *_, after, creates in merged if creates])
    effects = _Effects()
    for record, links, sides, result, after, creates in merged:
        creates = [side for side in creates if not _create_held(run, compiled, record, links, side, after,
                                                                 current, translate, customers)]
        for side in creates:  # what the CRM needs and the ERP has not (a deal's stage): the create defaults
            extra, _ = documents.create_values(compiled, side, after)
            after = {**after, **extra}
            result.golden.update(extra)
        if compiled.line_fields and len(sides) == 2:
            _lines_held(run, compiled, record, links, current, translate)
        if result.unchanged and not creates:
            _count(run, "unchanged")
            continue
        effects.add(compiled, record, links, sides, result, creates, after)
    return effects


def _held_fields(record_ids: list[int], states: dict[int, dict[str, SideState]]) -> dict[int, set[str]]:
    """Fields no merge may decide: an open conflict waits for a person; a rejected one keeps the pair diverged
    for as long as both systems still hold the values the person rejected (a new edit is a new question)."""
    held: dict[int, set[str]] = {}
    latest_closed: dict[tuple[int, str], tuple] = {}
    rows = Conflict.objects.filter(record_id__in=record_ids).order_by("record_id", "field", "-id") \
        .values_list("record_id", "field", "status", "crm_value", "erp_value")
    for record_id, field, status, crm_value, erp_value in rows:
        if status == ConflictStatus.OPEN:
            held.setdefault(record_id, set()).add(field)
        elif (record_id, field) not in latest_closed:
            latest_closed[record_id, field] = (status, {"crm": crm_value, "erp": erp_value})
    for (record_id, field), (status, values) in latest_closed.items():
        if status != ConflictStatus.REJECTED:
            continue
        sides = states.get(record_id, {})
        if sides and all(field in state.current and same(state.current[field], values[side])
                         for side, state in sides.items()):
            held.setdefault(record_id, set()).add(field)
    return held


def _writable(compiled: CompiledMapping, side: str) -> set[str]:
    """The fields a write to this side may carry (a path there, and not stopped by drift)."""
    return {p.field for p in compiled.policies if side in p.writes_to and side not in p.stopped}


def _create_held(run: SyncRun, compiled: CompiledMapping, record: Record, links: dict, target: str, values: dict,
                 current: dict, translate: dict[str, ToGolden], customers: dict) -> bool:
    """Hold a create that could only be made partial: a reference the hub cannot place (the customer, a line's
    item), or a document without lines or in the wrong currency. Nothing is queued; the event is replayable."""
    source = "erp" if target == "crm" else "crm"
    writable = _writable(compiled, target)
    reasons = translate[source].unplaced(current.get((record.pk, source), {}), writable & compiled.create_requires)
    reasons += documents.create_problems(compiled, values, record.get_entity_type_display().lower(), writable,
                                         customers)
    reasons += documents.create_values(compiled, target, values)[1]
    if reasons:
        _hold_create(run, compiled, record, links.get(source), target, reasons)
    return bool(reasons)


def _lines_held(run: SyncRun, compiled: CompiledMapping, record: Record, links: dict, current: dict,
                translate: dict[str, ToGolden]) -> None:
    """A linked document whose lines one side changed to an item the hub cannot place: its lines wait (the rest
    of the document still flows), with the reason on the run and the record page; replayable."""
    for side, link in links.items():
        for reason in translate[side].unplaced(current.get((record.pk, side), {}), set(compiled.line_fields)):
            _count(run, "failed")
            _event(run, SyncEventKind.FAILED, record=record, side=side, external_id=link.external_id,
                   field=reason.split(":", 1)[0], message=f"held: {reason}")


def _hold_create(run: SyncRun, compiled: CompiledMapping, record: Record, source_link: RecordLink | None,
                 target: str, reasons: list[str]) -> None:
    """A replayable event on the source side's record (a replay reads it again and retries the create)."""
    source = "erp" if target == "crm" else "crm"
    _count(run, "failed")
    _event(run, SyncEventKind.FAILED, record=record, side=source,
           external_id=source_link.external_id if source_link else "",
           message=f"held: not created in {compiled.system(target).name} until fixed: {'; '.join(reasons)}",
           data={"target": target, "reasons": reasons})


class _Effects:
    """What a chunk's merges change, gathered so each kind is written with one statement."""

    def __init__(self) -> None:
        self.golden: list[tuple[Record, dict, str]] = []  # record, changes, origin side ("hub" when none)
        self.bases: dict[int, RecordLink] = {}
        self.conflicts: list[tuple[Record, Any]] = []
        self.decided: list[tuple[Record, Any]] = []  # both sides changed, a policy chose: the loser stays on record
        self.blocked: list[tuple[Record, dict, Any]] = []
        self.writes: list[tuple[Record, str, RecordLink | None, dict]] = []

    def add(self, compiled, record, links, sides, result: MergeResult, creates: list[str], after: dict) -> None:
        if result.golden:
            origin = next((side for side, state in sides.items()
                           if all(state.current.get(f) == v for f, v in result.golden.items())), "hub")
            self.golden.append((record, result.golden, origin))
        for side, moves in result.base.items():
            link = links[side]
            if link is not None and moves:
                link.base_snapshot = {**(link.base_snapshot or {}), **moves}
                self.bases[link.pk] = link
        self.conflicts += [(record, spec) for spec in result.conflicts]
        self.decided += [(record, spec) for spec in result.resolved]
        self.blocked += [(record, links, blocked) for blocked in result.blocked]
        for side, values in result.writes.items():
            if values:
                self.writes.append((record, side, links.get(side), values))
        for side in creates:  # a new record gets the values the hub has, not empty fields
            self.writes.append((record, side, None, {k: v for k, v in after.items() if v is not None}))


def _apply(run: SyncRun, compiled: CompiledMapping, effects: _Effects) -> None:
    sources = {origin: services.Source(system=compiled.system(origin).slug if origin != "hub" else "hub",
                                       sync_run=run.pk, rule_version=compiled.version.number)
               for origin in ("crm", "erp", "hub")}
    origins = {record.pk: origin for record, _, origin in effects.golden}
    for record, changed in services.records_update_many(
            [(record, changes, sources[origin]) for record, changes, origin in effects.golden]):
        origin = origins[record.pk]
        _count(run, "updated")
        _event(run, SyncEventKind.UPDATED, record=record, side=origin if origin != "hub" else "",
               message="updated " + ", ".join(sorted(changed)))
    services.links_save_bases(list(effects.bases.values()))
    for record, spec in effects.conflicts:
        _open_conflict(run, compiled, record, spec)
    for record, spec in effects.decided:
        _event(run, SyncEventKind.DECIDED, record=record, side=spec.winner, field=spec.field, message=spec.reason,
               data={"crm": spec.crm_value, "erp": spec.erp_value, "base": spec.base, "winner": spec.winner,
                     "crm_updated_at": _iso(spec.crm_updated_at), "erp_updated_at": _iso(spec.erp_updated_at)})
    for record, links, blocked in effects.blocked:
        _count(run, "blocked")
        _event(run, SyncEventKind.BLOCKED_EDIT, record=record, side=blocked.side, field=blocked.field,
               external_id=(links[blocked.side].external_id if links.get(blocked.side) else ""),
               message=blocked.reason, data={"attempted": blocked.attempted, "kept": blocked.kept})
    _queue_writes(run, compiled, effects.writes)


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _open_conflict(run: SyncRun, compiled: CompiledMapping, record: Record, spec) -> None:
    if Conflict.objects.filter(record=record, field=spec.field, status=ConflictStatus.OPEN).exists():
        return
    Conflict.objects.create(
        record=record, mapping=compiled.mapping, rule_version=compiled.version, field=spec.field,
        base_value=spec.base, crm_value=spec.crm_value, erp_value=spec.erp_value,
        crm_updated_at=spec.crm_updated_at, erp_updated_at=spec.erp_updated_at, policy=spec.policy,
        approver_role=spec.approver_role, reason=spec.reason[:300], opened_by_run=run)
    _count(run, "conflicts")
    _event(run, SyncEventKind.CONFLICT, record=record, field=spec.field, message=spec.reason,
           data={"crm": spec.crm_value, "erp": spec.erp_value, "base": spec.base})


def _creates_for(compiled: CompiledMapping, values: dict, links: dict[str, RecordLink | None]) -> list[str]:
    """Sides where the golden record (with these values) must be created: linked on one side only, and the
    mapping says so.
    (One create per record and side: the caller skips a side with a create already queued, sent or dead --
    a dead one waits for a replay instead of being queued again.)"""
    mapping = compiled.mapping
    linked = [side for side, link in links.items() if link is not None]
    if len(linked) != 1:
        return []
    source = linked[0]
    target = "erp" if source == "crm" else "crm"
    policy = getattr(mapping, f"{source}_creates")
    trigger = getattr(mapping, f"{source}_create_trigger") or {}
    if policy == CreatePolicy.ALWAYS or (policy == CreatePolicy.ON_TRIGGER and trigger_matches(trigger, values)):
        return [target]
    return []


def trigger_matches(trigger: dict, record: Record | dict) -> bool:
    """{"field": "stage", "in": ["closedwon"]}: the golden value (of a record, or of values) is one of those.
    Other forms never match."""
    values = record if isinstance(record, dict) else record.values
    field, allowed = trigger.get("field"), trigger.get("in")
    return bool(field) and isinstance(allowed, list) and values.get(field) in allowed


def _queue_writes(run: SyncRun, compiled: CompiledMapping, writes: list[tuple[Record, str, RecordLink | None, dict]]):
    """Put writes in the outbox, as each system's rollout stage allows; a write still waiting for the same
    record and side absorbs the new values (one write, the latest values)."""
    by_side: dict[str, list[tuple[Record, RecordLink | None, dict]]] = {}
    for record, side, link, values in writes:
        by_side.setdefault(side, []).append((record, link, values))
    for side, items in by_side.items():
        system = compiled.system(side)
        stage = system.rollout_stage
        if stage == RolloutStage.READ_ONLY or (stage == RolloutStage.ONE_WAY and side == "crm"):
            continue  # this stage lets nothing be written to this system: not even a shadow row
        shadow = run.mode == SyncMode.SHADOW or stage == RolloutStage.SHADOW
        status = OutboundStatus.SHADOW if shadow else OutboundStatus.PENDING
        prepared = _prepare(run, compiled, side, items)
        waiting = {(row.record_id, row.link_id): row for row in OutboundChange.objects.filter(
            record_id__in=[record.pk for record, *_ in prepared], side=side, status=status)}
        new_rows, updated_rows = [], []
        for record, link, sendable, payload in prepared:
            row = waiting.get((record.pk, link.pk if link else None))
            if row is not None:
                row.values = {**row.values, **sendable}
                row.payload = _vendor_payload(compiled, side, link, row.values).values
                row.run = run
                updated_rows.append(row)
            else:
                new_rows.append(OutboundChange(
                    run=run, record=record, system=system, link=link, side=side,
                    vendor_object=compiled.vendor_object(side), values=sendable, payload=payload,
                    idempotency_key=_change_key(run.pk, record.pk, side), status=status))
            _count(run, "written")
        update_many(OutboundChange, updated_rows, ["values", "payload", "run"])
        _unique_keys(new_rows)
        insert_many(OutboundChange, new_rows)


def _prepare(run: SyncRun, compiled: CompiledMapping, side: str, items: list[tuple[Record, RecordLink | None, dict]]
             ) -> list[tuple[Record, RecordLink | None, dict, dict]]:
    """(record, link, values to write, vendor payload) for each write that can go out to this side.

    References become the side's own ids. One that is not linked there yet is left out (and said so); a create
    missing one it requires (`required_for_create`, a document's lines) is held whole, as is a document create
    with a field the side cannot take: such a create is never made partial."""
    system = compiled.system(side)
    writable = _writable(compiled, side)
    wanted = [(record, link, {f: v for f, v in values.items() if f in writable}) for record, link, values in items]
    to_side = ToSide(compiled, side, [values for _, _, values in wanted])
    prepared = []
    for record, link, values in wanted:
        values, missing = to_side(values)
        values, locked = documents.vendor_locked(compiled, side, link, values)
        for field, why in locked.items():  # a fulfilled order's customer: held with the vendor's reason, replayable
            _count(run, "failed")
            _event(run, SyncEventKind.FAILED, record=record, side=side, external_id=link.external_id, field=field,
                   message=f"held: {why}", data={"target": side, "field": field, "held_change": True})
        if link is None and missing.keys() & compiled.create_requires:
            _hold_create(run, compiled, record, _link_on(compiled, record, "erp" if side == "crm" else "crm"), side,
                         [f"{field}: {why}" for field, why in missing.items()])
            continue
        for field, why in missing.items():
            _event(run, SyncEventKind.FAILED, record=record, side=side, field=field, message=f"held: {why}")
        converted = _vendor_payload(compiled, side, link, values)
        if link is None and converted.errors and compiled.line_fields:
            _hold_create(run, compiled, record, _link_on(compiled, record, "erp" if side == "crm" else "crm"), side,
                         [f"{field}: {reason}" for field, reason in converted.errors.items()])
            continue
        for field, reason in converted.errors.items():
            _count(run, "failed")
            _event(run, SyncEventKind.WRITE_FAILED, record=record, side=side, field=field,
                   message=f"cannot write {field} to {system.name}: {reason}")
        sendable = {f: v for f, v in values.items() if f not in converted.errors}
        if sendable:
            prepared.append((record, link, sendable, converted.values))
    return prepared


def _link_on(compiled: CompiledMapping, record: Record, side: str) -> RecordLink | None:
    """The record's link on a side (from the prefetched links when the caller has them)."""
    system_id = compiled.system(side).pk
    return next((link for link in record.links.all() if link.system_id == system_id), None)


def _unique_keys(rows: list[OutboundChange]) -> None:
    """A run redelivered after its worker died may queue a second change for a record and side: it gets a
    key of its own (the first one may be sent already)."""
    taken = set(OutboundChange.objects.filter(idempotency_key__in=[row.idempotency_key for row in rows])
                .values_list("idempotency_key", flat=True)) if rows else set()
    for row in rows:
        n = 1
        while row.idempotency_key in taken:
            row.idempotency_key = hashlib.sha256(f"{row.idempotency_key}:{n}".encode()).hexdigest()
            n += 1
        taken.add(row.idempotency_key)


def _flush_events(run: SyncRun) -> None:
    insert_many(SyncEvent, _buffer(run))
    _buffer(run).clear()


def _vendor_payload(compiled: CompiledMapping, side: str, link: RecordLink | None, values: dict[str, Any]):
    """The vendor fields to send. A list the vendor replaces whole on write (a NetSuite sublist such as the
    address book) is sent as the record's current list with the rules' changes applied, never as a list
    holding only the touched line."""
    mapper = compiled.mappers[side]
    converted = mapper.to_vendor(values)
    current = (link.remote_values or {}) if link is not None else {}
    lists = {key: copy.deepcopy(current[key]) for key, value in converted.values.items()
             if isinstance(value, list) and isinstance(current.get(key), list)}
    if not lists:
        return converted
    writing = [path for name in values for path in compiled.field_paths.get(side, {}).get(name, ())]
    unshare_selected_lines(lists, writing, compiled.paths[side])
    merged = mapper.to_vendor(values, into=lists)
    return type(converted)({**converted.values, **{key: merged.values[key] for key in lists}}, converted.errors)


def _change_key(run_id: int, record_id: int, side: str) -> str:
    """One key per change: the dispatcher sends it with the write so a retried write is applied once."""
    return hashlib.sha256(f"{run_id}:{record_id}:{side}".encode()).hexdigest()
