"""Read queries for records: lists, and the timeline of every change."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

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
    """Every change to the record and to its links, newest first, with field-level diffs."""
    from connectors.models import ConnectedSystem

    systems = {s.pk: s.slug for s in ConnectedSystem.objects.all()}
    record_rows = record.history.order_by("history_date", "history_id")
    link_model = record.links.model.history.model
    link_rows = link_model.objects.filter(record_id=record.pk).order_by("history_date", "history_id")
    entries = _entries(record_rows, lambda r: "record", ("values",))
    entries += _entries(link_rows, lambda r: f"link {systems.get(r.system_id, r.system_id)}: {r.external_id}",
                        ("base_snapshot",))
    entries += _sync_entries(record)
    entries += _merged_entries(record)
    entries += _conflict_entries(record)
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


def _merged_entries(record: Record) -> list[TimelineEntry]:
    """The history of records merged into this one (a merge moves their history to the survivor)."""
    from reconciliation.duplicates.selectors import absorbed_into

    entries = []
    for absorbed in absorbed_into(record):
        for entry in record_timeline(record=absorbed):
            entry.subject = f"merged record #{absorbed.pk}: {entry.subject}"
            entries.append(entry)
    return entries


# Sync events worth a line in a record's timeline (field changes are already there from history).
TIMELINE_EVENTS = ("conflict", "blocked_edit", "decided", "failed", "write_failed")


def _sync_entries(record: Record) -> list[TimelineEntry]:
    from integration_hub.sync.models import SyncEvent

    entries = []
    for event in SyncEvent.objects.filter(record=record, kind__in=TIMELINE_EVENTS).order_by("id"):
        changes = []
        if event.kind == "blocked_edit" and event.field:
            changes = [FieldChange(f"{event.field} ({event.side.upper()} edit blocked)",
                                   event.data.get("attempted"), event.data.get("kept"))]
        elif event.kind == "decided" and event.field and event.data.get("winner") in ("crm", "erp"):
            winner = event.data["winner"]
            loser = "erp" if winner == "crm" else "crm"
            changes = [FieldChange(f"{event.field} ({loser.upper()} edit overwritten by policy)",
                                   event.data.get(loser), event.data.get(winner))]
        entries.append(TimelineEntry(
            when=event.created_at, kind=event.get_kind_display().lower(),
            subject=f"{event.side.upper()} {event.field}".strip() or "record", actor=f"sync-run:{event.run_id}",
            reason=event.message, correlation_id="", changes=changes))
    return entries


def _conflict_entries(record: Record) -> list[TimelineEntry]:
    """Conflict decisions, comments and the writes that carried decisions (the conflict queue's lines)."""
    from reconciliation.conflicts.selectors import timeline_entries

    return timeline_entries(record)


MASK = "••••••"


def sensitive_fields(entity_type: str) -> set[str]:
    """Fields marked sensitive in the published rules for this entity."""
    from mapping.models import FieldRule

    return set(FieldRule.objects.filter(version__mapping__entity_type=entity_type, sensitive=True,
                                        version__mapping__published_version=F("version"))
               .values_list("field", flat=True))


def hidden_fields_for(user, entity_type: str) -> set[str]:
    """Sensitive fields are masked for Viewers; RevOps admins, Finance approvers and superusers see them."""
    from integration_hub.kernel import roles

    if roles.has_role(user, roles.REVOPS_ADMIN, roles.FINANCE_APPROVER):
        return set()
    return sensitive_fields(entity_type)


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


# --- quote to cash: a document's lines, an order and its invoices, what is due -------------------------------

@dataclass
class DocumentLine:
    position: int
    item: Record | None
    item_id: str  # the golden id, shown when the item record is gone
    quantity: str
    unit_price: dict
    discount: dict
    amount: dict


@dataclass
class InvoiceRow:
    record: Record
    number: str
    status: str
    due_on: str
    amount: Any
    paid: Any
    due: Any
    overdue: bool


@dataclass
class Hold:
    """Why a record is not (fully) in a system yet, and where to replay it."""

    side: str
    message: str
    run_id: int | None
    when: datetime


@dataclass
class RecordDocuments:
    lines: list[DocumentLine] = field(default_factory=list)
    lines_total: dict | None = None
    invoices: list[InvoiceRow] = field(default_factory=list)
    amount_due: list[dict] = field(default_factory=list)  # one per currency
    orders: list[Record] = field(default_factory=list)  # an account's deals and orders
    holds: list[Hold] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return bool(self.lines or self.invoices or self.orders or self.holds)


def _money(amount, currency: str) -> dict:
    return {"amount": format(amount, "f"), "currency": currency}


def record_documents(*, record: Record) -> RecordDocuments:
    """What quote to cash shows on a record page: a document's lines with their amounts, the invoices of a deal
    or an account with what is paid and due, an account's orders, and why the record is held."""
    from integration_hub.sync.references import golden_id, record_id_of
    from mapping.line_items import line_amount, lines_total

    docs = RecordDocuments(holds=record_holds(record=record))
    lines = record.values.get("lines")
    if isinstance(lines, list) and lines:
        items = Record.objects.in_bulk([i for line in lines if (i := record_id_of(line.get("item")))])
        for position, line in enumerate(lines, start=1):
            currency = line["unit_price"]["currency"]
            docs.lines.append(DocumentLine(
                position, items.get(record_id_of(line.get("item")) or 0), str(line.get("item")), line["quantity"],
                line["unit_price"], line["discount"], _money(line_amount(line), currency)))
        docs.lines_total = _money(lines_total(lines), lines[0]["unit_price"]["currency"])
    pointer = {"deal": "deal", "account": "customer"}.get(record.entity_type)
    if pointer is None:
        return docs
    invoices = Record.objects.filter(entity_type="invoice", **{f"values__{pointer}": golden_id(record.pk)})
    due_by_currency: dict[str, Decimal] = {}
    today = date.today().isoformat()
    for invoice in invoices.order_by("-values__due_on", "-pk"):
        values = invoice.values
        due = values.get("amount_due")
        overdue = bool(isinstance(due, dict) and Decimal(due["amount"]) > 0 and (values.get("due_on") or "9") < today)
        docs.invoices.append(InvoiceRow(invoice, values.get("invoice_number") or str(invoice),
                                        values.get("status") or "", values.get("due_on") or "", values.get("amount"),
                                        values.get("amount_paid"), due, overdue))
        if isinstance(due, dict):
            due_by_currency[due["currency"]] = due_by_currency.get(due["currency"], Decimal(0)) + Decimal(due["amount"])
    docs.amount_due = [_money(amount, currency) for currency, amount in sorted(due_by_currency.items())]
    if record.entity_type == "account":
        docs.orders = list(Record.objects.filter(entity_type="deal", values__customer=golden_id(record.pk))
                           .order_by("-updated_at")[:50])
    return docs


def record_holds(*, record: Record) -> list[Hold]:
    """What still holds the record: a create held until a fix (while the record has no link there), and writes
    the system refused (dead letters), each with the run to replay."""
    from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncEvent

    linked = {link.system.role for link in record.links.select_related("system")}
    holds = []
    for event in SyncEvent.objects.filter(record=record, kind="failed", replayed_by__isnull=True,
                                          data__has_key="target").order_by("-id")[:20]:
        if event.data.get("target") not in linked and not any(h.side == event.data["target"] for h in holds):
            holds.append(Hold(event.data["target"], event.message, event.run_id, event.created_at))
    # A change the system will not take any more (a fulfilled order's customer), while the hub's value is still
    # not the one that system holds.
    bases = {link.system.role: link.base_snapshot or {} for link in record.links.select_related("system")}
    for event in SyncEvent.objects.filter(record=record, kind="failed", replayed_by__isnull=True,
                                          data__held_change=True).order_by("-id")[:20]:
        side, field = event.data.get("target"), event.data.get("field")
        if field in bases.get(side, {}) and bases[side][field] != record.values.get(field) \
                and not any(h.side == side and h.message == event.message for h in holds):
            holds.append(Hold(side, event.message, event.run_id, event.created_at))
    for change in OutboundChange.objects.filter(record=record, status=OutboundStatus.DEAD).order_by("-id")[:5]:
        holds.append(Hold(change.side, f"{change.system.name} refused the write: {change.last_error}", change.run_id,
                          change.created_at))
    return holds


def merged_into(*, record: Record):
    """The duplicate merge that absorbed this record into another (undone merges do not count), or None."""
    from django.apps import apps

    if not apps.is_installed("reconciliation.duplicates"):
        return None
    from reconciliation.duplicates.models import Merge, MergeStatus

    return (Merge.objects.filter(absorbed=record, status=MergeStatus.DONE).select_related("survivor", "merged_by")
            .order_by("-created_at").first())
