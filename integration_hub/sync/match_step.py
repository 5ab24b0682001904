"""The match step: which golden record a vendor record no link knows is. First the mapping's match keys (an
index, see integration_hub.records.matching), then the duplicate screen (ports.py) for what no key matched: a
record that may be one already known (in the other system, or a copy within its own) waits for a person instead
of being created.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from integration_hub.records import matching
from integration_hub.records.models import RecordLink
from integration_hub.sync.models import SyncEventKind
from integration_hub.sync.ports import Verdict
from integration_hub.sync.rules import CompiledMapping
from integration_hub.sync.run_context import RunContext
from mapping.models import CreatePolicy

if TYPE_CHECKING:
    from integration_hub.sync.pull import ReadRecord


def by_keys(compiled: CompiledMapping, side: str, values_by_id: dict[str, dict]) -> dict[str, int]:
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


def screen_duplicates(ctx: RunContext, side: str, new: Mapping[str, ReadRecord], values_by_id: dict[str, dict],
                      matched: dict[str, int]) -> set[str]:
    """Records no key matched go through the duplicate screen, a page at a time: a near-certain match is linked
    (added to `matched`, and logged); a likely one, a copy of a record this side already has, and a copy of a
    record read before it in the page wait in the duplicate queue instead of becoming new records (and so are
    never created in the other system meanwhile). Returns the records held for the queue."""
    system, entity = ctx.compiled.system(side), ctx.compiled.mapping.entity_type
    unmatched = {external_id: values_by_id[external_id] for external_id in new if external_id not in matched}
    if not unmatched:
        return set()
    creates = getattr(ctx.compiled.mapping, f"{side}_creates") != CreatePolicy.NEVER
    screenings = ctx.duplicates.screen_many(entity_type=entity, system=system, records=unmatched, creates=creates)
    held: set[str] = set()
    taken = set(matched.values())
    for external_id, screening in screenings.items():
        if screening.verdict == Verdict.NEW:
            continue
        if screening.verdict == Verdict.LINK and screening.record.pk not in taken:
            matched[external_id] = screening.record.pk
            taken.add(screening.record.pk)
            ctx.count("linked")
            ctx.event(SyncEventKind.LINKED, record=screening.record, side=side, external_id=external_id,
                      message=screening.message, data={"evidence": screening.evidence})
            continue
        read = new[external_id]
        ctx.duplicates.hold_for_review(screening, entity_type=entity, system=system, external_id=external_id,
                                       values=values_by_id[external_id], remote_values=read.fields,
                                       remote_updated_at=read.remote.updated_at)
        held.add(external_id)
        why = screening.message if screening.verdict != Verdict.LINK else (
            f"its near-certain match {screening.record} is linked to another {system.name} record "
            f"(a duplicate within {system.name}?)")
        ctx.count("unlinked")
        ctx.event(SyncEventKind.UNLINKED, side=side, external_id=external_id,
                  message=f"held for the duplicate queue, not created: {why}", data={"evidence": screening.evidence})
    return held
