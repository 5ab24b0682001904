"""Read queries for records: lists, and the timeline of every change."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from connectors.models import ConnectedSystem
from integration_hub.kernel import roles
from integration_hub.records import extensions
from integration_hub.records.models import Record, RecordLink

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
# Bookkeeping fields that would only add noise to a timeline.
QUIET_FIELDS = {"updated_at", "created_at", "provenance", "display_name", "last_synced_at",
                "entity_type", "record", "system"}  # the last three are in the entry's subject


@dataclass
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass
class TimelineEntry:
    when: datetime
    kind: str  # created | changed | deleted
    subject: str  # "record" or the link it concerns, e.g. "hubspot: 1234"
    actor: str
    reason: str
    correlation_id: str
    changes: list[FieldChange] = field(default_factory=list)


def records_for_list() -> QuerySet[Record]:
    """Records with their link count as a correlated subquery: computed for the rows of the page only,
    where a JOIN + GROUP BY would aggregate every record before paginating."""
    links = (RecordLink.objects.filter(record=OuterRef("pk")).order_by().values("record")
             .annotate(n=Count("pk")).values("n"))
    return Record.objects.annotate(link_count=Coalesce(Subquery(links), 0))


def _value_changes(before: dict, after: dict) -> list[FieldChange]:
    keys = sorted(set(before) | set(after))
    return [FieldChange(k, before.get(k), after.get(k))
            for k in keys if before.get(k) != after.get(k)]


def _diff(previous, current, json_fields: tuple[str, ...]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for f in current._meta.fields:
        name = f.attname
        if name.startswith("history_") or f.name in QUIET_FIELDS or name == "id":
            continue
        before = getattr(previous, name, None) if previous is not None else None
        after = getattr(current, name)
        if before == after:
            continue
        if f.name in json_fields:
            changes.extend(_value_changes(before or {}, after or {}))
        else:
            changes.append(FieldChange(f.name, before, after))
    return changes


def _entries(history_rows, subject_of, json_fields) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    previous_by_object: dict[int, Any] = {}
    for row in history_rows:  # oldest first, so each row diffs against the one before it
        previous = previous_by_object.get(row.id)
        entries.append(TimelineEntry(
            when=row.history_date, kind=HISTORY_TYPES.get(row.history_type, row.history_type),
            subject=subject_of(row), actor=row.history_actor or "system",
            reason=row.history_change_reason or "", correlation_id=row.history_correlation_id,
            changes=_diff(previous, row, json_fields),
        ))
        previous_by_object[row.id] = row
    return entries


def record_timeline(*, record: Record) -> list[TimelineEntry]:
    """Every change to the record and to its links, and what other apps register (sync events, conflict
    decisions, merged records' history), newest first, with field-level diffs."""
    systems = {s.pk: s.slug for s in ConnectedSystem.objects.all()}
    record_rows = record.history.order_by("history_date", "history_id")
    link_model = record.links.model.history.model
    link_rows = link_model.objects.filter(record_id=record.pk).order_by("history_date", "history_id")
    entries = _entries(record_rows, lambda r: "record", ("values",))
    entries += _entries(link_rows, lambda r: f"link {systems.get(r.system_id, r.system_id)}: {r.external_id}",
                        ("base_snapshot",))
    entries += extensions.timeline_entries(record)
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


MASK = "••••••"


def hidden_fields_for(user, entity_type: str) -> set[str]:
    """Sensitive fields (as the installed apps mark them) are masked for Viewers; RevOps admins, Finance
    approvers and superusers see them."""
    if roles.has_role(user, roles.REVOPS_ADMIN, roles.FINANCE_APPROVER):
        return set()
    return extensions.sensitive_fields(entity_type)


def masked_values(values: dict, hidden: set[str]) -> dict:
    return {k: (MASK if k in hidden and v not in (None, "") else v) for k, v in values.items()}


def mask_timeline(entries: list[TimelineEntry], hidden: set[str]) -> list[TimelineEntry]:
    if hidden:
        for entry in entries:
            for change in entry.changes:
                if change.field.split(" (")[0] in hidden:  # "price (CRM edit blocked)" is the price too
                    change.before = MASK if change.before not in (None, "") else change.before
                    change.after = MASK if change.after not in (None, "") else change.after
    return entries
