"""What the sync holds instead of writing, and why: fields people hold (the conflict queue, ports.py), conflicts
the merge opens, and creates or lines that could only be made partial. Every hold is an event on the run and
the record page; a held create or line is replayable.
"""
from __future__ import annotations

from typing import Any

from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import documents
from integration_hub.sync.merge import ConflictSpec, SideState, same
from integration_hub.sync.models import SyncEventKind
from integration_hub.sync.run_context import RunContext
from mapping.reader import GoldenIds


def held_fields(ctx: RunContext, record_ids: list[int], states: dict[int, dict[str, SideState]]
                ) -> dict[int, set[str]]:
    """Fields no merge may decide: an open conflict waits for a person; a rejected one keeps the pair diverged
    for as long as both systems still hold the values the person rejected (a new edit is a new question)."""
    by_people = ctx.conflicts.held_by_people(record_ids)
    held = {record_id: set(fields) for record_id, fields in by_people.open.items()}
    for (record_id, field), values in by_people.rejected.items():
        sides = states.get(record_id, {})
        if sides and all(field in state.current and same(state.current[field], values[side])
                         for side, state in sides.items()):
            held.setdefault(record_id, set()).add(field)
    return held


def open_conflict(ctx: RunContext, record: Record, spec: ConflictSpec) -> None:
    """Hand a field both sides changed (or a queued non-owner edit) to a person, once."""
    compiled = ctx.compiled
    if not ctx.conflicts.open_conflict(record=record, mapping=compiled.mapping, rule_version=compiled.version,
                                       run=ctx.run, spec=spec):
        return
    ctx.count("conflicts")
    ctx.event(SyncEventKind.CONFLICT, record=record, field=spec.field, message=spec.reason,
              data={"crm": spec.crm_value, "erp": spec.erp_value, "base": spec.base})


def create_held(ctx: RunContext, record: Record, links: dict[str, RecordLink | None], target: str,
                values: dict[str, Any], current: dict[tuple[int, str], dict], translate: dict[str, GoldenIds],
                customers: dict, sides: dict[str, SideState], maybe_there: str | None = None) -> bool:
    """Hold a create that could only be made partial: a field the target requires whose value is held, a
    reference the hub cannot place (the customer, a line's item), or a document without lines or in the wrong
    currency -- or one that could make a second record there (`maybe_there`: a record of the target waiting in
    the duplicate queue may be this one). Nothing is queued; the event is replayable."""
    compiled = ctx.compiled
    source = "erp" if target == "crm" else "crm"
    writable = compiled.writable(target)
    required = writable & compiled.create_requires
    state = sides.get(source)
    reasons = [f"{field}: its value in {compiled.system(source).name} is held (see the record's held fields)"
               for field in sorted(state.held & required if state else ()) if values.get(field) is None]
    reasons += translate[source].unplaced(current.get((record.pk, source), {}), required)
    reasons += documents.create_problems(compiled, values, record.get_entity_type_display().lower(), writable,
                                         customers)
    reasons += documents.create_values(compiled, target, values)[1]
    if maybe_there:
        reasons.append(maybe_there)
    if reasons:
        hold_create(ctx, record, links.get(source), target, reasons)
    return bool(reasons)


def lines_held(ctx: RunContext, record: Record, links: dict[str, RecordLink | None],
               current: dict[tuple[int, str], dict], translate: dict[str, GoldenIds]) -> None:
    """A linked document whose lines one side changed to an item the hub cannot place: its lines wait (the rest
    of the document still flows), with the reason on the run and the record page; replayable."""
    for side, link in links.items():
        for reason in translate[side].unplaced(current.get((record.pk, side), {}), set(ctx.compiled.line_fields)):
            ctx.count("failed")
            ctx.event(SyncEventKind.FAILED, record=record, side=side, external_id=link.external_id,
                      field=reason.split(":", 1)[0], message=f"held: {reason}")


def hold_create(ctx: RunContext, record: Record, source_link: RecordLink | None, target: str,
                reasons: list[str]) -> None:
    """A replayable event on the source side's record (a replay reads it again and retries the create)."""
    source = "erp" if target == "crm" else "crm"
    ctx.count("failed")
    ctx.event(SyncEventKind.FAILED, record=record, side=source,
              external_id=source_link.external_id if source_link else "",
              message=f"held: not created in {ctx.compiled.system(target).name} until fixed: {'; '.join(reasons)}",
              data={"target": target, "reasons": reasons})
