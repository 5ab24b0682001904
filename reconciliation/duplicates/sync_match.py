"""The sync's duplicate screen: vendor records new on one side (no link, no match key placed them), scored against
the golden records sharing a blocking key with them, linked or not, and against each other.

A near-certain match to a golden record the side being read has no record for is linked. A likely one waits in
the queue, and so does every match to a golden record that side already has a record for (a copy within the
system: linking it would give the record two identities there, creating it would copy it into the other system).
Among records read in the same batch, one that resembles a record read before it waits beside that one's new
golden record instead of becoming another (``complete_waiting`` puts it there once the sync has created it).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from connectors.models import ConnectedSystem
from integration_hub.records.models import Record, RecordLink
from reconciliation.duplicates import blocking, scoring
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
    linked_here: str = ""  # its external id in the system being read, when it has one there


@dataclass
class MatchDecision:
    """What the sync should do with a record it could not link by id or match key.

    ``action``: "link" (near-certain: link to ``record`` and log ``message``), "review" (likely: hold it and
    queue it with ``queue_for_review``), "held" (already waiting in the queue: hold it again, its entry
    refreshed), "new" (no likely match: create as the mapping says). ``copy_of``: the external id of a record
    read before it in the same batch that it likely duplicates (no golden record to show beside it yet)."""

    action: str
    record: Record | None
    candidates: list[MatchCandidate]
    message: str = ""
    pending: DuplicateCandidate | None = None
    copy_of: str = ""
    copy_score: float = 0.0
    copy_evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> MatchCandidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def evidence(self) -> list[dict[str, Any]]:
        """The best match's evidence, per feature."""
        return self.best.evidence if self.best else self.copy_evidence


LOOKUP_LIMIT = 50  # golden records scored per vendor record: those sharing most blocking keys
KEY_CHUNK = 500


def match_for_sync(entity_type: str, values: dict[str, Any], *, system: ConnectedSystem | None = None,
                   external_id: str = "") -> MatchDecision:
    """One vendor record through the screen (see ``match_many``)."""
    return match_many(entity_type, {external_id: values}, system=system)[external_id]


def match_many(entity_type: str, values_by_id: dict[str, dict[str, Any]], *, system: ConnectedSystem | None = None,
               creates: bool = False) -> dict[str, MatchDecision]:
    """The screen's decision for each vendor record of a batch (external id -> canonical values, in the order
    read) from ``system``: a few index look-ups for the whole batch, never a table scan. Records merged away
    are left out. Two near-certain matches are never linked automatically: a person decides. ``creates``: the
    side's new records become golden records, so a record resembling one read before it in the batch is held."""
    if entity_type not in scoring.PROFILES:
        return {external_id: MatchDecision("new", None, [], "no duplicate detection for this entity")
                for external_id in values_by_id}
    scoring_profile = profile(entity_type)
    prepared = {external_id: scoring_profile.prepare(values) for external_id, values in values_by_id.items()}
    keys = {external_id: blocking.blocking_keys(entity_type, p) for external_id, p in prepared.items()}
    pending = _waiting(entity_type, system, values_by_id)
    nearest = _look_up(entity_type, keys)
    wanted = {record_id for ids in nearest.values() for record_id in ids}
    records = Record.objects.in_bulk(list(wanted - _merged_away(wanted))) if wanted else {}
    here = _linked_here(system, entity_type, records)
    golden: dict[int, scoring.Prepared] = {}
    batch = _Batch(scoring_profile, system)
    decisions = {}
    for external_id in values_by_id:
        scored = []
        for record_id in nearest.get(external_id, ()):
            record = records.get(record_id)
            if record is None:
                continue
            if record_id not in golden:
                golden[record_id] = scoring_profile.prepare(record.values)
            value, evidence = scoring.evidence(scoring_profile, prepared[external_id], golden[record_id])
            if value >= scoring_profile.lower:
                scored.append(MatchCandidate(record, value, evidence, here.get(record_id, "")))
        scored.sort(key=lambda c: (-c.score, c.record.pk))
        if not keys[external_id]:
            decision = MatchDecision("new", None, [], "nothing to match on")
        else:
            decision = _decide(scored, scoring_profile, system)
        if external_id in pending:
            candidate = pending[external_id]
            decision = MatchDecision("held", None, scored, f"read again while it waits for a person (duplicate "
                                                           f"#{candidate.pk})", candidate)
        elif decision.action == "new" and creates and keys[external_id]:
            decision = batch.copy_or_lead(external_id, prepared[external_id], keys[external_id])
        decisions[external_id] = decision
    return decisions


def _decide(scored: list[MatchCandidate], scoring_profile: scoring.Profile,
            system: ConnectedSystem | None) -> MatchDecision:
    if not scored:
        return MatchDecision("new", None, [], "no likely duplicate")
    best = scored[0]
    sure = [c for c in scored if c.score >= scoring_profile.upper]
    if len(sure) == 1 and not sure[0].linked_here:
        return MatchDecision("link", best.record, scored,
                             f"linked to {best.record} by duplicate score {best.score:.3f} "
                             f"(near-certain at {scoring_profile.upper})")
    if len(sure) > 1:
        why = f"{len(sure)} near-certain matches"
    else:
        how = "near-certain" if best.score >= scoring_profile.upper else "likely"
        why = f"{how} duplicate of {best.record} (score {best.score:.3f})"
        if best.linked_here:
            why += f", already in {system.name} as {best.linked_here}: a copy within {system.name}"
    return MatchDecision("review", None, scored, why)


class _Batch:
    """The records of one batch that will become golden records, by blocking key, to hold their copies."""

    def __init__(self, scoring_profile: scoring.Profile, system: ConnectedSystem | None) -> None:
        self.profile, self.system = scoring_profile, system
        self.leads: dict[str, scoring.Prepared] = {}
        self.by_key: dict[str, list[str]] = defaultdict(list)

    def copy_or_lead(self, external_id: str, prepared: scoring.Prepared, keys: set[str]) -> MatchDecision:
        shared = Counter(lead for key in keys for lead in self.by_key.get(key, ()))
        best_id, best = "", 0.0
        for lead, _ in sorted(shared.items(), key=lambda item: -item[1])[:LOOKUP_LIMIT]:
            value = scoring.score(self.profile, prepared, self.leads[lead])
            if value > best:
                best_id, best = lead, value
        if best >= self.profile.lower:
            name = self.system.name if self.system else "its system"
            _, evidence = scoring.evidence(self.profile, prepared, self.leads[best_id])
            return MatchDecision("review", None, [], f"likely duplicate of {name} record {best_id}, read in the same "
                                                     f"sync (score {best:.3f})", copy_of=best_id, copy_score=best,
                                 copy_evidence=evidence)
        self.leads[external_id] = prepared
        for key in keys:
            self.by_key[key].append(external_id)
        return MatchDecision("new", None, [], "no likely duplicate")


def _waiting(entity_type: str, system: ConnectedSystem | None,
             values_by_id: dict[str, Any]) -> dict[str, DuplicateCandidate]:
    """The batch's records already waiting in the queue, by external id."""
    ids = [str(external_id) for external_id in values_by_id if external_id]
    if system is None or not ids:
        return {}
    return {c.incoming_external_id: c for c in DuplicateCandidate.objects.filter(
        entity_type=entity_type, status=CandidateStatus.OPEN, incoming_system=system, incoming_external_id__in=ids)}


def _look_up(entity_type: str, keys: dict[str, set[str]]) -> dict[str, list[int]]:
    """external id -> the golden records sharing most blocking keys with it (at most LOOKUP_LIMIT)."""
    wanted = sorted({key for ks in keys.values() for key in ks})
    holders: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(wanted), KEY_CHUNK):
        for key, record_id in BlockingKey.objects.filter(entity_type=entity_type,
                                                         key__in=wanted[start:start + KEY_CHUNK]) \
                .values_list("key", "record_id"):
            holders[key].append(record_id)
    nearest = {}
    for external_id, ks in keys.items():
        shared = Counter(record_id for key in ks for record_id in holders.get(key, ()))
        nearest[external_id] = [record_id for record_id, _ in sorted(shared.items(), key=lambda i: (-i[1], i[0]))
                                [:LOOKUP_LIMIT]]
    return nearest


def _merged_away(ids: set[int]) -> set[int]:
    return set(Merge.absorbed.through.objects.filter(record_id__in=list(ids), merge__status=MergeStatus.DONE)
               .values_list("record_id", flat=True))


def _linked_here(system: ConnectedSystem | None, entity_type: str, records: dict[int, Record]) -> dict[int, str]:
    """record id -> its external id in ``system``, for the records the system already has."""
    if system is None or not records:
        return {}
    return dict(RecordLink.objects.filter(system=system, entity_type=entity_type, record_id__in=list(records))
                .order_by("-pk").values_list("record_id", "external_id"))


@transaction.atomic
def queue_for_review(*, entity_type: str, system: ConnectedSystem, external_id: str, values: dict[str, Any],
                     decision: MatchDecision, remote_values: dict[str, Any] | None = None,
                     remote_updated_at=None) -> DuplicateCandidate:
    """Hold a record the sync read (and did not create) in the queue with its likely matches; the same record
    read again refreshes its waiting entry (its values, and its matches when it still has some). A copy of a
    record read in the same batch waits without matches until that one's golden record exists
    (``complete_waiting``)."""
    fingerprint = f"in:{system.pk}:{external_id}"[:300]
    best = decision.candidates[0].score if decision.candidates else decision.copy_score
    candidate = DuplicateCandidate.objects.filter(entity_type=entity_type, fingerprint=fingerprint,
                                                  status=CandidateStatus.OPEN).first()
    fields = {"incoming_values": values, "incoming_remote": remote_values or {},
              "incoming_updated_at": remote_updated_at}
    if candidate is None:
        candidate = DuplicateCandidate.objects.create(
            entity_type=entity_type, kind=CandidateKind.INCOMING, source=CandidateSource.SYNC, score=best,
            fingerprint=fingerprint, incoming_system=system, incoming_external_id=str(external_id),
            note=decision.message[:300], **fields)
    else:
        for name, value in fields.items():
            setattr(candidate, name, value)
        if decision.candidates:
            candidate.score = best
        candidate.save()
        if not decision.candidates:
            return candidate
    _set_matches(candidate, [(c.record, c.score, c.evidence) for c in decision.candidates])
    return candidate


def waiting_beside(system: ConnectedSystem, record_ids: list[int]) -> dict[int, str]:
    """record id -> why it waits: a record of ``system`` held in the queue may be it (its create there waits)."""
    rows = (DuplicateCandidate.records.through.objects
            .filter(record_id__in=record_ids, duplicatecandidate__status=CandidateStatus.OPEN,
                    duplicatecandidate__incoming_system=system)
            .order_by("duplicatecandidate_id")
            .values_list("record_id", "duplicatecandidate_id", "duplicatecandidate__incoming_external_id"))
    waiting: dict[int, str] = {}
    for record_id, candidate_id, external_id in rows:
        waiting.setdefault(record_id, f"{system.name} record {external_id} may be this one: it waits in the "
                                      f"duplicate queue (#{candidate_id})")
    return waiting


def _set_matches(candidate: DuplicateCandidate, matches: list[tuple[Record, float, list[dict[str, Any]]]]) -> None:
    candidate.pairs.all().delete()
    candidate.records.set([record for record, _, _ in matches])
    DuplicatePair.objects.bulk_create([DuplicatePair(candidate=candidate, left=None, right=record, score=score,
                                                     evidence=evidence) for record, score, evidence in matches])


def complete_waiting(entity_type: str, created: Iterable[Record]) -> int:
    """Golden records the sync just created: the records it held as copies of them (read in the same batch,
    queued with no golden record to show beside them yet) get them as their likely matches, with the evidence.
    Called in the sync's transaction, so a held copy never waits without its match. Returns candidates completed."""
    waiting = list(DuplicateCandidate.objects.filter(entity_type=entity_type, status=CandidateStatus.OPEN,
                                                     source=CandidateSource.SYNC, records__isnull=True))
    if not waiting or entity_type not in scoring.PROFILES:
        return 0
    scoring_profile = profile(entity_type)
    by_key: dict[str, list[Record]] = defaultdict(list)
    prepared: dict[int, scoring.Prepared] = {}
    for record in created:
        prepared[record.pk] = scoring_profile.prepare(record.values)
        for key in blocking.blocking_keys(entity_type, prepared[record.pk]):
            by_key[key].append(record)
    completed = 0
    for candidate in waiting:
        mine = scoring_profile.prepare(candidate.incoming_values)
        near = {r.pk: r for key in blocking.blocking_keys(entity_type, mine) for r in by_key.get(key, ())}
        matches = []
        for record in near.values():
            value, evidence = scoring.evidence(scoring_profile, mine, prepared[record.pk])
            if value >= scoring_profile.lower:
                matches.append((record, value, evidence))
        if matches:
            matches.sort(key=lambda m: (-m[1], m[0].pk))
            candidate.score = matches[0][1]
            candidate.save(update_fields=["score", "updated_at"])
            _set_matches(candidate, matches)
            completed += 1
    return completed
