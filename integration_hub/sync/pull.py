"""Step 1 of a sync: read a side's records and store what they say, a page at a time.

Each record is mapped to canonical values through the published rules; a value that fails its rule holds only
that field (held_fields.py: the rest of the record flows and nothing is written over the field), unless the record
cannot be matched without it: a new record whose match key fails is held whole, with its reason (an event to
replay). Records refresh their link's last known values (a record read again unchanged is skipped), are linked by
external id, else matched (match_step.py), else become a new golden record where the mapping lets that side
create one, else are held as "unlinked". A page is stored in one
transaction with the cursor past it, so a run that dies resumes where it stopped. A golden record created from the
side read last has nothing to merge and nothing later in the run can match it: its create in the other system is
queued with its page.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.base import RemoteRecord, parse_timestamp
from connectors.services import connector_session
from integration_hub.kernel.bulk import update_many
from integration_hub.records import services
from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync import documents, held_fields, match_step, merge_step
from integration_hub.sync.merge import MergeResult, SideState
from integration_hub.sync.models import SyncCursor, SyncEventKind, SyncRun
from integration_hub.sync.rules import SIDES
from integration_hub.sync.run_context import RunContext
from integration_hub.sync.run_lifecycle import save_progress
from mapping.models import CreatePolicy, ObjectMapping
from mapping.reader import GoldenIds, Reader, ReadValues

PAGE_SIZE = 1000  # the connector lowers it to the vendor's page limit
REREAD_SIZE = 100
Progress = Callable[[SyncRun], None]


class ReadRecord(NamedTuple):
    """A valid record as a side's page gave it."""

    remote: RemoteRecord
    fields: dict[str, Any]  # its vendor fields, as stored on its link
    read: ReadValues  # the published rules' reading (references still the side's own ids)


class CreatedHere(NamedTuple):
    """A golden record just created from a side's record, and linked there."""

    record: Record
    link: RecordLink
    readable: dict[str, Any]  # the side's values as read, before references became golden ids
    held: frozenset[str]  # its fields whose value failed its rule


def pull_order(mapping: ObjectMapping) -> list[str]:
    """A side that may add golden records is read first, so the other side's records can match them."""
    return sorted(SIDES, key=lambda side: getattr(mapping, f"{side}_creates") == CreatePolicy.NEVER)


def pull_side(ctx: RunContext, side: str, progress: Progress | None, *, last: bool = False) -> None:
    """Read a side's changes since its cursor, page by page. `last`: no other side is read after it in this run,
    so a golden record created from one of its pages cannot be matched by anything else in the run: it is settled
    with the page (`_settle_created`) instead of waiting for the merge."""
    run, compiled = ctx.run, ctx.compiled
    system, reader = compiled.system(side), Reader.from_compiled(compiled, side)
    if not system.is_active:
        return
    cursor, _ = SyncCursor.objects.get_or_create(mapping=compiled.mapping, side=side)
    run.cursor_before.setdefault(side, cursor.cursor)  # a resumed run keeps the cursor it started from
    since = None if run.full or not cursor.cursor else parse_timestamp(cursor.cursor)
    with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
        for page in reader.changes(connector, since, PAGE_SIZE):
            with transaction.atomic():  # a page is stored whole, with the cursor past it, or not at all
                for problem in page.errors:
                    run.processed += 1
                    ctx.count("failed")
                    ctx.event(SyncEventKind.FAILED, side=side, external_id=problem.external_id or "",
                              message=f"unreadable record from {system.name}: {problem.message}")
                _stage_page(ctx, side, page.records, settle_created=last)
                if page.cursor:
                    cursor.cursor = page.cursor
                    cursor.save(update_fields=["cursor", "updated_at"])
                run.cursor_after[side] = cursor.cursor
                save_progress(run, ["counts", "processed", "cursor_before", "cursor_after"])
            if progress:
                progress(run)
        removed = documents.with_removed_lines(compiled, side, connector, since)  # a line item deleted from a deal
    if removed:
        reread(ctx, side, removed)


def reread(ctx: RunContext, side: str, ids: list[str]) -> None:
    """Read these records of a side again by id (a webhook's, a replay's), and store them as a pull does."""
    reader = Reader.from_compiled(ctx.compiled, side)
    with connector_session(reader.system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
        for start in range(0, len(ids), REREAD_SIZE):
            remotes = reader.get_many(connector, ids[start:start + REREAD_SIZE])
            with transaction.atomic():
                _stage_page(ctx, side, remotes)
                save_progress(ctx.run, ["counts", "processed"])


def _stage_page(ctx: RunContext, side: str, remotes: Iterable[RemoteRecord], *, settle_created: bool = False) -> None:
    """Store what a side says about a page of records: refresh the links of known records (flagged for the
    merge), link the others by the mapping's match keys or create their golden records, hold the rest."""
    run, compiled = ctx.run, ctx.compiled
    system, entity = compiled.system(side), compiled.mapping.entity_type
    reader = Reader.from_compiled(compiled, side)
    valid: dict[str, ReadRecord] = {}  # by external id
    for remote in remotes:
        run.processed += 1
        ctx.count("read")
        read = reader.canonical(remote)  # references are placed below, for the records no link knows yet
        # a record read twice: the later read
        valid[str(remote.external_id)] = ReadRecord(remote, _storable(read.fields), read)
    noted = {external_id: held_fields.Read(read.read.errors, read.read.flags, read.read.fields)
             for external_id, read in valid.items()}

    now = timezone.now()
    known = {link.external_id: link for link in RecordLink.objects.filter(
        system=system, entity_type=entity, external_id__in=list(valid)).only(
        "pk", "external_id", "remote_values", "remote_updated_at", "needs_merge", "status")}
    refreshed = []
    for external_id, link in known.items():
        read = valid.pop(external_id)
        if link.status != LinkStatus.ACTIVE:
            ctx.count("unchanged")  # an identity merged away (or gone): kept for its history, not synced
            continue
        updated_at = read.remote.updated_at
        if link.remote_values == read.fields and link.remote_updated_at == updated_at and not link.needs_merge:
            ctx.count("unchanged")  # read again (a cursor's boundary, our own write's echo): nothing new
            continue
        link.remote_values, link.remote_updated_at, link.last_synced_at, link.needs_merge = \
            read.fields, updated_at, now, True
        refreshed.append(link)
    # Raw vendor data, not governed values: stored without history rows.
    update_many(RecordLink, refreshed, ["remote_values", "remote_updated_at", "last_synced_at", "needs_merge"])
    _hold_unmatchable(ctx, side, valid)
    if valid:
        _link_new(ctx, side, valid, settle_created=settle_created)
    held_fields.note_reads(ctx, side, noted)
    ctx.flush_events()


def _unmatchable(keys: list[list[str]], read: ReadValues) -> list[str]:
    """The failed key fields of a record no match key can be compared by (each key has a field that failed or is
    empty, and one failed); empty when some key is whole or no key field failed."""
    failed = sorted({field for key in keys for field in key if field in read.errors})
    if not failed or any(all(read.values.get(field) not in (None, "") for field in key) for key in keys):
        return []
    return failed


def _hold_unmatchable(ctx: RunContext, side: str, new: dict[str, ReadRecord]) -> None:
    """A record no link knows that no match key can be compared by, because a key's value failed its rule:
    held whole (replayable), so it never becomes a second golden record of someone the hub already has."""
    keys = [key.split("+") for key in ctx.compiled.mapping.match_keys]
    unmatchable = {external_id: failed for external_id, read in new.items()
                   if (failed := _unmatchable(keys, read.read))}
    for external_id, failed in unmatchable.items():
        errors = new.pop(external_id).read.errors
        ctx.count("failed")
        ctx.event(SyncEventKind.FAILED, side=side, external_id=external_id, field=failed[0],
                  message="held: cannot be matched without its " + ", ".join(failed) + ": "
                          + "; ".join(f"{field}: {errors[field]}" for field in failed),
                  data={"errors": errors})


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


def _link_new(ctx: RunContext, side: str, new: dict[str, ReadRecord], *, settle_created: bool = False) -> None:
    """Records this side has that no link knows: match them to golden records, or create or hold them."""
    run, compiled = ctx.run, ctx.compiled
    system, entity = compiled.system(side), compiled.mapping.entity_type
    reader = Reader.from_compiled(compiled, side)
    translate = reader.golden_ids([read.read.readable for read in new.values()])
    values_by_id = {external_id: translate(read.read.readable) for external_id, read in new.items()}
    matched = match_step.by_keys(compiled, side, values_by_id)
    matched.update(documents.own_creates(compiled, side, new, matched))  # made by the hub, its link not stored
    held = match_step.screen_duplicates(ctx, side, new, values_by_id, matched)
    creates_here = getattr(compiled.mapping, f"{side}_creates") != CreatePolicy.NEVER
    to_create = [external_id for external_id in new if external_id not in matched and external_id not in held
                 and (creates_here or external_id in ctx.promote)]
    source = services.Source(system=system.slug, sync_run=run.pk, rule_version=compiled.version.number)
    created = services.records_create_many(
        entity_type=entity, items=[(_starting(values_by_id[external_id], ctx.promote.get(external_id)), source)
                                   for external_id in to_create], reason=f"new in {system.name}")
    records = dict(zip(to_create, created, strict=True))
    links: list[RecordLink] = []
    settled: list[CreatedHere] = []
    for external_id, read in new.items():
        record_id, base = matched.get(external_id), {}  # first sync of a matched pair: every value is new
        if external_id in records:
            record = records[external_id]
            record_id, base = record.pk, values_by_id[external_id]  # the hub holds exactly what this side holds
            ctx.count("created")
            ctx.event(SyncEventKind.CREATED, record=record, side=side, external_id=external_id,
                      message=f"golden record created from {system.name}")
        elif external_id in held:
            continue
        elif record_id is None:
            ctx.count("unlinked")
            ctx.event(SyncEventKind.UNLINKED, side=side, external_id=external_id,
                      message=f"no match for {system.name} record {external_id} by "
                              f"{', '.join(compiled.mapping.match_keys) or 'any key'}, and the mapping does not "
                              f"create golden records from the {side.upper()}")
            continue
        link = RecordLink(record_id=record_id, system=system, entity_type=entity, external_id=external_id,
                          base_snapshot=base, remote_values=read.fields, remote_updated_at=read.remote.updated_at,
                          needs_merge=not (settle_created and external_id in records))
        links.append(link)
        if settle_created and external_id in records:
            settled.append(CreatedHere(records[external_id], link, read.read.readable, frozenset(read.read.errors)))
    services.links_create_many(links)
    _first_sync_of_pairs(system, [link.record_id for link in links if not link.base_snapshot])
    if settled:
        _settle_created(ctx, side, settled, translate)


def _starting(values: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """A new golden record's values, with what a promoting run gives it where the vendor record has none."""
    if not extra:
        return values
    return {**values, **{name: value for name, value in extra.items() if values.get(name) is None}}


def _settle_created(ctx: RunContext, side: str, created: list[CreatedHere], translate: GoldenIds) -> None:
    """Golden records just created from this side's values, linked on this side only: a merge would change
    nothing (golden, the link's base and the side's current values are the same values), so they skip the
    merge's re-read and only their creates in the other system are worked out and queued, in the page's
    transaction (merge_step.py does the same for every other record)."""
    compiled = ctx.compiled
    other = "erp" if side == "crm" else "crm"
    merged, current = [], {}
    for record, link, readable, held in created:
        links = {side: link, other: None}
        current[record.pk, side] = readable  # as read, before references became golden ids (like the merge's)
        record._prefetched_objects_cache = {"links": [link]}  # what `writes.link_on` reads: no query for it
        state = SideState(current=link.base_snapshot, base=link.base_snapshot, updated_at=link.remote_updated_at,
                          held=held)
        merged.append(merge_step.Merged(record, links, {side: state}, MergeResult(), record.values,
                                        merge_step.creates_for(compiled, record.values, links, ctx.promote)))
    nothing_read = Reader.from_compiled(compiled, other).golden_ids([])
    effects = merge_step.effects_of(ctx, merged, current, {side: translate, other: nothing_read})
    merge_step.apply(ctx, effects)


def _first_sync_of_pairs(system, record_ids: list[int]) -> None:
    """A record just matched to a golden record another system holds: the first merge of the pair compares
    both systems' values as data that predates the link (neither is "unchanged" against the other), so a
    shared field they disagree on follows its conflict policy instead of the newcomer silently winning."""
    others = list(RecordLink.objects.filter(record_id__in=record_ids).exclude(system=system)
                  .exclude(base_snapshot={}))
    for link in others:
        link.base_snapshot = {}
    services.links_save_bases(others)
