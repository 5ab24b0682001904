"""Step 2 of a sync: merge every record a pull flagged (`RecordLink.needs_merge`) field by field against each
side's base (three-way, see merge.py), a chunk at a time. In one transaction per chunk: apply the golden changes,
move the bases, open conflicts, log blocked edits, put the writes in the outbox (writes.py) and clear the flags.

Every kind of write is one statement per chunk (integration_hub.kernel.bulk: COPY on PostgreSQL), history rows
included, so the audit costs no round trips of its own.
"""
from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Prefetch

from integration_hub.records import services
from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync import documents, held_fields, holds
from integration_hub.sync.merge import BlockedEdit, ConflictSpec, MergeResult, SideState, merge_record
from integration_hub.sync.models import OutboundChange, SyncEventKind, SyncRun
from integration_hub.sync.rules import SIDES, CompiledMapping
from integration_hub.sync.run_context import RunContext
from integration_hub.sync.run_lifecycle import save_progress
from integration_hub.sync.writes import Write, queue_writes
from mapping.models import CreatePolicy
from mapping.reader import GoldenIds, Reader

MERGE_CHUNK = 1000
Links = dict[str, RecordLink | None]  # side -> the record's link there


class Merged(NamedTuple):
    """A record's merge, and what it needs made in the other system."""

    record: Record
    links: Links
    sides: dict[str, SideState]  # the linked sides' values and bases, as merged
    result: MergeResult
    after: dict[str, Any]  # the golden values the merge leaves
    creates: list[str]  # sides where the record must be created


class GoldenChange(NamedTuple):
    record: Record
    changes: dict[str, Any]
    origin: str  # the side whose values these are ("hub" when none)


class Decided(NamedTuple):
    """A conflict: opened for a person, or decided by a policy (the loser's value stays on record)."""

    record: Record
    spec: ConflictSpec


class Blocked(NamedTuple):
    record: Record
    links: Links
    edit: BlockedEdit


def merge_pending(ctx: RunContext, progress: Callable[[SyncRun], None] | None) -> None:
    """Merge every record with a link flagged by a pull (this run's, or one a dead run left), in chunks."""
    flagged = RecordLink.objects.filter(needs_merge=True, entity_type=ctx.compiled.mapping.entity_type,
                                        system_id__in=list(_system_ids(ctx.compiled).values()),
                                        status=LinkStatus.ACTIVE)
    last = 0
    while True:
        chunk = list(flagged.filter(record_id__gt=last).order_by("record_id").values_list("record_id", flat=True)
                     .distinct()[:MERGE_CHUNK])
        if not chunk:
            return
        last = chunk[-1]
        merge_chunk(ctx, chunk)
        if progress:
            progress(ctx.run)


def merge_chunk(ctx: RunContext, record_ids: list[int]) -> None:
    """Merge a chunk of records field by field and, in one transaction, apply the golden changes, move the
    bases, open conflicts, log blocked edits, queue the writes and clear the flags. The chunk's records are
    locked while it merges, so a person's decision committed meanwhile is never overwritten with a stale read."""
    system_ids = list(_system_ids(ctx.compiled).values())
    with transaction.atomic():
        records = list(Record.objects.select_for_update().filter(pk__in=record_ids).order_by("pk").prefetch_related(
            Prefetch("links", queryset=RecordLink.objects.filter(system_id__in=system_ids,
                                                                 status=LinkStatus.ACTIVE))))
        apply(ctx, _merge_records(ctx, records))
        RecordLink.objects.filter(record_id__in=record_ids, system_id__in=system_ids,
                                  needs_merge=True).update(needs_merge=False)
        ctx.flush_events()
        save_progress(ctx.run, ["counts"])  # with the chunk: a run killed after it counts it once, on resume too


def _system_ids(compiled: CompiledMapping) -> dict[str, int]:
    return {side: compiled.system(side).pk for side in SIDES}


def _merge_records(ctx: RunContext, records: list[Record]) -> Effects:
    compiled = ctx.compiled
    system_ids = _system_ids(compiled)
    record_ids = [record.pk for record in records]
    # Each side's current canonical values (its link's last known vendor fields, read again), references
    # translated to golden ids in one query per target entity.
    links_of: dict[int, Links] = {}
    stored: dict[str, dict[int, dict]] = {side: {} for side in SIDES}
    for record in records:
        links_of[record.pk] = {side: next((link for link in record.links.all() if link.system_id == system_ids[side]),
                                          None) for side in SIDES}
        for side, link in links_of[record.pk].items():
            if link is not None and link.remote_values:
                stored[side][record.pk] = link.remote_values
    readers = {side: Reader.from_compiled(compiled, side) for side in SIDES}
    # A link the hub made by creating the record there has not been read yet: every field is unknown on that
    # side (never "emptied"), until its first read.
    current: dict[tuple[int, str], dict] = {(record.pk, side): {} for record in records
                                            for side, link in links_of[record.pk].items() if link is not None}
    # A field is held on a side when it fails its rule now or the pull held it (held_fields.py): unknown there.
    held_now = held_fields.open_fields(compiled.mapping, record_ids)
    for side in SIDES:
        for record_id, read in readers[side].canonical_fields(stored[side]).items():
            held_now.setdefault((record_id, side), set()).update(read.errors)
            current[record_id, side] = {field: value for field, value in read.readable.items()
                                        if field not in held_now[record_id, side]}
    translate = {side: readers[side].golden_ids([v for (_, s), v in current.items() if s == side]) for side in SIDES}
    states = {record.pk: {side: SideState(current=translate[side](current[record.pk, side]),
                                          base=link.base_snapshot or {}, updated_at=link.remote_updated_at,
                                          held=frozenset(held_now.get((record.pk, side), ())))
                          for side, link in links_of[record.pk].items() if link is not None}
              for record in records}
    held = holds.held_fields(ctx, record_ids, states)

    already_creating = set(OutboundChange.objects.filter(record_id__in=record_ids, link__isnull=True)
                           .values_list("record_id", "side"))
    merged = []
    for record in records:
        links, sides = links_of[record.pk], states[record.pk]
        result = merge_record(compiled.policies, record.values, sides,
                              open_conflicts=frozenset(held.get(record.pk, ())))
        after = {**record.values, **result.golden}  # a create follows the values this merge leaves
        creates = [side for side in creates_for(compiled, after, links, ctx.promote)
                   if (record.pk, side) not in already_creating]
        merged.append(Merged(record, links, sides, result, after, creates))
    return effects_of(ctx, merged, current, translate)


def effects_of(ctx: RunContext, merged: list[Merged], current: dict[tuple[int, str], dict],
               translate: dict[str, GoldenIds]) -> Effects:
    """What merged records change, with the creates each needs in the other system (held when they could only be
    made partial, given the mapping's create defaults otherwise)."""
    compiled = ctx.compiled
    customers = documents.customers_of([m.after for m in merged if m.creates])
    # A record of the target system waiting in the duplicate queue may be one of these: not created there meanwhile.
    maybe_there = {side: ctx.duplicates.waiting_beside(system=compiled.system(side), record_ids=ids)
                   for side in SIDES if (ids := [m.record.pk for m in merged if side in m.creates])}
    effects = Effects()
    for record, links, sides, result, after, creates in merged:
        creates = [side for side in creates if not holds.create_held(
            ctx, record, links, side, after, current, translate, customers, sides,
            maybe_there.get(side, {}).get(record.pk))]
        for side in creates:  # what the CRM needs and the ERP has not (a deal's stage): the create defaults
            extra, _ = documents.create_values(compiled, side, after)
            after = {**after, **extra}
            result.golden.update(extra)
        if compiled.line_fields and len(sides) == 2:
            holds.lines_held(ctx, record, links, current, translate)
        if result.unchanged and not creates:
            ctx.count("unchanged")
            continue
        effects.add(Merged(record, links, sides, result, after, creates))
    return effects


class Effects:
    """What a chunk's merges change, gathered so each kind is written with one statement."""

    def __init__(self) -> None:
        self.golden: list[GoldenChange] = []
        self.bases: dict[int, RecordLink] = {}  # link id -> its link, base moved
        self.conflicts: list[Decided] = []
        self.decided: list[Decided] = []  # both sides changed, a policy chose: the loser stays on record
        self.blocked: list[Blocked] = []
        self.writes: list[Write] = []

    def add(self, merged: Merged) -> None:
        record, links, sides, result, after, creates = merged
        if result.golden:
            origin = next((side for side, state in sides.items()
                           if all(state.current.get(f) == v for f, v in result.golden.items())), "hub")
            self.golden.append(GoldenChange(record, result.golden, origin))
        for side, moves in result.base.items():
            link = links[side]
            if link is not None and moves:
                link.base_snapshot = {**(link.base_snapshot or {}), **moves}
                self.bases[link.pk] = link
        self.conflicts += [Decided(record, spec) for spec in result.conflicts]
        self.decided += [Decided(record, spec) for spec in result.resolved]
        self.blocked += [Blocked(record, links, edit) for edit in result.blocked]
        for side, values in result.writes.items():
            if values:
                self.writes.append(Write(record, side, links.get(side), values))
        for side in creates:  # a new record gets the values the hub has, not empty fields
            self.writes.append(Write(record, side, None, {k: v for k, v in after.items() if v is not None}))


def apply(ctx: RunContext, effects: Effects) -> None:
    """Write what merges changed: golden values (with history), bases, conflicts, events, the outbox."""
    compiled = ctx.compiled
    sources = {origin: services.Source(system=compiled.system(origin).slug if origin != "hub" else "hub",
                                       sync_run=ctx.run.pk, rule_version=compiled.version.number)
               for origin in ("crm", "erp", "hub")}
    origins = {change.record.pk: change.origin for change in effects.golden}
    for record, changed in services.records_update_many(
            [(change.record, change.changes, sources[change.origin]) for change in effects.golden]):
        origin = origins[record.pk]
        ctx.count("updated")
        ctx.event(SyncEventKind.UPDATED, record=record, side=origin if origin != "hub" else "",
                  message="updated " + ", ".join(sorted(changed)))
    services.links_save_bases(list(effects.bases.values()))
    for record, spec in effects.conflicts:
        holds.open_conflict(ctx, record, spec)
    for record, spec in effects.decided:
        ctx.event(SyncEventKind.DECIDED, record=record, side=spec.winner, field=spec.field, message=spec.reason,
                  data={"crm": spec.crm_value, "erp": spec.erp_value, "base": spec.base, "winner": spec.winner,
                        "crm_updated_at": _iso(spec.crm_updated_at), "erp_updated_at": _iso(spec.erp_updated_at)})
    for record, links, blocked in effects.blocked:
        ctx.count("blocked")
        ctx.event(SyncEventKind.BLOCKED_EDIT, record=record, side=blocked.side, field=blocked.field,
                  external_id=(links[blocked.side].external_id if links.get(blocked.side) else ""),
                  message=blocked.reason, data={"attempted": blocked.attempted, "kept": blocked.kept})
    queue_writes(ctx, effects.writes)


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def creates_for(compiled: CompiledMapping, values: dict, links: Links, promote: Container[str] = ()) -> list[str]:
    """Sides where the golden record (with these values) must be created: linked on one side only, and the
    mapping says so (or the run promotes that side's record: a won deal's company, customer_chain.py).
    (One create per record and side: the caller skips a side with a create already queued, sent or dead --
    a dead one waits for a replay instead of being queued again.)"""
    mapping = compiled.mapping
    linked = [side for side, link in links.items() if link is not None]
    if len(linked) != 1:
        return []
    source = linked[0]
    target = "erp" if source == "crm" else "crm"
    if links[source].external_id in promote:
        return [target]
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
