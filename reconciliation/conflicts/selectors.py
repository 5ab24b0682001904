"""Read queries of the conflict queue: the queue, its summary, neighbours, a conflict's context, the
badge, and the conflict lines on a record's timeline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from integration_hub.kernel.references import golden_id
from integration_hub.kernel.templatetags.hub_tags import show_value
from integration_hub.records import selectors as hub_selectors
from integration_hub.records.models import Record
from integration_hub.sync.models import OutboundChange
from mapping.models import ApproverRole
from reconciliation.conflicts.derive import ACCOUNT_REFERENCES
from reconciliation.conflicts.models import Conflict, ConflictComment, ConflictStatus

DOCUMENT_ENTITIES = ("sales_order", "invoice")
# Document statuses that mean nothing is left to deliver or pay (compared case-insensitively, by prefix).
CLOSED_STATUSES = ("closed", "paid", "billed", "cancel", "fully", "void")
ACCOUNT_CONTEXT_FIELDS = ("credit_limit", "credit_hold", "payment_terms", "outstanding_balance", "overdue_balance")


def sla_cutoff(now: datetime | None = None) -> datetime:
    """Conflicts opened before this are over the SLA."""
    return (now or timezone.now()) - timedelta(hours=settings.CONFLICT_SLA_HOURS)


def conflicts_for_list() -> QuerySet[Conflict]:
    """Conflicts with what a row shows, fetched for the rows of the page only: joined in, the related rows
    would be read for every row skipped to reach a deep page."""
    return Conflict.objects.prefetch_related("record", "mapping__crm_system", "mapping__erp_system", "decided_by")


def open_conflicts() -> QuerySet[Conflict]:
    return conflicts_for_list().filter(status=ConflictStatus.OPEN)


def decidable_roles(user) -> list[str]:
    """The approver roles whose conflicts this user may decide."""
    allowed = []
    if user.has_perm("reconciliation.decide_conflict"):
        allowed.append(ApproverRole.REVOPS)
    if user.has_perm("reconciliation.decide_finance_conflict"):
        allowed.append(ApproverRole.FINANCE)
    return allowed


def decidable_q(user) -> Q:
    """Conflicts this user may decide (anything not on a finance rule counts as RevOps)."""
    allowed = decidable_roles(user)
    if len(allowed) == 2:
        return Q()
    if allowed == [ApproverRole.FINANCE]:
        return Q(approver_role=ApproverRole.FINANCE)
    if allowed == [ApproverRole.REVOPS]:
        return ~Q(approver_role=ApproverRole.FINANCE)
    return Q(pk__in=[])


def badge_count(user) -> int | None:
    """Open conflicts waiting for this user (None for users who decide none); counted once per request
    (tables render with the context processors again)."""
    if not user.is_authenticated or not decidable_roles(user):
        return None
    if getattr(user, "_conflict_badge", None) is None:
        user._conflict_badge = Conflict.objects.filter(decidable_q(user), status=ConflictStatus.OPEN).count()
    return user._conflict_badge


@dataclass
class QueueSummary:
    total: int
    by_role: list[dict[str, Any]]
    oldest: datetime | None
    over_sla: int


def queue_summary(queryset: QuerySet[Conflict]) -> QueueSummary:
    """Counts per approver role, the oldest, and how many are over the SLA: one aggregate per role, each
    an index-only scan of (status, approver_role, created_at) for the open queue."""
    cutoff = sla_cutoff()
    by_role, oldest, over = [], None, 0
    for role, label in ApproverRole.choices:
        row = queryset.filter(approver_role=role).order_by().aggregate(  # created_at: in the index, unlike id
            n=Count("created_at"), over=Count("created_at", filter=Q(created_at__lt=cutoff)), oldest=Min("created_at"))
        if row["n"]:
            by_role.append({"role": role, "label": label, "count": row["n"]})
            oldest = min(oldest, row["oldest"]) if oldest else row["oldest"]
            over += row["over"]
    return QueueSummary(total=sum(r["count"] for r in by_role), by_role=by_role, oldest=oldest, over_sla=over)


def neighbours(conflict: Conflict, queryset: QuerySet[Conflict]) -> tuple[int | None, int | None]:
    """The previous and next conflict in the queue's order (created, id) within the same filter."""
    key = Q(created_at__lt=conflict.created_at) | Q(created_at=conflict.created_at, id__lt=conflict.pk)
    after = Q(created_at__gt=conflict.created_at) | Q(created_at=conflict.created_at, id__gt=conflict.pk)
    ids = queryset.values_list("pk", flat=True)
    previous = ids.filter(key).order_by("-created_at", "-id").first()
    following = ids.filter(after).order_by("created_at", "id").first()
    return previous, following


def hidden_for(user, entity_type: str, cache: dict[str, set[str]] | None = None) -> set[str]:
    """Sensitive fields masked for this user (Viewers), memoised per entity for list pages."""
    if cache is None:
        return hub_selectors.hidden_fields_for(user, entity_type)
    if entity_type not in cache:
        cache[entity_type] = hub_selectors.hidden_fields_for(user, entity_type)
    return cache[entity_type]


def shown(value: Any, field: str, hidden: set[str]) -> Any:
    return hub_selectors.MASK if field in hidden and value not in (None, "") else value


@dataclass
class Document:
    record: Record
    number: str
    status: str
    amount: Any


def account_documents(account: Record | None, limit: int = 20) -> list[Document]:
    """Open sales orders and invoices of the account (those not closed, paid or cancelled)."""
    if account is None:
        return []
    ref = golden_id(account.pk)
    points_here = Q()
    for name in ACCOUNT_REFERENCES:
        points_here |= Q(**{f"values__{name}": ref})
    documents = Record.objects.filter(points_here, entity_type__in=DOCUMENT_ENTITIES).order_by("-updated_at")
    found = []
    for document in documents[:limit * 3]:
        values = document.values
        status = str(values.get("order_status") or values.get("status") or "")
        if not status.lower().startswith(CLOSED_STATUSES):
            found.append(Document(record=document, number=str(values.get("order_number") or
                                                              values.get("invoice_number") or ""),
                                  status=status or document.get_entity_type_display(),
                                  amount=values.get("amount_due") or values.get("total")))
        if len(found) == limit:
            break
    return found


def conflict_context(conflict: Conflict, user) -> dict[str, Any]:
    """What the decision page shows beside the three values: the record, its account, recent history."""
    record = conflict.record
    hidden = hub_selectors.hidden_fields_for(user, record.entity_type)
    account = conflict.account if conflict.account_id and conflict.account_id != record.pk else None
    account_hidden = hub_selectors.hidden_fields_for(user, "account") if account else set()
    timeline = hub_selectors.mask_timeline(hub_selectors.record_timeline(record=record), hidden)[:10]
    return {
        "record_fields": [{"name": name, "value": value, "provenance": record.provenance.get(name, {})}
                          for name, value in sorted(hub_selectors.masked_values(record.values, hidden).items())
                          if name != conflict.field],
        "links": record.links.select_related("system"),
        "account": account,
        "account_facts": [(name, shown((account or record).values.get(name), name,
                                       account_hidden if account else hidden))
                          for name in ACCOUNT_CONTEXT_FIELDS if name in (account or record).values]
        if (account or record.entity_type == "account") else [],
        "documents": account_documents(account or (record if record.entity_type == "account" else None)),
        "timeline": timeline,
        "comments": conflict.comments.all(),
        "history": conflict.history.select_related("history_user").order_by("-history_date", "-history_id")[:20],
        "pushed": pushed_changes(conflict),
        "other_open": Conflict.objects.filter(record=record, status=ConflictStatus.OPEN).exclude(pk=conflict.pk)
        .values_list("pk", "field"),
    }


def pushed_changes(conflict: Conflict) -> list[OutboundChange]:
    """The writes that carried the decision to the systems (their status says whether they arrived)."""
    if not conflict.decision_run_id:
        return []
    return list(OutboundChange.objects.filter(run_id=conflict.decision_run_id, record_id=conflict.record_id)
                .select_related("system"))


# --- the record's timeline --------------------------------------------------------------------------

def timeline_entries(record: Record) -> list[hub_selectors.TimelineEntry]:
    """Decisions, comments and the decisions' pushes, for the record page's timeline."""
    entries = []
    # Decisions are the saves that set decided_at; a row created already decided is the sync seeing a
    # rejected pair again (it stays diverged), which the rejection's own line already tells.
    decided = Conflict.history.model.objects.filter(record_id=record.pk, history_type="~") \
        .exclude(status=ConflictStatus.OPEN).exclude(decided_at=None).order_by("history_date", "history_id")
    seen: set[tuple[int, datetime]] = set()
    for row in decided:
        if (row.id, row.decided_at) in seen:  # one line per decision, not per later save of the row
            continue
        seen.add((row.id, row.decided_at))
        rejected = row.status == ConflictStatus.REJECTED
        both = f"CRM: {show_value(row.crm_value)} · ERP: {show_value(row.erp_value)}"
        entries.append(hub_selectors.TimelineEntry(
            when=row.history_date, kind="conflict rejected (kept diverged)" if rejected else "conflict decided",
            subject=f"conflict {row.id}: {row.field}", actor=row.history_actor or "system",
            reason=row.history_change_reason or row.comment, correlation_id=row.history_correlation_id,
            changes=[hub_selectors.FieldChange(row.field, both, None if rejected else row.chosen_value)]))
    for comment in ConflictComment.objects.filter(conflict__record=record).select_related("conflict"):
        entries.append(hub_selectors.TimelineEntry(
            when=comment.created_at, kind="comment", subject=f"conflict {comment.conflict_id}: "
            f"{comment.conflict.field}", actor=comment.author_name, reason=comment.text, correlation_id=""))
    pushes = OutboundChange.objects.filter(record=record, run__trigger="decision").select_related("system", "run")
    for change in pushes:
        entries.append(hub_selectors.TimelineEntry(
            when=change.sent_at or change.created_at, kind=f"decision pushed ({change.get_status_display().lower()})",
            subject=change.system.name, actor=f"sync-run:{change.run_id}", reason="", correlation_id="",
            changes=[hub_selectors.FieldChange(name, None, value) for name, value in sorted(change.values.items())]))
    return entries
