"""What a merge writes to each system, put in the outbox (outbox.py sends it): the fields a side may take,
references as the side's own ids, the vendor payload, one key per change so a retried write is applied once.
The rollout-stage gate (`write_status`) and the payload builder (`outgoing`) are the one copy: a duplicate merge's
writes go through them too.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any, NamedTuple

from connectors.models import ConnectedSystem, RolloutStage
from integration_hub.kernel.bulk import insert_many, update_many
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import documents
from integration_hub.sync.holds import hold_create
from integration_hub.sync.models import OutboundChange, OutboundOperation, OutboundStatus, SyncEventKind, SyncMode
from integration_hub.sync.references import ToSide
from integration_hub.sync.rules import SIDES, CompiledMapping
from integration_hub.sync.run_context import RunContext
from mapping.paths import unshare_selected_lines


class Write(NamedTuple):
    """Values to write to a record on a side (`link` None: create it there)."""

    record: Record
    side: str
    link: RecordLink | None
    values: dict[str, Any]


class Outgoing(NamedTuple):
    """What a write to one record on a side carries, and what it leaves out (each with the reason)."""

    values: dict[str, Any]  # the canonical values that go out, references as the side's own ids
    payload: dict[str, Any]  # the vendor fields they make
    missing: dict[str, str]  # references not linked on that side yet
    locked: dict[str, str]  # fields the vendor refuses to change (a fulfilled order's customer)
    errors: dict[str, str]  # fields the vendor cannot take


class Prepared(NamedTuple):
    """A write that can go out: the values it carries and the vendor payload they make."""

    record: Record
    link: RecordLink | None
    values: dict[str, Any]
    payload: dict[str, Any]


def queue_writes(ctx: RunContext, writes: list[Write]) -> None:
    """Put writes in the outbox, as each system's rollout stage allows; a write still waiting for the same
    record and side absorbs the new values (one write, the latest values)."""
    run, compiled = ctx.run, ctx.compiled
    by_side: dict[str, list[Write]] = {}
    for write in writes:
        by_side.setdefault(write.side, []).append(write)
    for side, items in by_side.items():
        system = compiled.system(side)
        status = write_status(system, side, shadow_run=run.mode == SyncMode.SHADOW)
        if status is None:
            continue
        prepared = prepare(ctx, side, items)
        waiting = {(row.record_id, row.link_id): row for row in OutboundChange.objects.filter(
            record_id__in=[write.record.pk for write in prepared], side=side, status=status,
            operation=OutboundOperation.UPSERT)}
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
            ctx.count("written")
        update_many(OutboundChange, updated_rows, ["values", "payload", "run"])
        _unique_keys(new_rows)
        insert_many(OutboundChange, new_rows)


def write_status(system: ConnectedSystem, side: str, *, shadow_run: bool = False) -> str | None:
    """The status a write to this system is queued with, as its rollout stage allows; None when the stage lets
    nothing be written to it (not even a shadow row)."""
    stage = system.rollout_stage
    if stage == RolloutStage.READ_ONLY or (stage == RolloutStage.ONE_WAY and side == "crm"):
        return None
    return OutboundStatus.SHADOW if shadow_run or stage == RolloutStage.SHADOW else OutboundStatus.PENDING


def outgoing(compiled: CompiledMapping, side: str, to_side: ToSide, link: RecordLink | None,
             values: dict[str, Any]) -> Outgoing:
    """Canonical values -> what a write to one record on a side carries: only the fields the rules write there,
    references as the side's ids (`to_side` looked them up for the whole batch), fields the vendor locks or
    cannot take left out, and the vendor payload."""
    writable = compiled.writable(side)
    values, missing = to_side({f: v for f, v in values.items() if f in writable})
    values, locked = documents.vendor_locked(compiled, side, link, values)
    converted = _vendor_payload(compiled, side, link, values)
    sendable = {f: v for f, v in values.items() if f not in converted.errors}
    return Outgoing(sendable, converted.values, missing, locked, dict(converted.errors))


def prepare(ctx: RunContext, side: str, writes: list[Write]) -> list[Prepared]:
    """Each write to this side that can go out.

    References become the side's own ids. One that is not linked there yet is left out (and said so); a create
    missing one it requires (`required_for_create`, a document's lines) is held whole, as is a document create
    with a field the side cannot take: such a create is never made partial."""
    compiled = ctx.compiled
    system = compiled.system(side)
    writable = compiled.writable(side)
    wanted = [(write.record, write.link, {f: v for f, v in write.values.items() if f in writable})
              for write in writes]
    to_side = ToSide(compiled, side, [values for _, _, values in wanted])
    other = "erp" if side == "crm" else "crm"
    prepared = []
    for record, link, values in wanted:
        out = outgoing(compiled, side, to_side, link, values)
        for field, why in out.locked.items():  # a fulfilled order's customer: held with the vendor's reason, replayable
            ctx.count("failed")
            ctx.event(SyncEventKind.FAILED, record=record, side=side, external_id=link.external_id, field=field,
                      message=f"held: {why}", data={"target": side, "field": field, "held_change": True})
        if link is None and out.missing.keys() & compiled.create_requires:
            hold_create(ctx, record, link_on(compiled, record, other), side,
                        [f"{field}: {why}" for field, why in out.missing.items()])
            continue
        for field, why in out.missing.items():  # the field waits, the target's reference is left as it is
            ctx.count("held")
            ctx.event(SyncEventKind.HELD, record=record, side=side, field=field, message=f"held: {why}")
        if link is None and out.errors and compiled.line_fields:
            hold_create(ctx, record, link_on(compiled, record, other), side,
                        [f"{field}: {reason}" for field, reason in out.errors.items()])
            continue
        for field, reason in out.errors.items():
            ctx.count("failed")
            ctx.event(SyncEventKind.WRITE_FAILED, record=record, side=side, field=field,
                      message=f"cannot write {field} to {system.name}: {reason}")
        if out.values:
            prepared.append(Prepared(record, link, out.values, out.payload))
    return prepared


def refresh_dead_creates(ctx: RunContext, rows: list[OutboundChange]) -> set[int]:
    """A refused create is sent again with the golden record as it is now (the fix may be in the record: a
    corrected line), under the same create key, so it still makes one record. Returns the rows held again."""
    held = set()
    for side in SIDES:
        mine = [row for row in rows if row.side == side]
        if not mine:
            continue
        prepared = {write.record.pk: write for write in prepare(ctx, side, [
            Write(row.record, side, None, {k: v for k, v in row.record.values.items() if v is not None})
            for row in mine])}
        for row in mine:
            if row.record_id in prepared:
                row.values, row.payload = prepared[row.record_id].values, prepared[row.record_id].payload
            else:
                held.add(row.pk)
        update_many(OutboundChange, [row for row in mine if row.pk not in held], ["values", "payload"])
    return held


def link_on(compiled: CompiledMapping, record: Record, side: str) -> RecordLink | None:
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
