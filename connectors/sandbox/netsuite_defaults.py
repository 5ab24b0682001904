"""What a real NetSuite (OneWorld) account fills in on a record a write leaves without.

- A customer always has a primary subsidiary, a currency and a status: without a subsidiary it takes the
  account's primary one (the root subsidiary, internal id 1), without a currency its subsidiary's base currency,
  without a status the account's default customer status (Setup > Sales > Sales Preferences; a standard account
  ships "CUSTOMER-Closed Won").
- A contact belongs to a subsidiary: its company's, else the primary one.
- A transaction (estimate, sales order, invoice, payment) takes its customer's subsidiary and currency.

These fields are mandatory on NetSuite's forms, so a write that empties one is refused ("Please enter
value(s) for: ..."); a record stored without one (an older state file) is given the default on its next write.
The account's subsidiaries are configuration, present in every preset (`SUBSIDIARIES`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.sandbox.netsuite_schema import TRAN_TYPES

# The sandbox account's subsidiaries: internal id -> fields. Id 1 is the root, as in every OneWorld account.
SUBSIDIARIES: dict[str, dict[str, Any]] = {
    "1": {"name": "Parent Company", "currency": "USD", "country": "US", "isInactive": False},
    "2": {"name": "UK Subsidiary", "currency": "GBP", "country": "GB", "parent": "1", "isInactive": False},
    "3": {"name": "EU Subsidiary", "currency": "EUR", "country": "DE", "parent": "1", "isInactive": False},
}
# Fields every record of a type has (see the module docstring for where each default comes from).
DEFAULTED: dict[str, tuple[str, ...]] = {
    "customer": ("subsidiary", "currency", "entityStatus"), "contact": ("subsidiary",),
    **{record_type: ("subsidiary", "currency") for record_type in TRAN_TYPES},
}
# The account preferences the defaults read (emulator knobs).
DEFAULT_KNOBS: dict[str, Any] = {"primary_subsidiary": "1", "default_customer_status": "CUSTOMER-Closed Won"}

Find = Callable[[str, Any], "dict[str, Any] | None"]  # (record type, internal id) -> the stored record or None


def account_defaults(record_type: str, row: dict[str, Any], find: Find, knobs: dict[str, Any]) -> dict[str, Any]:
    """The value each of the record type's DEFAULTED fields takes when the record has none."""
    primary = str(knobs["primary_subsidiary"])
    if record_type == "customer":
        subsidiary = row.get("subsidiary") or primary
        return {"subsidiary": subsidiary, "currency": base_currency(find, subsidiary),
                "entityStatus": knobs["default_customer_status"]}
    if record_type == "contact":
        company = find("customer", row.get("company")) or {}
        return {"subsidiary": company.get("subsidiary") or primary}
    if record_type in TRAN_TYPES:
        customer = find("customer", row.get("customer" if record_type == "customerPayment" else "entity")) or {}
        subsidiary = row.get("subsidiary") or customer.get("subsidiary") or primary
        return {"subsidiary": subsidiary, "currency": customer.get("currency") or base_currency(find, subsidiary)}
    return {}


def base_currency(find: Find, subsidiary: Any) -> str | None:
    """A subsidiary's base currency (None when the subsidiary does not exist: its reference is refused anyway)."""
    return (find("subsidiary", subsidiary) or {}).get("currency")


def fill_defaults(record_type: str, row: dict[str, Any], written: dict[str, Any], *, new: bool, find: Find,
                  knobs: dict[str, Any]) -> list[str]:
    """Give the record the defaults it lacks; returns the DEFAULTED fields this write tried to empty (on a create
    an empty value is no value, and takes the default)."""
    names = DEFAULTED.get(record_type, ())
    if not names:
        return []
    emptied = [n for n in names if not new and n in written and written[n] in (None, "")]
    if all(row.get(n) not in (None, "") for n in names):
        return emptied
    for name, value in account_defaults(record_type, row, find, knobs).items():
        if row.get(name) in (None, "") and name not in emptied and value is not None:
            row[name] = value
    return emptied
