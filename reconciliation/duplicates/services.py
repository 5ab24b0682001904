"""The duplicates' small write paths and what every other one shares: a person's "not a duplicate" and "decide
later", the golden record of a record the sync held, the errors they raise, the tuned profile, the undo window,
the records merged away.

The larger paths have modules of their own: the full scan (scan.py), the sync's match step (sync_match.py),
survivorship (survivorship.py), the merge (merge.py), its writes to each system (pushes.py) and undo
(merge_undo.py). Pages, the API, commands and tasks all call these."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration_hub.records import services as hub
from integration_hub.records.models import Record, RecordLink
from reconciliation.duplicates import scoring
from reconciliation.duplicates.models import CandidateStatus, DuplicateCandidate, Merge, MergeStatus, NotDuplicate

INCOMING = "incoming"  # a field's value chosen from the record the sync held (it has no record id before the merge)


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


# --- dismiss, skip ---------------------------------------------------------------------------------

def open_candidate(candidate: DuplicateCandidate) -> DuplicateCandidate:
    """The candidate locked for a decision; one decided already (by someone else meanwhile) cannot be."""
    fresh = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if fresh.status != CandidateStatus.OPEN:
        raise DuplicateError(f"{fresh} is already {fresh.get_status_display().lower()}.")
    return fresh


def close_candidate(candidate: DuplicateCandidate, status: str, user, reason: str) -> None:
    candidate.status, candidate.decided_by, candidate.decided_at = status, user, timezone.now()
    candidate._change_reason = reason
    candidate.save()


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
    the sync held becomes a golden record of its own, linked: the next sync creates it in the other system as the
    mapping says, once (it is linked from now on, never screened again)."""
    candidate = open_candidate(candidate)
    members = list(candidate.records.values_list("pk", flat=True))
    if candidate.is_incoming:
        record = incoming_record(candidate)
        # The next sync creates it in the other system, and the creates its likely matches waited with there.
        RecordLink.objects.filter(record_id__in=[*members, record.pk]).update(needs_merge=True)
        members.append(record.pk)
        for other in members[:-1]:
            _remember_not_duplicates([record.pk, other], user, candidate)
    else:
        _remember_not_duplicates(members, user, candidate)
    close_candidate(candidate, CandidateStatus.DISMISSED, user, "not a duplicate")
    return candidate


def held_since(candidate: DuplicateCandidate) -> str:
    """When the values of a record the sync held were set: its system's last change, else when the sync read it."""
    return (candidate.incoming_updated_at or candidate.created_at).isoformat()


def incoming_record(candidate: DuplicateCandidate) -> Record:
    """The golden record of a record the sync held, linked to it in its system: made from the values the sync
    read (each field's provenance dated when they were set, so survivorship weighs them by their own age), or
    the one made before (a merge of it undone)."""
    system = candidate.incoming_system
    link = RecordLink.objects.filter(system=system, entity_type=candidate.entity_type,
                                     external_id=candidate.incoming_external_id).select_related("record").first()
    if link is not None:
        if not Merge.objects.filter(candidate=candidate, absorbed=link.record).exists():
            raise DuplicateError(f"{system.name} {candidate.incoming_external_id} was linked to record "
                                 f"#{link.record_id} meanwhile; this entry is out of date.")
        return link.record
    record = hub.record_create(entity_type=candidate.entity_type, values=candidate.incoming_values,
                               reason=f"held by the sync as {system.name} {candidate.incoming_external_id} "
                                      f"(duplicate #{candidate.pk})",
                               source=hub.Source(system=system.slug))
    when = held_since(candidate)
    record.provenance = {name: {**stamp, "at": when} for name, stamp in record.provenance.items()}
    Record.objects.filter(pk=record.pk).update(provenance=record.provenance)
    hub.record_link(record=record, system=system, external_id=candidate.incoming_external_id,
                    base_snapshot=dict(candidate.incoming_values), remote_values=candidate.incoming_remote,
                    remote_updated_at=candidate.incoming_updated_at)
    return record


@transaction.atomic
def candidate_skip(*, candidate: DuplicateCandidate, user) -> DuplicateCandidate:
    """Decide later: the candidate stays open and moves behind the undecided ones."""
    candidate = open_candidate(candidate)
    candidate.skipped_at = timezone.now()
    candidate._change_reason = f"skipped by {user.get_username()}"
    candidate.save(update_fields=["skipped_at", "updated_at"])
    return candidate
