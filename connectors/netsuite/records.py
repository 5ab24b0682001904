"""NetSuite's record types and shapes: the types the connector serves and their SuiteQL tables, record JSON as
fields, the metadata catalog's types, and the vendor's error details in a message."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import ConnectorError

RECORD_PATH = "/services/rest/record/v1"
# Record type -> (SuiteQL table, extra condition selecting that type in a shared table).
SUITEQL_TABLES: dict[str, tuple[str, str | None]] = {
    "customer": ("customer", None),
    "contact": ("contact", None),
    "employee": ("employee", None),
    "priceLevel": ("pricelevel", None),
    "inventoryItem": ("item", "itemtype = 'InvtPart'"),
    "estimate": ("transaction", "type = 'Estimate'"),
    "salesOrder": ("transaction", "type = 'SalesOrd'"),
    "invoice": ("transaction", "type = 'CustInvc'"),
    "customerPayment": ("transaction", "type = 'CustPymt'"),
}
_JSON_SCHEMA_TYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean"}
# Record types whose changes() reads full records (sublists expanded) unless told otherwise: their lines matter.
SUBLISTS_BY_DEFAULT = frozenset({"estimate", "salesOrder", "invoice"})
# A record NetSuite keeps but no longer uses has this field true: read as archived, set to retire a duplicate.
INACTIVE_FIELD = "isInactive"
# A sales order's customer is fixed once the order is fulfilled (in part), billed, closed or cancelled: NetSuite
# disables the field (the fulfilments and invoices are the customer's). Status as the REST record API reads it.
CUSTOMER_FIXED_STATUSES = frozenset({"Partially Fulfilled", "Pending Billing/Partially Fulfilled", "Pending Billing",
                                     "Billed", "Closed", "Cancelled"})


def clean(value: Any) -> Any:
    """Drop `links`, and turn expanded sublists ({items: [...]}) into plain lists of lines."""
    if isinstance(value, dict):
        if "items" in value and isinstance(value["items"], list):
            return [clean(line) for line in value["items"]]
        return {k: clean(v) for k, v in value.items() if k != "links"}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def field_type(prop: Mapping[str, Any]) -> str:
    """JSON Schema property -> our field type name."""
    ref = str(prop.get("$ref") or "")
    if ref:
        return "sublist" if ref.endswith("Collection") else "reference"
    kind = prop.get("type")
    if kind == "string" and prop.get("format") in ("date", "date-time"):
        return "date" if prop["format"] == "date" else "datetime"
    return _JSON_SCHEMA_TYPES.get(str(kind), str(kind or "object"))


def vendor_error(exc: ConnectorError) -> ConnectorError:
    """The error with every o:errorDetails entry (code, pointer, text) in its message, for the held-record view."""
    details = exc.details.get("o:errorDetails") if isinstance(exc.details, dict) else None
    if not isinstance(details, list) or not details:
        return exc
    parts = []
    for item in details:
        if isinstance(item, dict):
            where = item.get("o:errorPath") or item.get("o:errorQueryParam") or item.get("o:errorHeader")
            parts.append(f"{item.get('o:errorCode', 'ERROR')}{f' at {where}' if where else ''}: {item.get('detail')}")
    return ConnectorError(f"netsuite HTTP {exc.status}: {'; '.join(parts)}", kind=exc.kind, permanent=exc.permanent,
                          status=exc.status, retry_after=exc.retry_after, details=exc.details)
