"""The full duplicate scan: every golden record of an entity scored against the ones sharing a blocking key,
the clusters found stored as candidates (found again: updated; no longer found: stale)."""
from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integration_hub.kernel import audit
from integration_hub.records.models import LinkStatus, Record, RecordLink
from reconciliation.duplicates import index, matching
from reconciliation.duplicates.models import (
    BlockingKey,
    CandidateKind,
    CandidateSource,
    CandidateStatus,
    DuplicateCandidate,
    DuplicatePair,
)
from reconciliation.duplicates.services import absorbed_ids, not_duplicate_pairs, profile


@dataclass
class ScanSummary:
    entity_type: str
    records: int = 0
    compared: int = 0
    clusters: int = 0
    created: int = 0
    updated: int = 0
    stale: int = 0
    seconds: float = 0.0
    index_added: int = 0
    index_removed: int = 0

    def __str__(self) -> str:
        return (f"{self.entity_type}: {self.records} records, {self.compared} pairs compared, {self.clusters} "
                f"clusters ({self.created} new, {self.updated} still open, {self.stale} no longer found) "
                f"in {self.seconds:.1f} s")


Progress = Callable[[str, int, int], None]


def duplicates_scan(*, entity_type: str, progress: Progress | None = None) -> ScanSummary:
    """Scan every golden record of an entity: refresh the blocking index, propose new clusters, update the
    open ones it finds again, and mark open ones it no longer finds as stale. Decided pairs stay decided."""
    started = time.perf_counter()
    scoring_profile = profile(entity_type)
    skip = absorbed_ids(entity_type)
    rows = [(pk, values) for pk, values in Record.objects.filter(entity_type=entity_type).order_by("pk")
            .values_list("pk", "values").iterator(chunk_size=2000) if pk not in skip]
    result = matching.scan(entity_type, rows, profile=scoring_profile, exclude=not_duplicate_pairs(entity_type),
                           with_evidence=True, progress=progress, keep_keys=True)
    summary = ScanSummary(entity_type=entity_type, records=len(rows), compared=result.counts.get("pairs", 0),
                          clusters=len(result.clusters))
    if progress:
        progress("saving", 0, len(result.clusters))
    summary.index_added, summary.index_removed = index.store_keys(entity_type, result.keys)
    BlockingKey.objects.filter(entity_type=entity_type, record_id__in=list(skip)).delete()
    with audit.acting_as(audit.current_actor() if audit.current() else "duplicate-scan",
                         reason=f"duplicate scan of {entity_type}s"):
        _store_clusters(entity_type, result, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _store_clusters(entity_type: str, result: matching.ScanResult, summary: ScanSummary) -> None:
    """Save what the scan found in a few bulk statements: a cluster found again with the same pairs and
    scores is left alone, one whose pairs changed gets them replaced, a new one is created."""
    pairs_by_member: dict[int, list[matching.ScoredPair]] = defaultdict(list)
    for pair in result.pairs:
        pairs_by_member[pair.left].append(pair)
    systems = _active_systems({m for cluster in result.clusters for m in cluster})
    open_now = {c.fingerprint: c for c in DuplicateCandidate.objects.filter(
        entity_type=entity_type, status=CandidateStatus.OPEN, source=CandidateSource.SCAN)}
    stored: dict[int, set[tuple[int, int, float]]] = defaultdict(set)
    for candidate_id, left, right, score in DuplicatePair.objects.filter(
            candidate__in=list(open_now.values())).values_list("candidate_id", "left_id", "right_id", "score"):
        stored[candidate_id].add((left, right, round(score, 9)))
    seen: set[str] = set()
    new: list[tuple[DuplicateCandidate, list[int], list[matching.ScoredPair]]] = []
    changed: list[tuple[DuplicateCandidate, list[matching.ScoredPair]]] = []
    now = timezone.now()
    for members in result.clusters:
        pairs = [p for m in members for p in pairs_by_member.get(m, ())]
        fingerprint = _fingerprint(members)
        seen.add(fingerprint)
        best = max(p.score for p in pairs)
        kind = _kind(members, systems)
        existing = open_now.get(fingerprint)
        if existing is None:
            new.append((DuplicateCandidate(entity_type=entity_type, kind=kind, score=best, fingerprint=fingerprint),
                        members, pairs))
            continue
        summary.updated += 1
        if stored[existing.pk] != {(p.left, p.right, round(p.score, 9)) for p in pairs} or existing.kind != kind:
            existing.score, existing.kind, existing.updated_at = best, kind, now
            changed.append((existing, pairs))
    with transaction.atomic():
        if changed:
            DuplicateCandidate.objects.bulk_update([c for c, _ in changed], ["score", "kind", "updated_at"],
                                                   batch_size=1000)
            DuplicatePair.objects.filter(candidate__in=[c for c, _ in changed]).delete()
            DuplicatePair.objects.bulk_create([row for c, pairs in changed for row in _pair_rows(c, pairs)],
                                              batch_size=2000)
        created = DuplicateCandidate.objects.bulk_create([c for c, _, _ in new], batch_size=1000)
        summary.created = len(created)
        through = DuplicateCandidate.records.through
        through.objects.bulk_create([through(duplicatecandidate_id=c.pk, record_id=m)
                                     for c, (_, members, _) in zip(created, new, strict=True) for m in members],
                                    batch_size=5000)
        DuplicatePair.objects.bulk_create([row for c, (_, _, pairs) in zip(created, new, strict=True)
                                           for row in _pair_rows(c, pairs)], batch_size=2000)
        gone = [c.pk for fp, c in open_now.items() if fp not in seen]
        summary.stale = DuplicateCandidate.objects.filter(pk__in=gone).update(
            status=CandidateStatus.STALE, note="no longer found by the latest scan", updated_at=now)


def _pair_rows(candidate: DuplicateCandidate, pairs: list[matching.ScoredPair]) -> list[DuplicatePair]:
    return [DuplicatePair(candidate=candidate, left_id=p.left, right_id=p.right, score=p.score, evidence=p.evidence)
            for p in pairs]


def _fingerprint(members: Iterable[int]) -> str:
    text = ",".join(str(m) for m in sorted(members))
    return text if len(text) <= 300 else "h:" + hashlib.sha256(text.encode()).hexdigest()


def _active_systems(record_ids: Iterable[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for record_id, system_id in RecordLink.objects.filter(record_id__in=list(record_ids), status=LinkStatus.ACTIVE) \
            .values_list("record_id", "system_id"):
        out[record_id].add(system_id)
    return out


def _kind(members: list[int], systems: dict[int, set[int]]) -> str:
    seen: set[int] = set()
    for member in members:
        if systems.get(member, set()) & seen:
            return CandidateKind.WITHIN
        seen |= systems.get(member, set())
    linked = [m for m in members if systems.get(m)]
    return CandidateKind.ACROSS if len(linked) >= 2 else CandidateKind.HUB
