"""HubSpot's objects: their names and aliases, the properties and association types the connector relies on,
and the reserved keys a caller may put in a record it writes."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.base import ConnectorError, format_timestamp

OBJECT_TYPES = {"companies", "contacts", "deals", "products", "line_items", "quotes", "invoices"}
_ALIASES = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-7": "products", "0-8": "line_items",
            "0-14": "quotes", "0-53": "invoices", "company": "companies", "contact": "contacts", "deal": "deals",
            "product": "products", "line_item": "line_items", "quote": "quotes", "invoice": "invoices"}
SINGULAR_NAMES = {"companies": "company", "contacts": "contact", "deals": "deal", "products": "product",
                  "line_items": "line_item", "quotes": "quote", "invoices": "invoice"}
# Objects HubSpot merges itself (POST /crm/v3/objects/<object>/merge).
MERGEABLE = frozenset({"companies", "contacts"})
BATCH_SIZE = 100
SEARCH_PAGE_MAX = 200
LIST_PAGE_MAX = 100
# The hub's own id on every record it creates: a unique custom property (created at set-up).
HUB_ID_PROPERTY = "hub_record_id"

# Reserved keys a caller may put in an upsert_many record; they are not HubSpot properties. `associations`
# (what a rule path like `associations.companies.0` writes) is read as `_associations`.
KEY, ASSOCIATIONS, ID = "_key", "_associations", "id"
READ_ASSOCIATIONS = "associations"
# A document's lines (deals, quotes, invoices): HubSpot keeps them as line_items records associated with the
# document; the connector reads and writes them as the document's pseudo-field `line_items`, a list of lines.
LINE_ITEMS = "line_items"
DOCUMENTS = frozenset({"deals", "quotes", "invoices"})
LINE_ITEM_PROPERTIES = ("name", "hs_product_id", "hs_sku", "quantity", "price", "discount", "hs_discount_percentage",
                        "amount", "hs_line_item_currency_code", "hs_position_on_quote")

# HUBSPOT_DEFINED default association type ids, for associations sent inline with a create.
ASSOCIATION_TYPE_IDS: dict[tuple[str, str], int] = {
    ("contacts", "companies"): 279, ("deals", "companies"): 341, ("deals", "contacts"): 3,
    ("line_items", "deals"): 20, ("line_items", "quotes"): 68, ("quotes", "deals"): 64,
    ("quotes", "companies"): 71, ("invoices", "line_items"): 409, ("line_items", "invoices"): 410,
    ("invoices", "deals"): 175, ("invoices", "contacts"): 177, ("invoices", "companies"): 179,
}


def object_type(name: str) -> str:
    """Canonical plural object name for a name or type id (deals are also "0-3")."""
    canonical = _ALIASES.get(name, name)
    if canonical not in OBJECT_TYPES:
        raise ConnectorError(f"hubspot: unknown object {name!r}", kind="config", permanent=True)
    return canonical


def modified_property(object_name: str) -> str:
    """The last-modified property search filters on; contacts keep the legacy name."""
    return "lastmodifieddate" if object_name == "contacts" else "hs_lastmodifieddate"


def property_value(value: Any) -> Any:
    """HubSpot properties are strings; keep None (clears) and let JSON numbers/bools through unchanged."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value


def epoch_ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
