"""What duplicates add to a record page: the history of the records merged into it, the vendor records the sync
held as likely duplicates of it, and on an absorbed record the merge that absorbed it. Registered with the
records core in apps.py."""
from __future__ import annotations

from typing import Any

from integration_hub.records.models import Record
from integration_hub.records.selectors import TimelineEntry, record_timeline
from reconciliation.duplicates.models import CandidateStatus, DuplicateCandidate, Merge, MergeStatus
from reconciliation.duplicates.selectors import absorbed_into


def timeline_entries(record: Record) -> list[TimelineEntry]:
    """The history of records merged into this one (a merge moves their history to the survivor), and the
    vendor records the sync held instead of creating because they look like this one."""
    entries = []
    for absorbed in absorbed_into(record):
        for entry in record_timeline(record=absorbed):
            entry.subject = f"merged record #{absorbed.pk}: {entry.subject}"
            entries.append(entry)
    return entries + held_as_duplicates(record)


HELD_OUTCOME = {
    CandidateStatus.OPEN: "waiting in the duplicate queue",
    CandidateStatus.MERGED: "merged by a person",
    CandidateStatus.DISMISSED: "not a duplicate, a person said: a record of its own",
    CandidateStatus.STALE: "no longer a candidate",
}


def held_as_duplicates(record: Record) -> list[TimelineEntry]:
    """A line for each vendor record the sync held as a likely duplicate of this one, with why and what came
    of it."""
    return [TimelineEntry(
        when=candidate.created_at, kind="held as a likely duplicate",
        subject=f"{candidate.incoming_system.name}: {candidate.incoming_external_id}", actor="sync",
        reason=f"not created in the other system: {candidate.note} · {HELD_OUTCOME[candidate.status]} "
               f"(duplicate #{candidate.pk})", correlation_id="")
        for candidate in DuplicateCandidate.objects.filter(records=record, incoming_system__isnull=False)
        .select_related("incoming_system").order_by("pk")]


def page_section(record: Record, user) -> dict[str, Any]:
    return {"merged_into": merged_into(record=record)}


def merged_into(*, record: Record) -> Merge | None:
    """The duplicate merge that absorbed this record into another (undone merges do not count), or None."""
    return (Merge.objects.filter(absorbed=record, status=MergeStatus.DONE).select_related("survivor", "merged_by")
            .order_by("-created_at").first())
