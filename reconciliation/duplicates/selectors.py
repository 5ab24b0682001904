"""Read queries for the duplicate pages and API: the queue, one cluster side by side."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, QuerySet

from integration_hub.records import selectors as hub_selectors
from integration_hub.records.models import Record, RecordLink
from reconciliation.duplicates import survivorship
from reconciliation.duplicates.models import DuplicateCandidate, MergeStatus
from reconciliation.duplicates.services import INCOMING


def candidates_queue() -> QuerySet[DuplicateCandidate]:
    """Open candidates first, best score first; skipped ones after the undecided."""
    return (DuplicateCandidate.objects.prefetch_related("records").select_related("incoming_system")
            .order_by(F("skipped_at").asc(nulls_first=True), "-score", "id"))


@dataclass
class Column:
    """One record of a cluster as a column of the side-by-side table."""

    key: str  # record id, or INCOMING
    title: str
    record: Record | None
    values: dict[str, Any]
    links: list[RecordLink] = field(default_factory=list)
    incoming: bool = False


@dataclass
class FieldRow:
    field: str
    cells: list[dict[str, Any]]  # per column: value, chosen (default), differs
    differs: bool
    reason: str = ""


@dataclass
class ClusterView:
    candidate: DuplicateCandidate
    columns: list[Column]
    rows: list[FieldRow]
    survivor_id: int | None
    pairs: list[Any]


def cluster_view(*, candidate: DuplicateCandidate, user, survivor_id: int | None = None) -> ClusterView:
    """The records side by side (sensitive fields masked for Viewers), which values differ, the default
    survivorship choice per field, the evidence of each pair and every linked external id."""
    records = list(candidate.records.order_by("pk"))
    hidden = hub_selectors.hidden_fields_for(user, candidate.entity_type)
    links: dict[int, list[RecordLink]] = {}
    for link in RecordLink.objects.filter(record__in=records).select_related("system").order_by("system__role"):
        links.setdefault(link.record_id, []).append(link)
    columns = []
    if candidate.is_incoming:
        columns.append(Column(INCOMING, f"{candidate.incoming_system.name} {candidate.incoming_external_id} "
                                          "(held by the sync)", None,
                              hub_selectors.masked_values(candidate.incoming_values, hidden), incoming=True))
    for record in records:
        columns.append(Column(str(record.pk), f"#{record.pk} {record}", record,
                              hub_selectors.masked_values(record.values, hidden), links.get(record.pk, [])))
    survivor = next((r for r in records if r.pk == survivor_id), None) or _default_survivor(records, links)
    defaults = survivorship.candidate_defaults(candidate, records, survivor) if survivor else {}
    names = sorted({name for column in columns for name in column.values})
    rows = []
    for name in names:
        shown = [column.values.get(name) for column in columns]
        differs = len({repr(v) for v in shown if v not in (None, "")}) > 1 or \
            (any(v in (None, "") for v in shown) and any(v not in (None, "") for v in shown))
        choice = defaults.get(name)
        chosen = str(choice.record_id) if choice else None
        cells = [{"value": value, "key": column.key, "chosen": column.key == chosen, "differs": differs}
                 for column, value in zip(columns, shown, strict=True)]
        rows.append(FieldRow(name, cells, differs, choice.reason if choice else ""))
    pairs = list(candidate.pairs.select_related("left", "right"))
    for pair in pairs:
        pair.shown_evidence = [{**row, "left": _mask(row, "left", hidden), "right": _mask(row, "right", hidden)}
                               for row in pair.evidence]
    return ClusterView(candidate, columns, rows, survivor.pk if survivor else None, pairs)


def _mask(row: dict, side: str, hidden: set[str]) -> Any:
    return hub_selectors.MASK if row["feature"] in hidden and row.get(side) not in (None, "") else row.get(side)


def _default_survivor(records: list[Record], links: dict[int, list[RecordLink]]) -> Record | None:
    """The record linked in most systems, then the most complete, then the oldest."""
    if not records:
        return None
    return max(records, key=lambda r: (len([link for link in links.get(r.pk, []) if link.status == "active"]),
                                       sum(v not in (None, "") for v in r.values.values()), -r.pk))


def absorbed_into(record: Record) -> list[Record]:
    """Records merged into ``record`` by merges not undone."""
    return list(Record.objects.filter(merges_absorbed__survivor=record, merges_absorbed__status=MergeStatus.DONE)
                .distinct().order_by("pk"))
