"""Held fields: a vendor value that fails its rule (a phone that is no phone, money without a currency, a choice
the mapping does not know) waits as a HeldField with its reason while the rest of its record flows. The merge
reads the field as unknown on that side and never writes over it (merge.py, ``SideState.held``), so the other
system keeps its value and the owner's typed value stays as typed.

A value its rule keeps as typed (a phone the other system takes as text) flows and is *flagged* the same way.
Each read of a record notes what failed and clears what passes now: the source was fixed, or the rule changed
and a replay read the record again under it. Every held field is an event on the run that read it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.utils import timezone

from integration_hub.kernel.bulk import insert_many, update_many
from integration_hub.records.models import RecordLink
from integration_hub.sync.models import HeldField, SyncEventKind
from integration_hub.sync.run_context import RunContext

HELD, FLAGGED = "held", "flagged"
SHOWN_TEXT = 1000  # characters of a held value kept (a 10 kB note is held for its reason, not its whole text)
CLEARED = "the value passes its rule now (the source was fixed, or the rule changed)"


class Read(NamedTuple):
    """What one read of a vendor record says about its fields."""

    errors: dict[str, str]  # field -> why its value failed its rule (held)
    flags: dict[str, str]  # field -> why its value flowed as typed (flagged)
    fields: Mapping[str, Any]  # the vendor fields, as read


def note_reads(ctx: RunContext, side: str, reads: Mapping[str, Read]) -> None:
    """Record what a page of a side's records says, by external id: new failures are held (or held again), values
    kept as typed are flagged, fields that pass now are cleared; one query finds the rows."""
    compiled = ctx.compiled
    mapping, system, mapper = compiled.mapping, compiled.system(side), compiled.mappers[side]
    noted = {external_id for external_id, read in reads.items() if read.errors or read.flags}
    rows: dict[str, dict[str, HeldField]] = {}  # external id -> field -> its row
    for row in (HeldField.objects.filter(mapping=mapping, side=side, external_id__in=list(reads)) if reads else ()):
        rows.setdefault(row.external_id, {})[row.field] = row
    if not noted and not any(row.cleared_at is None for held in rows.values() for row in held.values()):
        return  # the common case: a clean page, nothing held before
    record_of = dict(RecordLink.objects.filter(system=system, entity_type=mapping.entity_type,
                                               external_id__in=list(noted | set(rows))).values_list(
        "external_id", "record_id"))
    now, new, changed = timezone.now(), [], []
    for external_id, read in reads.items():
        record_id = record_of.get(external_id)
        found = {**{field: (FLAGGED, reason) for field, reason in read.flags.items()},
                 **{field: (HELD, reason) for field, reason in read.errors.items()}}
        for field, (kind, reason) in found.items():
            value = _shown(mapper.vendor_value(read.fields, field))
            row = rows.get(external_id, {}).get(field)
            if row is None:
                new.append(HeldField(mapping=mapping, side=side, system=system, external_id=external_id,
                                     record_id=record_id, field=field, kind=kind, value=value, reason=reason,
                                     run=ctx.run, first_seen_at=now, last_seen_at=now))
            else:
                if row.cleared_at is not None or row.kind != kind:
                    row.first_seen_at, row.cleared_at, row.cleared_because = now, None, ""
                row.record_id, row.kind, row.value, row.reason = record_id, kind, value, reason
                row.run, row.last_seen_at = ctx.run, now
                changed.append(row)
            if kind == HELD:
                ctx.count("held")
                ctx.event(SyncEventKind.HELD, record_id=record_id, side=side, external_id=external_id, field=field,
                          message=f"held: {reason} (the rest of the record flows; {field} is left as it is)",
                          data={"value": value})
        for field, row in rows.get(external_id, {}).items():
            if row.cleared_at is None and field not in found:
                row.cleared_at, row.cleared_because, row.last_seen_at = now, CLEARED, now
                row.record_id = record_id or row.record_id
                changed.append(row)
    insert_many(HeldField, new)
    update_many(HeldField, changed, ["record_id", "kind", "value", "reason", "run", "first_seen_at", "last_seen_at",
                                     "cleared_at", "cleared_because"])


def open_fields(mapping, record_ids: list[int]) -> dict[tuple[int, str], set[str]]:
    """(record id, side) -> its fields held now. The pull's verdict stands even where the stored copy of the vendor
    record reads cleanly (a NUL character cannot be stored, so the copy holds U+FFFD instead)."""
    held: dict[tuple[int, str], set[str]] = {}
    for record_id, side, field in HeldField.objects.filter(mapping=mapping, record_id__in=record_ids, kind=HELD,
                                                           cleared_at__isnull=True).values_list(
            "record_id", "side", "field"):
        held.setdefault((record_id, side), set()).add(field)
    return held


def _shown(value: Any) -> Any:
    """The value as it can be stored and shown: long text cut, a NUL (which PostgreSQL cannot store) as U+FFFD."""
    if isinstance(value, str):
        value = value.replace("\x00", "\ufffd")
        return value[:SHOWN_TEXT] + "…" if len(value) > SHOWN_TEXT else value
    if isinstance(value, list):
        return [_shown(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _shown(item) for key, item in value.items()}
    return value
