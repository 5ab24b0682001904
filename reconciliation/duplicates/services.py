"""Write paths for duplicates: the full scan, the sync's match step, dismiss/skip, merge with survivorship,
its pushes to each system, and undo. Pages, the API, commands and tasks all call these."""
from __future__ import annotations

import copy
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from connectors.models import ConnectedSystem, RolloutStage
from connectors.registry import capabilities
from integration_hub.kernel import audit
from integration_hub.kernel.references import golden_id, has_golden_prefix, record_id_of
from integration_hub.records import services as hub
from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync.merge import is_empty
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncEvent
from reconciliation.conflicts.models import Conflict, ConflictStatus
from reconciliation.duplicates import index, matching, scoring
from reconciliation.duplicates.models import (
    BlockingKey,
    CandidateKind,
    CandidateSource,
    CandidateStatus,
    DuplicateCandidate,
    DuplicatePair,
    EffectKind,
    EffectStatus,
    Merge,
    MergeEffect,
    MergeStatus,
    NotDuplicate,
)


class DuplicateError(Exception):
    """A duplicate action that cannot be done as asked; the message says why, for a person."""


def profile(entity_type: str) -> scoring.Profile:
    """The entity's scoring profile with the weights and thresholds tuned in settings.DUPLICATES."""
    tuned = (getattr(settings, "DUPLICATES", {}) or {}).get("profiles", {}).get(entity_type)
    return scoring.profile_for(entity_type, tuned)


def undo_window() -> timedelta:
    return timedelta(hours=(getattr(settings, "DUPLICATES", {}) or {}).get("undo_window_hours", 72))


def absorbed_ids(entity_type: str | None = None) -> set[int]:
    """Records merged away (by a merge not undone): never scanned or matched again."""
    rows = Merge.absorbed.through.objects.filter(merge__status=MergeStatus.DONE)
    if entity_type:
        rows = rows.filter(merge__entity_type=entity_type)
    return set(rows.values_list("record_id", flat=True))


def not_duplicate_pairs(entity_type: str) -> set[tuple[int, int]]:
    return set(NotDuplicate.objects.filter(low__entity_type=entity_type).values_list("low_id", "high_id"))


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


# --- the full scan -------------------------------------------------------------------------------

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


# --- the sync's match step -------------------------------------------------------------------------

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


# --- dismiss, skip ---------------------------------------------------------------------------------

def _open(candidate: DuplicateCandidate) -> DuplicateCandidate:
    fresh = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if fresh.status != CandidateStatus.OPEN:
        raise DuplicateError(f"{fresh} is already {fresh.get_status_display().lower()}.")
    return fresh


def _remember_not_duplicates(record_ids: list[int], user, candidate: DuplicateCandidate) -> int:
    made = 0
    ordered = sorted(set(record_ids))
    for i, low in enumerate(ordered):
        for high in ordered[i + 1:]:
            _, created = NotDuplicate.objects.get_or_create(low_id=low, high_id=high,
                                                            defaults={"decided_by": user, "candidate": candidate})
            made += created
    return made


@transaction.atomic
def candidate_dismiss(*, candidate: DuplicateCandidate, user) -> DuplicateCandidate:
    """"Not a duplicate": remembered for every pair of its records, never proposed together again. A record
    the sync held becomes a golden record of its own (linked, merged at the next sync), as it would have."""
    candidate = _open(candidate)
    members = list(candidate.records.values_list("pk", flat=True))
    if candidate.is_incoming:
        try:
            record = _create_from_incoming(candidate)
        except ValueError as exc:
            raise DuplicateError(str(exc)) from None
        members.append(record.pk)
        for other in members[:-1]:
            _remember_not_duplicates([record.pk, other], user, candidate)
    else:
        _remember_not_duplicates(members, user, candidate)
    candidate.status, candidate.decided_by, candidate.decided_at = CandidateStatus.DISMISSED, user, timezone.now()
    candidate._change_reason = "not a duplicate"
    candidate.save()
    return candidate


def _create_from_incoming(candidate: DuplicateCandidate) -> Record:
    system = candidate.incoming_system
    record = hub.record_create(entity_type=candidate.entity_type, values=candidate.incoming_values,
                               reason=f"new in {system.name}: not a duplicate (duplicate #{candidate.pk})",
                               source=hub.Source(system=system.slug))
    link = hub.record_link(record=record, system=system, external_id=candidate.incoming_external_id,
                           base_snapshot=dict(candidate.incoming_values), remote_values=candidate.incoming_remote,
                           remote_updated_at=candidate.incoming_updated_at)
    RecordLink.objects.filter(pk=link.pk).update(needs_merge=True)  # the next sync merges it as a new record
    return record


@transaction.atomic
def candidate_skip(*, candidate: DuplicateCandidate, user) -> DuplicateCandidate:
    """Decide later: the candidate stays open and moves behind the undecided ones."""
    candidate = _open(candidate)
    candidate.skipped_at = timezone.now()
    candidate._change_reason = f"skipped by {user.get_username()}"
    candidate.save(update_fields=["skipped_at", "updated_at"])
    return candidate


# --- survivorship ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldChoice:
    """The value a field takes in the merge: from which record, and why (the default's reason, or "chosen")."""

    field: str
    record_id: int | None
    value: Any
    reason: str


def field_owners(entity_type: str) -> dict[str, str]:
    """Canonical field -> its system of record ("crm" | "erp" | "shared") in the published rules."""
    from mapping.models import FieldRule

    owners: dict[str, str] = {}
    for name, owner in FieldRule.objects.filter(version__mapping__entity_type=entity_type,
                                                version__mapping__published_version__isnull=False) \
            .filter(version=F("version__mapping__published_version")) \
            .values_list("field", "system_of_record"):
        owners.setdefault(name, owner)
    return owners


def survivorship_defaults(*, records: list[Record], survivor: Record) -> dict[str, FieldChoice]:
    """Per field, the default value of the merged record: the system of record's value (a record linked in
    the owning system), else the most recent value (per-field provenance time), else the most complete
    record's; the survivor's own value wins ties."""
    owners = field_owners(survivor.entity_type)
    roles: dict[int, set[str]] = defaultdict(set)
    for record_id, role in RecordLink.objects.filter(record__in=records, status=LinkStatus.ACTIVE) \
            .values_list("record_id", "system__role"):
        roles[record_id].add(role)
    ordered = [survivor] + [r for r in records if r.pk != survivor.pk]
    completeness = {r.pk: sum(not is_empty(v) for v in r.values.values()) for r in ordered}
    fields = sorted({f for r in ordered for f in r.values})
    out: dict[str, FieldChoice] = {}
    for name in fields:
        having = [r for r in ordered if not is_empty(r.values.get(name))]
        if not having:
            out[name] = FieldChoice(name, survivor.pk, survivor.values.get(name), "no record has a value")
            continue
        if len(having) == 1:
            out[name] = FieldChoice(name, having[0].pk, having[0].values[name], "the only value")
            continue
        if len({repr(r.values[name]) for r in having}) == 1:
            out[name] = FieldChoice(name, having[0].pk, having[0].values[name],
                                    "the same in every record" if len(having) == len(ordered) else
                                    "the same wherever set")
            continue
        owner = owners.get(name, "")
        if owner in ("crm", "erp"):
            owned = [r for r in having if owner in roles[r.pk]]
            if owned:
                pick = _most_recent(owned, name)
                out[name] = FieldChoice(name, pick.pk, pick.values[name], f"{owner.upper()} owns it")
                continue
        if any(_when(r, name) for r in having):
            pick = _most_recent(having, name)
            out[name] = FieldChoice(name, pick.pk, pick.values[name], "most recent")
            continue
        pick = max(having, key=lambda r: completeness[r.pk])
        out[name] = FieldChoice(name, pick.pk, pick.values[name], "most complete record")
    return out


def _when(record: Record, name: str) -> str:
    return str((record.provenance.get(name) or {}).get("at") or "")


def _most_recent(records: list[Record], name: str) -> Record:
    best = records[0]
    for record in records[1:]:
        if _when(record, name) > _when(best, name):
            best = record
    return best


def resolve_choices(*, records: list[Record], survivor: Record,
                    overrides: dict[str, Any] | None = None) -> dict[str, FieldChoice]:
    """The defaults with a person's choices applied: ``{field: record id}`` takes that record's value,
    ``{field: {"value": v}}`` a value typed in."""
    choices = survivorship_defaults(records=records, survivor=survivor)
    by_id = {r.pk: r for r in records}
    for name, chosen in (overrides or {}).items():
        if isinstance(chosen, dict) and "value" in chosen:
            choice = FieldChoice(name, None, chosen["value"], "typed in")
        else:
            try:
                record = by_id[int(chosen)]
            except (KeyError, TypeError, ValueError):
                raise DuplicateError(f"{name}: choose one of the merged records ({', '.join(map(str, by_id))}), "
                                     f"not {chosen!r}.") from None
            choice = FieldChoice(name, record.pk, record.values.get(name), "chosen")
        if is_empty(choice.value) and any(not is_empty(r.values.get(name)) for r in records):
            raise DuplicateError(f"{name}: a merge keeps values, it never empties a field the records hold; "
                                 f"choose a record that has a value.")
        choices[name] = choice
    return choices


# --- merge ---------------------------------------------------------------------------------------

def _reference_fields(entity_type: str) -> list[str]:
    from integration_hub.sync.rules import REFERENCE_TARGETS

    return [name for name, target in REFERENCE_TARGETS.items() if target == entity_type]


def children_of(record: Record) -> list[tuple[Record, str]]:
    """Records whose reference fields point at ``record`` (contacts, deals, quotes, orders, invoices)."""
    fields = _reference_fields(record.entity_type)
    if not fields:
        return []
    token = golden_id(record.pk)
    query = Q()
    for name in fields:
        query |= Q(**{f"values__{name}": token})
    out = []
    for child in Record.objects.filter(query).order_by("pk"):
        out += [(child, name) for name in fields if child.values.get(name) == token]
    return out


@transaction.atomic
def candidate_merge(*, candidate: DuplicateCandidate, survivor: Record | int, user,
                    choices: dict[str, Any] | None = None, absorbed: list[int] | None = None) -> Merge | Record:
    """Merge a candidate. For records: ``survivor`` keeps its id and takes each field's chosen value; the
    others (all, or ``absorbed``) hand it their links, children and history. For a record the sync held:
    it is linked to ``survivor`` (the next sync merges its values field by field)."""
    candidate = _open(candidate)
    survivor_id = survivor.pk if isinstance(survivor, Record) else int(survivor)
    members = {r.pk: r for r in candidate.records.all()}
    if survivor_id not in members:
        raise DuplicateError(f"Record {survivor_id} is not part of {candidate}.")
    if candidate.is_incoming:
        try:
            link = hub.record_link(record=members[survivor_id], system=candidate.incoming_system,
                                   external_id=candidate.incoming_external_id, base_snapshot={},
                                   remote_values=candidate.incoming_remote,
                                   remote_updated_at=candidate.incoming_updated_at)
        except ValueError as exc:  # linked meanwhile (a sync, another person)
            raise DuplicateError(str(exc)) from None
        RecordLink.objects.filter(pk=link.pk).update(needs_merge=True)
        _close(candidate, CandidateStatus.MERGED, user, f"linked {candidate.incoming_system.name} "
                                                        f"{candidate.incoming_external_id} to record {survivor_id}")
        return members[survivor_id]
    absorbed_ids_ = [i for i in (absorbed or members) if i != survivor_id]
    if not absorbed_ids_ or any(i not in members for i in absorbed_ids_):
        raise DuplicateError("Choose at least one other record of this candidate to merge into the survivor.")
    merge = merge_records(survivor=members[survivor_id], absorbed=[members[i] for i in absorbed_ids_],
                          choices=choices, user=user, candidate=candidate)
    _close(candidate, CandidateStatus.MERGED, user, f"merged into record {survivor_id} (merge #{merge.pk})")
    return merge


def _close(candidate: DuplicateCandidate, status: str, user, reason: str) -> None:
    candidate.status, candidate.decided_by, candidate.decided_at = status, user, timezone.now()
    candidate._change_reason = reason
    candidate.save()


@transaction.atomic
def merge_records(*, survivor: Record, absorbed: list[Record], user, choices: dict[str, Any] | None = None,
                  candidate: DuplicateCandidate | None = None) -> Merge:
    """Merge ``absorbed`` into ``survivor``: survivorship per field, links moved (a second link in a system
    the survivor is already linked in is retired: the vendor merges it, or it is marked inactive with a
    reference to the survivor), child references moved, sync events moved, writes queued in the outbox.
    Everything it changed is kept in ``Merge.before`` for undo."""
    records = [survivor] + absorbed
    if len({r.entity_type for r in records}) != 1:
        raise DuplicateError("Only records of one entity type can be merged.")
    gone = absorbed_ids()
    if any(r.pk in gone for r in records):
        raise DuplicateError("A record in this merge was already merged away; undo that merge first.")
    survivor = Record.objects.select_for_update().get(pk=survivor.pk)
    resolved = resolve_choices(records=records, survivor=survivor, overrides=choices)
    # Only a field's owner empties it, in its own system: a merge never writes an empty value.
    changes = {name: c.value for name, c in resolved.items()
               if survivor.values.get(name) != c.value and not is_empty(c.value)}
    merge = Merge.objects.create(
        candidate=candidate, entity_type=survivor.entity_type, survivor=survivor, merged_by=user,
        undo_until=timezone.now() + undo_window(),
        choices={name: {"record": c.record_id, "value": c.value, "reason": c.reason} for name, c in resolved.items()},
        before={"values": copy.deepcopy(survivor.values), "changed": changes, "links": [], "children": [],
                "events": []})
    merge.absorbed.set(absorbed)
    label = ", ".join(f"#{r.pk}" for r in absorbed)
    with audit.acting_as(user.get_username() if user else "system", user=user,
                         reason=f"merge #{merge.pk}: records {label} merged into #{survivor.pk}"):
        if changes:
            hub.record_update_values(record=survivor, changes=changes,
                                     reason=f"merge #{merge.pk}: values chosen from records {label}")
        else:
            survivor._change_reason = f"merge #{merge.pk}: records {label} merged into this one"
            survivor.save()
        pushes = _move_links(merge, survivor, absorbed)
        _move_children(merge, survivor, absorbed)
        _queue_survivor_writes(merge, survivor, changes, pushes)
        for record in absorbed:
            record._change_reason = f"merge #{merge.pk}: merged into record #{survivor.pk}"
            record.save()
            BlockingKey.objects.filter(record=record).delete()
        moved = list(SyncEvent.objects.filter(record__in=absorbed).values_list("pk", "record_id"))
        SyncEvent.objects.filter(pk__in=[pk for pk, _ in moved]).update(record=survivor)
        merge.before["events"] = moved
        merge.before["conflicts"] = _close_conflicts(merge, survivor, absorbed)
        merge.save(update_fields=["before"])
        for other in DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN, records__in=absorbed) \
                .exclude(pk=getattr(candidate, "pk", None)).distinct():
            _close(other, CandidateStatus.STALE, user, f"record merged away by merge #{merge.pk}")
    transaction.on_commit(_dispatch_soon)
    return merge


def _close_conflicts(merge: Merge, survivor: Record, absorbed: list[Record]) -> list[int]:
    """An absorbed record's open conflicts leave the queue: the record is gone, and its systems' links now
    belong to the survivor, whose next sync compares their values again (a disagreement left is a new
    conflict, on the survivor). Returns their ids, reopened if the merge is undone."""
    closed = []
    for conflict in Conflict.objects.select_for_update().filter(record__in=absorbed, status=ConflictStatus.OPEN):
        conflict.status = ConflictStatus.SUPERSEDED
        conflict._change_reason = (f"merge #{merge.pk}: record #{conflict.record_id} merged into #{survivor.pk}; "
                                   f"its next sync compares the systems' values again")
        conflict.save(update_fields=["status"])
        closed.append(conflict.pk)
    return closed


def _undo_conflicts(merge: Merge) -> list[dict[str, Any]]:
    report = []
    for conflict in Conflict.objects.select_for_update().filter(pk__in=merge.before.get("conflicts", []),
                                                                 status=ConflictStatus.SUPERSEDED):
        if Conflict.objects.filter(record_id=conflict.record_id, field=conflict.field,
                                   status=ConflictStatus.OPEN).exists():
            report.append({"what": f"conflict #{conflict.pk} ({conflict.field}): another one is open, left closed",
                           "done": False})
            continue
        conflict.status = ConflictStatus.OPEN
        conflict._change_reason = f"undo of merge #{merge.pk}: open again"
        conflict.save(update_fields=["status"])
        report.append({"what": f"conflict #{conflict.pk} ({conflict.field}): open again", "done": True})
    return report


def _move_links(merge: Merge, survivor: Record, absorbed: list[Record]) -> list[RecordLink]:
    """Each absorbed link goes to the survivor; one in a system where the survivor is already linked is
    retired (status archived) with a vendor effect. Returns the links whose system now needs the survivor's
    values (links moved in as the survivor's identity there)."""
    active = {link.system_id: link for link in RecordLink.objects.filter(record=survivor, status=LinkStatus.ACTIVE)
              .select_related("system")}
    moved_in: list[RecordLink] = []
    for link in RecordLink.objects.filter(record__in=absorbed).select_related("system").order_by("pk"):
        was_active = link.status == LinkStatus.ACTIVE
        merge.before["links"].append({"id": link.pk, "record": link.record_id, "status": link.status,
                                      "system": link.system.name, "external_id": link.external_id,
                                      "retired": was_active and link.system_id in active})
        link.record = survivor
        if was_active and link.system_id not in active:
            active[link.system_id] = link
            moved_in.append(link)
            link._change_reason = f"merge #{merge.pk}: moved to record #{survivor.pk}"
            link.save(update_fields=["record"])
            continue
        if was_active:  # a second identity in a system where the survivor has one: retired
            link.status = LinkStatus.ARCHIVED
            link._change_reason = f"merge #{merge.pk}: merged into {active[link.system_id].external_id}"
        else:
            link._change_reason = f"merge #{merge.pk}: moved to record #{survivor.pk}"
        link.save(update_fields=["record", "status"])
        if was_active:
            _retire(merge, survivor, active[link.system_id], link)
    return moved_in


def _retire(merge: Merge, survivor: Record, keep: RecordLink, retired: RecordLink) -> None:
    """The vendor's merge call where it has one; else the absorbed record marked inactive pointing at the
    survivor; else (nothing the vendor offers) an effect telling a person what to do."""
    system = retired.system
    mapping_object = _vendor_object(system, merge.entity_type)
    common = {"merge": merge, "system": system, "vendor_object": mapping_object, "record": survivor,
              "survivor_external_id": keep.external_id, "absorbed_external_id": retired.external_id}
    stage_status = _stage_status(system)
    vendor = capabilities(system.vendor)
    if mapping_object in vendor.merge_objects:
        MergeEffect.objects.create(kind=EffectKind.VENDOR_MERGE, status=stage_status or EffectStatus.PENDING,
                                   message=f"{system.name}: merge {mapping_object} {retired.external_id} into "
                                           f"{keep.external_id}", **common)
        return
    if vendor.deactivation is not None:
        payload = {vendor.deactivation.flag: vendor.deactivation.inactive}
        note = vendor.note_field
        if note and merge.entity_type in ("account", "contact"):
            payload[note] = (f"Merged into {mapping_object} {keep.external_id} (Integration Hub record "
                             f"#{survivor.pk}, merge #{merge.pk})")
        outbound = _outbound(merge, survivor, retired, mapping_object, {}, payload, "deactivate")
        MergeEffect.objects.create(kind=EffectKind.DEACTIVATE, outbound=outbound,
                                   status=stage_status or EffectStatus.PENDING,
                                   message=f"{system.name}: {mapping_object} {retired.external_id} marked inactive, "
                                           f"pointing at {keep.external_id}", **common)
        return
    MergeEffect.objects.create(kind=EffectKind.MANUAL, status=EffectStatus.SKIPPED,
                               message=f"{system.name} can neither merge nor deactivate {mapping_object}: archive "
                                       f"{retired.external_id} there by hand (it duplicates {keep.external_id})",
                               **common)


def _stage_status(system: ConnectedSystem) -> str:
    """"" when the system takes writes; else the status an effect gets instead of being sent."""
    if system.rollout_stage == RolloutStage.READ_ONLY or (system.rollout_stage == RolloutStage.ONE_WAY
                                                          and system.role == "crm"):
        return EffectStatus.SKIPPED
    if system.rollout_stage == RolloutStage.SHADOW:
        return EffectStatus.SHADOW
    return ""


def _mapping_for(system: ConnectedSystem, entity_type: str):
    from mapping.models import ObjectMapping

    return ObjectMapping.objects.filter(Q(crm_system=system) | Q(erp_system=system), entity_type=entity_type) \
        .select_related("crm_system", "erp_system", "published_version").first()


def _vendor_object(system: ConnectedSystem, entity_type: str) -> str:
    mapping = _mapping_for(system, entity_type)
    if mapping is None:
        return entity_type
    return mapping.crm_object if mapping.crm_system_id == system.pk else mapping.erp_object


def _outbound(merge: Merge, record: Record, link: RecordLink, vendor_object: str, values: dict[str, Any],
              payload: dict[str, Any], purpose: str) -> OutboundChange | None:
    system = link.system
    status = _stage_status(system)
    if status == EffectStatus.SKIPPED:
        return None
    key = hashlib.sha256(f"duplicates:merge:{merge.pk}:{purpose}:{link.pk}:{record.pk}".encode()).hexdigest()
    return OutboundChange.objects.create(
        record=record, system=system, link=link, side=system.role, vendor_object=vendor_object, values=values,
        payload=payload, idempotency_key=key,
        status=OutboundStatus.SHADOW if status == EffectStatus.SHADOW else OutboundStatus.PENDING)


def _queue_values(merge: Merge, record: Record, link: RecordLink, values: dict[str, Any], purpose: str,
                  *, kind: str = EffectKind.UPDATE) -> MergeEffect | None:
    """Queue canonical values for one link through the published rules (only fields the rules write to that
    side; references translated to that system's ids, or left out while not linked there)."""
    from integration_hub.sync.rules import NothingPublished, compile_mapping

    mapping = _mapping_for(link.system, record.entity_type)
    if mapping is None or not values:
        return None
    try:
        compiled = compile_mapping(mapping)
    except NothingPublished:
        return None
    side = "crm" if mapping.crm_system_id == link.system_id else "erp"
    wanted = {f: v for f, v in values.items()
              if any(p.field == f and side in p.writes_to and side not in p.stopped for p in compiled.policies)}
    vendor_values = {}
    for name, value in wanted.items():
        if has_golden_prefix(value) and name in compiled.references:
            value = RecordLink.objects.filter(system=link.system, record_id=record_id_of(value),
                                              status=LinkStatus.ACTIVE).values_list("external_id", flat=True).first()
            if value is None:  # not linked in that system yet: left out, never written dangling
                continue
        vendor_values[name] = value
    wanted = {f: v for f, v in wanted.items() if f in vendor_values}
    if not wanted:
        return None
    mapper = compiled.mappers[side]
    converted = mapper.to_vendor(vendor_values)
    current = link.remote_values or {}
    lists = {k: copy.deepcopy(current[k]) for k, v in converted.values.items()
             if isinstance(v, list) and isinstance(current.get(k), list)}
    payload = dict(converted.values)
    if lists:  # a sublist the vendor replaces whole is sent as the current list with the changes applied
        merged = mapper.to_vendor(vendor_values, into=lists)
        payload.update({k: merged.values[k] for k in lists})
    sendable = {f: v for f, v in wanted.items() if f not in converted.errors}
    if not sendable or not payload:
        return None
    outbound = _outbound(merge, record, link, compiled.vendor_object(side), sendable, payload, purpose)
    return MergeEffect.objects.create(
        merge=merge, system=link.system, kind=kind, undo=purpose.startswith("undo"),
        vendor_object=compiled.vendor_object(side), record=record, survivor_external_id=link.external_id,
        outbound=outbound, status=_stage_status(link.system) or EffectStatus.PENDING,
        message=f"{link.system.name} {link.external_id}: write {', '.join(sorted(sendable))}")


def _queue_survivor_writes(merge: Merge, survivor: Record, changes: dict[str, Any],
                           moved_in: list[RecordLink]) -> None:
    """The survivor's systems get the merged values: its own links the fields the merge changed, a link
    moved in from an absorbed record every value that differs from what that system agreed on last."""
    moved_ids = {link.pk for link in moved_in}
    for link in RecordLink.objects.filter(record=survivor, status=LinkStatus.ACTIVE).select_related("system"):
        if link.pk in moved_ids:
            base = link.base_snapshot or {}
            values = {f: v for f, v in survivor.values.items() if base.get(f) != v and not is_empty(v)}
        else:
            values = changes
        _queue_values(merge, survivor, link, values, f"survivor:{link.pk}")


def _move_children(merge: Merge, survivor: Record, absorbed: list[Record]) -> None:
    token = golden_id(survivor.pk)
    for record in absorbed:
        for child, name in children_of(record):
            merge.before["children"].append({"record": child.pk, "field": name, "old": golden_id(record.pk),
                                             "new": token})
            hub.record_update_values(record=child, changes={name: token},
                                     reason=f"merge #{merge.pk}: its {record.entity_type} #{record.pk} was merged "
                                            f"into #{survivor.pk}")
            for link in RecordLink.objects.filter(record=child, status=LinkStatus.ACTIVE).select_related("system"):
                _queue_values(merge, child, link, {name: token}, f"child:{child.pk}:{name}")
    merge.save(update_fields=["before"])


def _dispatch_soon() -> None:
    from integration_hub.sync import tasks as hub_tasks
    from reconciliation.duplicates import tasks

    try:
        tasks.dispatch_merge_effects.delay()
        hub_tasks.dispatch_outbox.delay()
    except Exception:  # a broker outage must not undo a merge: the minute schedule sends them later
        import logging

        logging.getLogger(__name__).warning("could not queue the merge's writes now; the schedule will send them",
                                            exc_info=True)


# --- vendor merge calls (the outbox has no merge operation: these rows are their own small outbox) --------

MAX_ATTEMPTS = 8


def merge_effects_dispatch(*, limit: int = 200) -> dict[str, int]:
    """Send due vendor merge calls, each claimed by a conditional update (two workers never send one twice);
    transient failures retry with backoff, permanent ones (or too many attempts) become dead letters."""
    from connectors.base import ConnectorError
    from connectors.services import connector_session

    now = timezone.now()
    due = MergeEffect.objects.filter(kind=EffectKind.VENDOR_MERGE).filter(
        Q(status=EffectStatus.PENDING) | Q(status=EffectStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=EffectStatus.SENDING, next_attempt_at__lte=now - timedelta(minutes=15)))
    counts = {"sent": 0, "retrying": 0, "dead": 0}
    for effect in due.select_related("system").order_by("id")[:limit]:
        taken = MergeEffect.objects.filter(pk=effect.pk, status=effect.status, attempts=effect.attempts).update(
            status=EffectStatus.SENDING, attempts=effect.attempts + 1, next_attempt_at=now)
        if taken != 1:
            continue
        effect.attempts += 1
        try:
            with connector_session(effect.system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
                connector.merge(effect.vendor_object, effect.survivor_external_id, effect.absorbed_external_id)
        except ConnectorError as exc:
            dead = exc.permanent or effect.attempts >= MAX_ATTEMPTS
            MergeEffect.objects.filter(pk=effect.pk).update(
                status=EffectStatus.DEAD if dead else EffectStatus.FAILED, last_error=exc.message[:2000],
                next_attempt_at=None if dead else now + timedelta(seconds=min(3600, 15 * 2 ** effect.attempts)))
            counts["dead" if dead else "retrying"] += 1
            continue
        MergeEffect.objects.filter(pk=effect.pk).update(status=EffectStatus.SENT, sent_at=timezone.now(),
                                                        last_error="")
        counts["sent"] += 1
    return counts


def effect_status(effect: MergeEffect) -> str:
    """An outbox-backed effect's status is its outbox row's."""
    if effect.outbound_id and effect.status not in (EffectStatus.CANCELLED, EffectStatus.SKIPPED):
        return effect.outbound.status
    return effect.status


# --- undo ----------------------------------------------------------------------------------------------

@dataclass
class UndoLine:
    what: str
    done: bool


@transaction.atomic
def merge_undo(*, merge: Merge, user) -> Merge:
    """Undo a merge within its window: the survivor's merged fields back to their values before (a field
    changed since the merge is kept, and said so), links, child references and sync events back to the
    absorbed records, the absorbed records scanned again. Pushes not sent yet are cancelled; sent value
    writes and deactivations are reversed through the outbox; a vendor merge already sent cannot be undone
    by the vendor (HubSpot) and is reported, its link left archived on the absorbed record."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if merge.status != MergeStatus.DONE:
        raise DuplicateError(f"Merge #{merge.pk} was already undone.")
    if timezone.now() > merge.undo_until:
        raise DuplicateError(f"Merge #{merge.pk} can no longer be undone: its window closed at "
                             f"{merge.undo_until:%Y-%m-%d %H:%M} UTC.")
    report: list[dict[str, Any]] = []
    survivor = Record.objects.select_for_update().get(pk=merge.survivor_id)
    absorbed = list(merge.absorbed.all())
    with audit.acting_as(user.get_username() if user else "system", user=user,
                         reason=f"undo of merge #{merge.pk}"):
        restore, kept = {}, []
        before = merge.before.get("values", {})
        for name, merged_value in merge.before.get("changed", {}).items():
            if survivor.values.get(name) == merged_value:
                restore[name] = before.get(name)
            else:
                kept.append(name)
        if restore:
            hub.record_update_values(record=survivor, changes=restore,
                                     reason=f"undo of merge #{merge.pk}: values before the merge")
        report += [{"what": f"{name}: changed since the merge, kept", "done": False} for name in kept]
        report += _undo_children(merge)
        report += _undo_links(merge)
        report += _undo_conflicts(merge)
        report += _undo_effects(merge, survivor)
        SyncEvent.objects.filter(pk__in=[pk for pk, _ in merge.before.get("events", [])]).update(record=None)
        for pk, record_id in merge.before.get("events", []):
            SyncEvent.objects.filter(pk=pk).update(record_id=record_id)
        for record in absorbed:
            record._change_reason = f"undo of merge #{merge.pk}: a record of its own again"
            record.save()  # the save re-indexes its blocking keys
        merge.status, merge.undone_by, merge.undone_at, merge.undo_report = (MergeStatus.UNDONE, user,
                                                                              timezone.now(), report)
        merge._change_reason = "undone"
        merge.save()
        if merge.candidate_id:
            candidate = merge.candidate
            candidate.status, candidate.decided_by, candidate.decided_at = CandidateStatus.OPEN, None, None
            candidate._change_reason = f"merge #{merge.pk} undone: open again"
            candidate.save()
    transaction.on_commit(_dispatch_soon)
    return merge


def _undo_effects(merge: Merge, survivor: Record) -> list[dict[str, Any]]:
    report = []
    for effect in merge.effects.filter(undo=False).select_related("outbound", "system"):
        if effect.outbound_id:
            cancelled = OutboundChange.objects.filter(
                pk=effect.outbound_id, status__in=[OutboundStatus.PENDING, OutboundStatus.FAILED,
                                                   OutboundStatus.SHADOW]) \
                .update(status=OutboundStatus.DEAD, last_error=f"cancelled: merge #{merge.pk} undone")
            if cancelled:
                effect.status = EffectStatus.CANCELLED
                effect.save(update_fields=["status"])
                report.append({"what": f"{effect.message}: not sent yet, cancelled", "done": True})
            elif effect.kind == EffectKind.DEACTIVATE:
                report.append(_reactivate(merge, effect))
            elif effect.kind == EffectKind.UPDATE:
                report.append(_write_back(merge, effect))
            continue
        if effect.kind != EffectKind.VENDOR_MERGE:
            continue
        cancelled = MergeEffect.objects.filter(pk=effect.pk, status__in=[
            EffectStatus.PENDING, EffectStatus.FAILED, EffectStatus.SHADOW, EffectStatus.SKIPPED]) \
            .update(status=EffectStatus.CANCELLED)
        if cancelled:
            report.append({"what": f"{effect.message}: not sent yet, cancelled", "done": True})
        else:
            MergeEffect.objects.create(
                merge=merge, system=effect.system, kind=EffectKind.MANUAL, undo=True, record=survivor,
                vendor_object=effect.vendor_object, survivor_external_id=effect.survivor_external_id,
                absorbed_external_id=effect.absorbed_external_id, status=EffectStatus.NOT_REVERSIBLE,
                message=f"{effect.system.name} cannot undo a merge: {effect.vendor_object} "
                        f"{effect.absorbed_external_id} stays merged into {effect.survivor_external_id}")
            report.append({"what": f"{effect.system.name} cannot undo its merge of {effect.absorbed_external_id} "
                                   f"into {effect.survivor_external_id}; that link stays archived", "done": False})
    return report


def _write_back(merge: Merge, effect: MergeEffect) -> dict[str, Any]:
    """A value write the merge sent: the record that link belongs to now (after undo) gets its own values for
    those fields written again."""
    link = RecordLink.objects.select_related("system", "record").get(pk=effect.outbound.link_id)
    record = link.record
    values = {name: record.values.get(name) for name in effect.outbound.values}
    _queue_values(merge, record, link, values, f"undo:{effect.pk}")
    return {"what": f"{link.system.name} {link.external_id}: values of record #{record.pk} written back",
            "done": True}


def _reactivate(merge: Merge, effect: MergeEffect) -> dict[str, Any]:
    link = effect.outbound.link
    vendor = capabilities(effect.system.vendor)
    payload = {vendor.deactivation.flag: vendor.deactivation.active}
    note = vendor.note_field
    if note and note in effect.outbound.payload:
        payload[note] = (link.remote_values or {}).get(note) or ""
    outbound = _outbound(merge, effect.record, link, effect.vendor_object, {}, payload, "undo:reactivate")
    MergeEffect.objects.create(merge=merge, system=effect.system, kind=EffectKind.REACTIVATE, undo=True,
                               vendor_object=effect.vendor_object, record=effect.record, outbound=outbound,
                               survivor_external_id=effect.survivor_external_id,
                               absorbed_external_id=effect.absorbed_external_id,
                               status=_stage_status(effect.system) or EffectStatus.PENDING,
                               message=f"{effect.system.name}: {effect.vendor_object} {effect.absorbed_external_id} "
                                       f"marked active again")
    return {"what": f"{effect.system.name} {effect.absorbed_external_id}: marked active again", "done": True}


def _undo_links(merge: Merge) -> list[dict[str, Any]]:
    report = []
    irreversible = set(merge.effects.filter(kind=EffectKind.VENDOR_MERGE, status=EffectStatus.SENT)
                       .values_list("absorbed_external_id", "system_id"))
    for entry in merge.before.get("links", []):
        link = RecordLink.objects.select_related("system").get(pk=entry["id"])
        link.record_id = entry["record"]
        link.status = entry["status"]
        if (link.external_id, link.system_id) in irreversible:
            link.status = LinkStatus.ARCHIVED
        link._change_reason = f"undo of merge #{merge.pk}: back to record #{entry['record']}"
        link.save(update_fields=["record", "status"])
        report.append({"what": f"{link.system.name} {link.external_id}: back to record #{entry['record']}"
                               + (" (archived: merged away in the vendor)" if link.status != entry["status"] else ""),
                       "done": True})
    return report


def _undo_children(merge: Merge) -> list[dict[str, Any]]:
    report = []
    for entry in merge.before.get("children", []):
        child = Record.objects.select_for_update().get(pk=entry["record"])
        if child.values.get(entry["field"]) != entry["new"]:
            report.append({"what": f"record #{child.pk} {entry['field']}: changed since the merge, kept",
                           "done": False})
            continue
        hub.record_update_values(record=child, changes={entry["field"]: entry["old"]},
                                 reason=f"undo of merge #{merge.pk}: points at {entry['old']} again")
        report.append({"what": f"record #{child.pk} {entry['field']}: points at {entry['old']} again", "done": True})
    return report
