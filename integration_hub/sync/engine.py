"""One sync of a mapping, as DESIGN.md's "The sync, one record at a time" (done in pages).

1. Pull each side's changes since its cursor, page by page. Each record is mapped to canonical
   values through the published rules; a record that fails them is held with its reason (an event
   to replay), never half-written. Valid records refresh their link's last known values, are
   linked by external id, else matched by the mapping's keys, else become a new golden record
   where the mapping lets that side create one, else are held as "unlinked". The cursor moves
   only after its page is stored, so a run that dies resumes where it stopped.
2. Merge every record a pull flagged (`needs_merge`) field by field against each side's base (three-way, see merge.py)
   and, in one transaction per record, apply the golden changes, move the bases, open conflicts,
   log blocked edits and put the writes in the outbox. The outbox is sent by outbox.py.
"""
from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from connectors.base import ConnectorError, parse_timestamp
from connectors.models import RolloutStage
from connectors.services import connector_session
from integration_hub import audit, services
from integration_hub.models import (
    OutboundChange,
    OutboundStatus,
    Record,
    RecordLink,
    SyncCursor,
    SyncEvent,
    SyncEventKind,
    SyncMode,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)
from integration_hub.sync.merge import MergeResult, SideState, merge_record
from integration_hub.sync.rules import SIDES, CompiledMapping, NothingPublished, compile_mapping
from mapping.models import CreatePolicy, ObjectMapping
from mapping.preview import vendor_fields
from reconciliation.models import Conflict, ConflictStatus

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
MERGE_CHUNK = 500
LOCK_SECONDS = 60 * 60
Progress = Callable[[SyncRun], None]


def sync_run_create(*, mapping: ObjectMapping, trigger: str = SyncTrigger.MANUAL, mode: str = SyncMode.LIVE,
                    full: bool = False, user=None) -> SyncRun:
    """Record a requested sync; it runs in a worker (or in-process from the command line)."""
    return SyncRun.objects.create(mapping=mapping, trigger=trigger, mode=mode, full=full,
                                  requested_by=user if user is not None and user.is_authenticated else None)


def _lock_key(mapping_id: int) -> str:
    return f"sync-lock:mapping:{mapping_id}"


def sync_run_execute(*, run: SyncRun, progress: Progress | None = None) -> SyncRun:
    """Run a sync: pull both sides' changes since their cursors, merge, queue the writes."""

    def work(compiled: CompiledMapping) -> None:
        for side in _pull_order(compiled.mapping):
            _pull_side(run, compiled, side, progress)
        _merge_pending(run, compiled, progress)

    return _run(run, work)


def _run(run: SyncRun, work: Callable[[CompiledMapping], None]) -> SyncRun:
    """What every kind of run shares: one run per mapping at a time, the published rules, the actor in
    history, and a final status. A run that finds another one running joins it ("coalesced"): what changed
    after that run started is read by the next pull from its cursor, so nothing is lost.

    A run redelivered after its worker died takes its own lock back and resumes: cursors moved only past
    stored pages, and records stored but not merged are still flagged (`RecordLink.needs_merge`)."""
    key = _lock_key(run.mapping_id)
    if not cache.add(key, run.pk, LOCK_SECONDS) and cache.get(key) != run.pk:
        SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.COALESCED, finished_at=timezone.now())
        run.refresh_from_db()
        return run
    try:
        run.status, run.started_at = SyncStatus.RUNNING, timezone.now()
        try:
            compiled = compile_mapping(run.mapping)
        except NothingPublished as exc:
            _finish(run, SyncStatus.FAILED, str(exc))
            return run
        run.rule_version = compiled.version
        run.save(update_fields=["status", "started_at", "rule_version"])
        try:
            with audit.acting_as(run.actor, reason=f"sync run {run.pk} ({run.get_trigger_display().lower()})"):
                work(compiled)
        except ConnectorError as exc:
            _finish(run, SyncStatus.FAILED, exc.message)
            return run
        _finish(run, SyncStatus.COMPLETED_WITH_ERRORS if run.counts["failed"] else SyncStatus.SUCCEEDED)
    finally:
        cache.delete(key)
    return run


def _pull_order(mapping: ObjectMapping) -> list[str]:
    """A side that may add golden records is read first, so the other side's records can match them."""
    return sorted(SIDES, key=lambda side: getattr(mapping, f"{side}_creates") == CreatePolicy.NEVER)


def _finish(run: SyncRun, status: str, error: str = "") -> None:
    run.status, run.error, run.finished_at = status, error[:2000], timezone.now()
    run.save()


def _count(run: SyncRun, key: str, n: int = 1) -> None:
    run.counts[key] = run.counts.get(key, 0) + n


def _event(run: SyncRun, kind: str, *, record: Record | None = None, side: str = "", external_id: str = "",
           field: str = "", message: str = "", data: dict | None = None) -> None:
    SyncEvent.objects.create(run=run, record=record, side=side, external_id=external_id[:255], kind=kind,
                             field=field[:80], message=message[:2000], data=data or {})


# --- replay -------------------------------------------------------------------------------------

REPLAYABLE = (SyncEventKind.FAILED, SyncEventKind.UNLINKED, SyncEventKind.WRITE_FAILED)


def sync_run_replay(*, run: SyncRun, event_ids: list[int] | None = None, user=None) -> SyncRun:
    """Replay a run's failed records through the same path: re-read them by id, merge, queue the writes.

    Failed writes (dead letters) of that run are queued again. Returns the new run (trigger "replay")."""
    events = SyncEvent.objects.filter(run=run, kind__in=REPLAYABLE, replayed_by__isnull=True)
    if event_ids is not None:
        events = events.filter(pk__in=event_ids)
    events = list(events)
    replay = sync_run_create(mapping=run.mapping, trigger=SyncTrigger.REPLAY, mode=run.mode, user=user)

    def work(compiled: CompiledMapping) -> None:
        for side in _pull_order(replay.mapping):
            ids = sorted({e.external_id for e in events if e.side == side and e.external_id
                          and e.kind != SyncEventKind.WRITE_FAILED})
            if ids:
                _reread(replay, compiled, side, ids)
        _merge_pending(replay, compiled, None)
        dead = OutboundChange.objects.filter(
            record_id__in=[e.record_id for e in events if e.kind == SyncEventKind.WRITE_FAILED and e.record_id],
            status=OutboundStatus.DEAD)
        replay.counts["written"] += dead.update(status=OutboundStatus.PENDING, attempts=0, next_attempt_at=None,
                                                run=replay)
        SyncEvent.objects.filter(pk__in=[e.pk for e in events]).update(replayed_by=replay)

    return _run(replay, work)


def sync_run_for_ids(*, mapping: ObjectMapping, ids: dict[str, list[str]], trigger: str = SyncTrigger.WEBHOOK,
                     user=None) -> SyncRun:
    """A targeted sync of the records a webhook named: re-read them by id, merge, queue the writes."""
    run = sync_run_create(mapping=mapping, trigger=trigger, user=user)

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
        for start in range(0, len(ids), PAGE_SIZE):
            remotes = connector.get_many(obj, ids[start:start + PAGE_SIZE], **options)
            with transaction.atomic():
                for remote in remotes:
                    _stage(run, compiled, side, remote)
                run.save(update_fields=["counts", "processed"])


# --- 1. pull ------------------------------------------------------------------------------------

def _pull_side(run: SyncRun, compiled: CompiledMapping, side: str, progress: Progress | None) -> None:
    system, obj = compiled.system(side), compiled.vendor_object(side)
    if not system.is_active:
        return
    cursor, _ = SyncCursor.objects.get_or_create(mapping=compiled.mapping, side=side)
    run.cursor_before[side] = cursor.cursor
    since = None if run.full or not cursor.cursor else parse_timestamp(cursor.cursor)
    with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
        pages = connector.changes(obj, since, PAGE_SIZE, **connector.read_options(obj, compiled.paths[side]))
        for page in pages:
            with transaction.atomic():
                for problem in page.errors:
                    _count(run, "failed")
                    _event(run, SyncEventKind.FAILED, side=side, external_id=problem.external_id or "",
                           message=f"unreadable record from {system.name}: {problem.message}")
                for remote in page.records:
                    _stage(run, compiled, side, remote)
                if page.cursor:
                    cursor.cursor = page.cursor
                    cursor.save(update_fields=["cursor", "updated_at"])
                run.cursor_after[side] = cursor.cursor
                run.save(update_fields=["counts", "processed", "cursor_before", "cursor_after"])
            if progress:
                progress(run)


def _stage(run: SyncRun, compiled: CompiledMapping, side: str, remote) -> None:
    """Store what a side says about one record; link or create its golden record."""
    system = compiled.system(side)
    run.processed += 1
    _count(run, "read")
    fields = vendor_fields(remote)
    mapped = compiled.mappers[side].to_canonical(fields)
    if mapped.errors:
        _count(run, "failed")
        reasons = "; ".join(f"{field}: {reason}" for field, reason in mapped.errors.items())
        _event(run, SyncEventKind.FAILED, side=side, external_id=remote.external_id,
               message=f"held: {reasons}", data={"errors": mapped.errors})
        return
    entity = compiled.mapping.entity_type
    link = RecordLink.objects.filter(system=system, entity_type=entity, external_id=remote.external_id).first()
    if link is not None:
        # Raw vendor data, not governed values: stored without a history row.
        RecordLink.objects.filter(pk=link.pk).update(remote_values=fields, remote_updated_at=remote.updated_at,
                                                     last_synced_at=timezone.now(), needs_merge=True)
        return
    values = _references_to_golden(compiled, side, compiled.readable(side, mapped.values))
    record = _match(compiled, side, values)
    if record is None:
        if getattr(compiled.mapping, f"{side}_creates") == CreatePolicy.NEVER:
            _count(run, "unlinked")
            _event(run, SyncEventKind.UNLINKED, side=side, external_id=remote.external_id,
                   message=f"no match for {system.name} record {remote.external_id} by "
                           f"{', '.join(compiled.mapping.match_keys) or 'any key'}, and the mapping does not "
                           f"create golden records from the {side.upper()}")
            return
        record = services.record_create(
            entity_type=entity, values=values, reason=f"new in {system.name}",
            source=services.Source(system=system.slug, sync_run=run.pk, rule_version=compiled.version.number))
        _count(run, "created")
        _event(run, SyncEventKind.CREATED, record=record, side=side, external_id=remote.external_id,
               message=f"golden record created from {system.name}")
        base = values  # the hub holds exactly what this side holds
    else:
        base = {}  # first sync of this pair: every value is compared as new
    link = services.record_link(record=record, system=system, external_id=remote.external_id, base_snapshot=base,
                                remote_values=fields, remote_updated_at=remote.updated_at)
    RecordLink.objects.filter(pk=link.pk).update(needs_merge=True)


def _match(compiled: CompiledMapping, side: str, values: dict[str, Any]) -> Record | None:
    """The golden record this side's record is, by the mapping's keys in order (not yet linked here)."""
    system = compiled.system(side)
    candidates = Record.objects.filter(entity_type=compiled.mapping.entity_type).exclude(links__system=system)
    for key in compiled.mapping.match_keys:
        parts = key.split("+")
        wanted = {part: values.get(part) for part in parts}
        if any(v in (None, "") or isinstance(v, dict | list) for v in wanted.values()):
            continue
        found = candidates.filter(**{f"values__{part}": value for part, value in wanted.items()}).first()
        if found is not None:
            return found
    return None


# --- 2. merge and queue -------------------------------------------------------------------------

def _merge_pending(run: SyncRun, compiled: CompiledMapping, progress: Progress | None) -> None:
    """Merge every record with a link flagged by a pull (this run's, or one a dead run left), in chunks."""
    system_ids = {side: compiled.system(side).pk for side in SIDES}
    flagged = RecordLink.objects.filter(needs_merge=True, entity_type=compiled.mapping.entity_type,
                                        system_id__in=system_ids.values())
    last = 0
    while True:
        chunk = list(flagged.filter(record_id__gt=last).order_by("record_id").values_list("record_id", flat=True)
                     .distinct()[:MERGE_CHUNK])
        if not chunk:
            return
        last = chunk[-1]
        records = Record.objects.filter(pk__in=chunk).prefetch_related("links")
        open_fields: dict[int, set[str]] = {}
        for record_id, field in Conflict.objects.filter(record_id__in=chunk, status=ConflictStatus.OPEN) \
                .values_list("record_id", "field"):
            open_fields.setdefault(record_id, set()).add(field)
        for record in records:
            links = {side: next((link for link in record.links.all() if link.system_id == system_ids[side]), None)
                     for side in SIDES}
            _merge_one(run, compiled, record, links, frozenset(open_fields.get(record.pk, ())))
        run.save(update_fields=["counts"])
        if progress:
            progress(run)


def _merge_one(run: SyncRun, compiled: CompiledMapping, record: Record, links: dict[str, RecordLink | None],
               open_conflicts: frozenset[str]) -> None:
    sides: dict[str, SideState] = {}
    for side, link in links.items():
        if link is None:
            continue
        current = compiled.mappers[side].to_canonical(link.remote_values or {}).values
        current = _references_to_golden(compiled, side, compiled.readable(side, current))
        sides[side] = SideState(current=current, base=link.base_snapshot or {}, updated_at=link.remote_updated_at)
    result = merge_record(compiled.policies, record.values, sides, open_conflicts=open_conflicts)
    creates = _creates_for(compiled, record, links)
    done = RecordLink.objects.filter(pk__in=[link.pk for link in links.values() if link is not None])
    if result.unchanged and not creates:
        _count(run, "unchanged")
        done.update(needs_merge=False)
        return
    with transaction.atomic():  # the merge's effects and the cleared flag commit together
        _apply(run, compiled, record, links, sides, result)
        for side in creates:  # a new record gets the values the hub has, not empty fields
            _queue_write(run, compiled, record, side, None, {k: v for k, v in record.values.items() if v is not None})
        done.update(needs_merge=False)


def _references_to_golden(compiled: CompiledMapping, side: str, values: dict[str, Any]) -> dict[str, Any]:
    """A side's reference (its own id of, say, the account) becomes the golden record's id, through links.
    A reference the hub cannot place yet is left out: unknown, so never taken as a change."""
    if not compiled.references:
        return values
    out = dict(values)
    system = compiled.system(side)
    for field, entity in compiled.references.items():
        value = out.get(field)
        if value is None:
            continue
        record_id = RecordLink.objects.filter(system=system, entity_type=entity, external_id=str(value)) \
            .values_list("record_id", flat=True).first() if entity else None
        if record_id is None:
            del out[field]
        else:
            out[field] = f"record:{record_id}"
    return out


def _references_to_side(run: SyncRun, compiled: CompiledMapping, record: Record, side: str,
                        values: dict[str, Any]) -> dict[str, Any]:
    """Golden references become the target system's own ids; one not linked there yet is held (never
    written dangling or empty) with that reason."""
    out = dict(values)
    system = compiled.system(side)
    for field, entity in compiled.references.items():
        value = out.get(field)
        if not isinstance(value, str) or not value.startswith("record:"):
            continue
        external_id = RecordLink.objects.filter(system=system, entity_type=entity, record_id=value[7:]) \
            .values_list("external_id", flat=True).first()
        if external_id is None:
            del out[field]
            _event(run, SyncEventKind.FAILED, record=record, side=side, field=field,
                   message=f"held: the {entity} it points at is not linked in {system.name} yet")
        else:
            out[field] = external_id
    return out


def _apply(run: SyncRun, compiled: CompiledMapping, record: Record, links: dict[str, RecordLink | None],
           sides: dict[str, SideState], result: MergeResult) -> None:
    if result.golden:
        origin = next((side for side, state in sides.items()
                       if all(state.current.get(f) == v for f, v in result.golden.items())), "hub")
        source = services.Source(system=compiled.system(origin).slug if origin != "hub" else "hub",
                                 sync_run=run.pk, rule_version=compiled.version.number)
        if services.record_update_values(record=record, changes=result.golden, source=source):
            _count(run, "updated")
            _event(run, SyncEventKind.UPDATED, record=record, side=origin if origin != "hub" else "",
                   message="updated " + ", ".join(sorted(result.golden)))
    for side, moves in result.base.items():
        link = links[side]
        if link is not None and moves:
            link.base_snapshot = {**(link.base_snapshot or {}), **moves}
            link.save(update_fields=["base_snapshot"])
    for spec in result.conflicts:
        _open_conflict(run, compiled, record, spec)
    for blocked in result.blocked:
        _count(run, "blocked")
        _event(run, SyncEventKind.BLOCKED_EDIT, record=record, side=blocked.side, field=blocked.field,
               external_id=(links[blocked.side].external_id if links.get(blocked.side) else ""),
               message=blocked.reason, data={"attempted": blocked.attempted, "kept": blocked.kept})
    for side, values in result.writes.items():
        if values:
            _queue_write(run, compiled, record, side, links.get(side), values)


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


def _creates_for(compiled: CompiledMapping, record: Record, links: dict[str, RecordLink | None]) -> list[str]:
    """Sides where the golden record must be created: linked on one side only, and the mapping says so."""
    mapping = compiled.mapping
    linked = [side for side, link in links.items() if link is not None]
    if len(linked) != 1:
        return []
    source = linked[0]
    target = "erp" if source == "crm" else "crm"
    policy = getattr(mapping, f"{source}_creates")
    trigger = getattr(mapping, f"{source}_create_trigger") or {}
    if policy == CreatePolicy.ALWAYS or (policy == CreatePolicy.ON_TRIGGER and trigger_matches(trigger, record)):
        # One create per record and side: a dead one waits for a replay instead of being queued again.
        if not OutboundChange.objects.filter(record=record, side=target, link__isnull=True).exists():
            return [target]
    return []


def trigger_matches(trigger: dict, record: Record) -> bool:
    """{"field": "stage", "in": ["closedwon"]}: the golden value is one of those. Other forms never match."""
    field, allowed = trigger.get("field"), trigger.get("in")
    return bool(field) and isinstance(allowed, list) and record.values.get(field) in allowed


def _queue_write(run: SyncRun, compiled: CompiledMapping, record: Record, side: str, link: RecordLink | None,
                 values: dict[str, Any]) -> None:
    """Put one write in the outbox, as the system's rollout stage allows."""
    system = compiled.system(side)
    stage = system.rollout_stage
    if stage == RolloutStage.READ_ONLY or (stage == RolloutStage.ONE_WAY and side == "crm"):
        return  # this stage lets nothing be written to this system: not even a shadow row
    wanted = {f: v for f, v in values.items()
              if any(p.field == f and side in p.writes_to and side not in p.stopped for p in compiled.policies)}
    wanted = _references_to_side(run, compiled, record, side, wanted)
    converted = _vendor_payload(compiled, side, link, wanted)
    for field, reason in converted.errors.items():
        _count(run, "failed")
        _event(run, SyncEventKind.WRITE_FAILED, record=record, side=side, field=field,
               message=f"cannot write {field} to {system.name}: {reason}")
    sendable = {f: v for f, v in wanted.items() if f not in converted.errors}
    if not sendable:
        return
    shadow = run.mode == SyncMode.SHADOW or stage == RolloutStage.SHADOW
    status = OutboundStatus.SHADOW if shadow else OutboundStatus.PENDING
    # A write still waiting for this record and side absorbs the new values: one write, the latest values.
    waiting = OutboundChange.objects.filter(record=record, side=side, status=status, link=link).first()
    if waiting is not None:
        waiting.values = {**waiting.values, **sendable}
        waiting.payload = _vendor_payload(compiled, side, link, waiting.values).values
        waiting.run = run
        waiting.save(update_fields=["values", "payload", "run"])
    else:
        OutboundChange.objects.create(
            run=run, record=record, system=system, link=link, side=side, vendor_object=compiled.vendor_object(side),
            values=sendable, payload=converted.values, idempotency_key=_change_key(run.pk, record.pk, side),
            status=status,
        )
    _count(run, "written")


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
    merged = mapper.to_vendor(values, into=lists)
    return type(converted)({**converted.values, **{key: merged.values[key] for key in lists}}, converted.errors)


def _change_key(run_id: int, record_id: int, side: str) -> str:
    """One key per change: the dispatcher sends it with the write so a retried write is applied once."""
    return hashlib.sha256(f"{run_id}:{record_id}:{side}".encode()).hexdigest()
