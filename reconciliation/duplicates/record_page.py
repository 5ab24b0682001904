"""What merges add to a record page: the history of the records merged into it, and on an absorbed record the
merge that absorbed it. Registered with the records core in apps.py."""
from __future__ import annotations

from typing import Any

from integration_hub.records.models import Record
from integration_hub.records.selectors import TimelineEntry, record_timeline
from reconciliation.duplicates.models import Merge, MergeStatus
from reconciliation.duplicates.selectors import absorbed_into


def timeline_entries(record: Record) -> list[TimelineEntry]:
    """The history of records merged into this one (a merge moves their history to the survivor)."""
    entries = []
    for absorbed in absorbed_into(record):
        for entry in record_timeline(record=absorbed):
            entry.subject = f"merged record #{absorbed.pk}: {entry.subject}"
            entries.append(entry)
    return entries


def page_section(record: Record, user) -> dict[str, Any]:
    return {"merged_into": merged_into(record=record)}


def merged_into(*, record: Record) -> Merge | None:
    """The duplicate merge that absorbed this record into another (undone merges do not count), or None."""
    return (Merge.objects.filter(absorbed=record, status=MergeStatus.DONE).select_related("survivor", "merged_by")
            .order_by("-created_at").first())
