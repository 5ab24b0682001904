"""Held fields: a vendor value that fails its rule (a phone that is no phone, money without a currency, a choice
the mapping does not know) waits as a HeldField with its reason while the rest of its record flows. The merge
reads the field as unknown on that side and never writes over it (merge.py, ``SideState.held``), so the other
system keeps its value and the owner's typed value stays as typed.

Each read of a record notes what failed and clears what passes now: the source was fixed, or the rule changed
and a replay read the record again under it. Every held field is an event on the run that read it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from integration_hub.kernel.bulk import insert_many, update_many
from integration_hub.records.models import RecordLink
from integration_hub.sync.models import HeldField, SyncEventKind
from integration_hub.sync.run_context import RunContext

SHOWN_TEXT = 1000  # characters of a held value kept (a 10 kB note is held for its reason, not its whole text)
CLEARED = "the value passes its rule now (the source was fixed, or the rule changed)"


def note_reads(ctx: RunContext, side: str, reads: Mapping[str, tuple[dict[str, str], Mapping[str, Any]]]) -> None:
    """Record what a page of a side's records says: {external id: (field -> why it failed, the vendor fields)}.
    New failures are held (or held again), fields that pass now are cleared; one query finds the rows."""
    compiled = ctx.compiled
    mapping, system, mapper = compiled.mapping, compiled.system(side), compiled.mappers[side]
    failing = {external_id for external_id, (errors, _) in reads.items() if errors}
    rows: dict[str, dict[str, HeldField]] = {}  # external id -> field -> its row
    for row in (HeldField.objects.filter(mapping=mapping, side=side, external_id__in=list(reads)) if reads else ()):
        rows.setdefault(row.external_id, {})[row.field] = row
    if not failing and not any(row.cleared_at is None for held in rows.values() for row in held.values()):
        return  # the common case: a clean page, nothing held before
    wanted = failing | set(rows)
    record_of = dict(RecordLink.objects.filter(system=system, entity_type=mapping.entity_type,
                                               external_id__in=list(wanted)).values_list("external_id", "record_id"))
    now, new, changed = timezone.now(), [], []
    for external_id, (errors, fields) in reads.items():
        record_id = record_of.get(external_id)
        for field, reason in errors.items():
            value = _shown(mapper.vendor_value(fields, field))
            row = rows.get(external_id, {}).get(field)
            if row is None:
                new.append(HeldField(mapping=mapping, side=side, system=system, external_id=external_id,
                                     record_id=record_id, field=field, value=value, reason=reason, run=ctx.run,
                                     first_seen_at=now, last_seen_at=now))
            else:
                if row.cleared_at is not None:
                    row.first_seen_at, row.cleared_at, row.cleared_because = now, None, ""
                row.record_id, row.value, row.reason, row.run, row.last_seen_at = record_id, value, reason, ctx.run, now
                changed.append(row)
            ctx.count("held")
            ctx.event(SyncEventKind.HELD, record_id=record_id, side=side, external_id=external_id, field=field,
                      message=f"held: {reason} (the rest of the record flows; {field} is left as it is)",
                      data={"value": value})
        for field, row in rows.get(external_id, {}).items():
            if row.cleared_at is None and field not in errors:
                row.cleared_at, row.cleared_because, row.last_seen_at = now, CLEARED, now
                row.record_id = record_id or row.record_id
                changed.append(row)
    insert_many(HeldField, new)
    update_many(HeldField, changed, ["record_id", "value", "reason", "run", "first_seen_at", "last_seen_at",
                                     "cleared_at", "cleared_because"])


def open_fields(mapping, record_ids: list[int]) -> dict[tuple[int, str], set[str]]:
    """(record id, side) -> its fields held now. The pull's verdict stands even where the stored copy of the vendor
    record reads cleanly (a NUL character cannot be stored, so the copy holds U+FFFD instead)."""
    held: dict[tuple[int, str], set[str]] = {}
    for record_id, side, field in HeldField.objects.filter(mapping=mapping, record_id__in=record_ids,
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
