"""What a new conflict carries besides the engine's facts: the queue's filter columns, and whether a
person already rejected exactly this pair (so it stays diverged instead of queueing again)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from integration_hub.kernel.money import Money
from integration_hub.kernel.references import record_id_of
from integration_hub.records.models import Record
from integration_hub.sync.merge import same
from reconciliation.conflicts.models import Choice, Conflict, ConflictStatus

# Reference fields that name the account a record belongs to, in order of preference.
ACCOUNT_REFERENCES = ("account", "customer", "company")
OWNER_FIELD = "sales_owner"


def _amount(value: Any) -> tuple[Decimal, str] | None:
    money = Money.of(value)
    return (money.amount, money.currency[:3]) if money is not None else None


def amount_at_stake(crm_value: Any, erp_value: Any) -> tuple[Decimal, str]:
    """How far apart two money values are (in one currency); the larger amount when currencies differ;
    0 with no currency when the field is not money."""
    crm, erp = _amount(crm_value), _amount(erp_value)
    if crm and erp:
        if crm[1] == erp[1]:
            return abs(crm[0] - erp[0]), crm[1]
        return max((abs(crm[0]), crm[1]), (abs(erp[0]), erp[1]))
    known = crm or erp
    return (abs(known[0]), known[1]) if known else (Decimal(0), "")


def account_id_of(entity_type: str, record_id: int, values: dict) -> int | None:
    if entity_type == "account":
        return record_id
    for name in ACCOUNT_REFERENCES:
        account_id = record_id_of(values.get(name))
        if account_id is not None:
            return account_id
    return None


def conflict_open(**fields) -> Conflict:
    """Open a conflict: the queue's columns are derived from the record and mapping before it is saved."""
    conflict = Conflict(**fields)
    prepare_new_conflict(conflict)
    conflict.save()
    return conflict


def prepare_new_conflict(conflict) -> None:
    """Fill the queue's columns of a conflict about to be inserted; mark it rejected when a person
    already rejected the same two values for this field (kept diverged until a side changes again)."""
    record = conflict.record
    conflict.entity_type = conflict.entity_type or conflict.mapping.entity_type
    account_id = account_id_of(record.entity_type, record.pk, record.values or {})
    if account_id == record.pk:
        conflict.account_id, owner = record.pk, (record.values or {}).get(OWNER_FIELD)
    elif account_id is not None:
        row = Record.objects.filter(pk=account_id).values_list("pk", f"values__{OWNER_FIELD}").first()
        conflict.account_id, owner = row if row else (None, None)
    else:
        owner = None
    conflict.account_owner = conflict.account_owner or str(owner or "")[:100]
    if not conflict.stake_currency:
        conflict.amount_at_stake, conflict.stake_currency = amount_at_stake(conflict.crm_value, conflict.erp_value)

    if conflict.status != ConflictStatus.OPEN:
        return
    previous = (Conflict.objects.filter(record_id=record.pk, field=conflict.field)
                .exclude(status=ConflictStatus.OPEN).order_by("-id").first())
    if (previous is not None and previous.status == ConflictStatus.REJECTED
            and same(previous.crm_value, conflict.crm_value) and same(previous.erp_value, conflict.erp_value)):
        conflict.status = ConflictStatus.REJECTED
        conflict.decision = Choice.REJECT
        conflict.decided_by_id = previous.decided_by_id
        conflict.decided_at = timezone.now()
        who = previous.decided_by.get_username() if previous.decided_by else "someone"
        conflict.comment = f"still diverged: {who} rejected these values on {previous.decided_at:%Y-%m-%d %H:%M}"
        conflict._change_reason = conflict.comment
