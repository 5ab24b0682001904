"""What the sync adds to a record page: its events on the timeline, its held fields, and quote to cash (a
document's lines, an order and its invoices, what is due, why the record is held). Registered with the records
core in apps.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from integration_hub.kernel.money import Money
from integration_hub.kernel.references import golden_id, record_id_of
from integration_hub.records.models import Record
from integration_hub.records.selectors import FieldChange, TimelineEntry
from integration_hub.sync.held_selectors import record_held_fields
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncEvent
from mapping.line_items import line_amount, lines_total

# Sync events worth a line in a record's timeline (field changes are already there from history).
TIMELINE_EVENTS = ("conflict", "blocked_edit", "decided", "failed", "write_failed")


def timeline_entries(record: Record) -> list[TimelineEntry]:
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


def page_section(record: Record, user) -> dict[str, Any]:
    return {"documents": record_documents(record=record), "held_fields": record_held_fields(record, user)}


def record_documents(*, record: Record) -> RecordDocuments:
    """What quote to cash shows on a record page: a document's lines with their amounts, the invoices of a deal
    or an account with what is paid and due, an account's orders, and why the record is held."""
    docs = RecordDocuments(holds=record_holds(record=record))
    lines = record.values.get("lines")
    if isinstance(lines, list) and lines:
        items = Record.objects.in_bulk([i for line in lines if (i := record_id_of(line.get("item")))])
        for position, line in enumerate(lines, start=1):
            currency = line["unit_price"]["currency"]
            docs.lines.append(DocumentLine(
                position, items.get(record_id_of(line.get("item")) or 0), str(line.get("item")), line["quantity"],
                line["unit_price"], line["discount"], Money(line_amount(line), currency).stored()))
        docs.lines_total = Money(lines_total(lines), lines[0]["unit_price"]["currency"]).stored()
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
    docs.amount_due = [Money(amount, currency).stored() for currency, amount in sorted(due_by_currency.items())]
    if record.entity_type == "account":
        docs.orders = list(Record.objects.filter(entity_type="deal", values__customer=golden_id(record.pk))
                           .order_by("-updated_at")[:50])
    return docs


def record_holds(*, record: Record) -> list[Hold]:
    """What still holds the record: a create held until a fix (while the record has no link there), and writes
    the system refused (dead letters), each with the run to replay."""
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
