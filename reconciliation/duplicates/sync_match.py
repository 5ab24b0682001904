"""The sync's match step: a record the sync could not link by id or match key, scored against the golden records
sharing a blocking key (near-certain: linked; likely: held in the duplicate queue for a person)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count

from connectors.models import ConnectedSystem
from integration_hub.records.models import Record, RecordLink
from reconciliation.duplicates import index, scoring
from reconciliation.duplicates.models import (
    BlockingKey,
    CandidateKind,
    CandidateSource,
    CandidateStatus,
    DuplicateCandidate,
    DuplicatePair,
    Merge,
    MergeStatus,
)
from reconciliation.duplicates.services import profile


@dataclass(frozen=True)
class MatchCandidate:
    record: Record
    score: float
    evidence: list[dict[str, Any]] = field(compare=False)


@dataclass
class MatchDecision:
    """What the sync should do with a record it could not link by id or match key.

    ``action``: "link" (near-certain: link to ``record`` and log ``message``), "review" (likely: hold it and
    queue it with ``queue_for_review``), "held" (already waiting in the queue: hold it again), "new" (no
    likely match: create as the mapping says)."""

    action: str
    record: Record | None
    candidates: list[MatchCandidate]
    message: str = ""
    pending: DuplicateCandidate | None = None

    @property
    def best(self) -> MatchCandidate | None:
        return self.candidates[0] if self.candidates else None


LOOKUP_LIMIT = 50


def match_for_sync(entity_type: str, values: dict[str, Any], *, exclude_linked_in_system_id: int | None = None,
                   system_id: int | None = None, external_id: str | None = None) -> MatchDecision:
    """Score the golden records that share a blocking key with ``values`` (an index look-up, never a table
    scan; at most LOOKUP_LIMIT records, those sharing most keys first). Records linked in
    ``exclude_linked_in_system_id`` (the side being read already has its own record there) and records
    merged away are left out. Two near-certain matches are never linked automatically: a person decides."""
    if entity_type not in scoring.PROFILES:
        return MatchDecision("new", None, [], "no duplicate detection for this entity")
    if system_id is not None and external_id:
        pending = DuplicateCandidate.objects.filter(entity_type=entity_type, status=CandidateStatus.OPEN,
                                                    incoming_system_id=system_id,
                                                    incoming_external_id=str(external_id)).first()
        if pending is not None:
            return MatchDecision("held", None, [], f"waiting in the duplicate queue (#{pending.pk})", pending)
    scoring_profile = profile(entity_type)
    prepared = scoring_profile.prepare(values)
    keys = index.keys_for(entity_type, values)
    if not keys:
        return MatchDecision("new", None, [], "nothing to match on")
    hits = BlockingKey.objects.filter(entity_type=entity_type, key__in=list(keys))
    ids = list(hits.values("record_id").annotate(shared=Count("id")).order_by("-shared", "record_id")
               .values_list("record_id", flat=True)[:LOOKUP_LIMIT * 4])
    if exclude_linked_in_system_id is not None and ids:
        # Filtered after the look-up: excluding in SQL would read every link of the system on each call.
        linked = set(RecordLink.objects.filter(system_id=exclude_linked_in_system_id, entity_type=entity_type,
                                               record_id__in=ids).values_list("record_id", flat=True))
        ids = [i for i in ids if i not in linked]
    ids = ids[:LOOKUP_LIMIT]
    gone = set(Merge.absorbed.through.objects.filter(record_id__in=ids, merge__status=MergeStatus.DONE)
               .values_list("record_id", flat=True))
    scored = []
    for record in Record.objects.filter(pk__in=[i for i in ids if i not in gone]):
        value, evidence = scoring.evidence(scoring_profile, prepared, scoring_profile.prepare(record.values))
        if value >= scoring_profile.lower:
            scored.append(MatchCandidate(record, value, evidence))
    scored.sort(key=lambda c: (-c.score, c.record.pk))
    if not scored:
        return MatchDecision("new", None, [], "no likely duplicate")
    best = scored[0]
    sure = [c for c in scored if c.score >= scoring_profile.upper]
    if len(sure) == 1:
        return MatchDecision("link", best.record, scored,
                             f"linked to {best.record} by duplicate score {best.score:.3f} "
                             f"(near-certain at {scoring_profile.upper})")
    why = (f"{len(sure)} near-certain matches" if sure else
           f"likely duplicate of {best.record} (score {best.score:.3f})")
    return MatchDecision("review", None, scored, why)


@transaction.atomic
def queue_for_review(*, entity_type: str, system: ConnectedSystem, external_id: str, values: dict[str, Any],
                     decision: MatchDecision, remote_values: dict[str, Any] | None = None,
                     remote_updated_at=None) -> DuplicateCandidate:
    """Hold a record the sync read (and did not create) in the queue with its likely matches; the same record
    read again updates its waiting entry."""
    fingerprint = f"in:{system.pk}:{external_id}"[:300]
    best = decision.candidates[0].score if decision.candidates else 0.0
    candidate = DuplicateCandidate.objects.filter(entity_type=entity_type, fingerprint=fingerprint,
                                                  status=CandidateStatus.OPEN).first()
    fields = {"score": best, "incoming_values": values, "incoming_remote": remote_values or {},
              "incoming_updated_at": remote_updated_at, "note": decision.message[:300]}
    if candidate is None:
        candidate = DuplicateCandidate.objects.create(
            entity_type=entity_type, kind=CandidateKind.INCOMING, source=CandidateSource.SYNC,
            fingerprint=fingerprint, incoming_system=system, incoming_external_id=str(external_id), **fields)
    else:
        for name, value in fields.items():
            setattr(candidate, name, value)
        candidate.save()
        candidate.pairs.all().delete()
    candidate.records.set([c.record for c in decision.candidates])
    DuplicatePair.objects.bulk_create([DuplicatePair(candidate=candidate, left=None, right=c.record, score=c.score,
                                                     evidence=c.evidence) for c in decision.candidates])
    return candidate
