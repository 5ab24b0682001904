"""Record types the NetSuite emulator serves: fields, types, references, sublists, and their JSON Schema."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

REST = "/services/rest"


@dataclass(frozen=True)
class F:
    """One field of a record type: type is string|number|integer|boolean|date|datetime|object|ref|sublist.

    `lines` holds a sublist's line fields, or an object's (subrecord's) fields; `custom` marks account custom fields.
    """

    type: str
    label: str
    required: bool = False
    ref: str | None = None
    read_only: bool = False
    options: tuple[str, ...] = ()
    lines: dict[str, F] = field(default_factory=dict)
    custom: bool = False


# The account's currencies (NetSuite keeps them as currency records; the sandbox keeps their ISO codes).
CURRENCIES = ("USD", "EUR", "GBP")
COMMON = {"id": F("string", "Internal ID", read_only=True), "externalId": F("string", "External ID"),
          "lastModifiedDate": F("datetime", "Date Last Modified", read_only=True),
          "dateCreated": F("datetime", "Date Created", read_only=True)}
# `custcol_hub_discount` is an account custom column (the sandbox account has it, as the quote-to-cash template
# needs): NetSuite lines have no discount of their own, `rate` is the net price and the column keeps the discount.
LINES = {"line": F("integer", "Line", read_only=True), "item": F("ref", "Item", True, ref="inventoryItem"),
         "quantity": F("number", "Quantity", True), "rate": F("number", "Rate"),
         "amount": F("number", "Amount", read_only=True), "description": F("string", "Description"),
         "priceLevel": F("ref", "Price Level", ref="priceLevel"),
         "custcol_hub_discount": F("number", "Unit discount (Integration Hub)", custom=True)}
TRANSACTION = {
    "tranId": F("string", "Document Number"), "entity": F("ref", "Customer", True, ref="customer"),
    "tranDate": F("date", "Date"), "memo": F("string", "Memo"), "otherRefNum": F("string", "PO #"),
    "currency": F("string", "Currency", options=CURRENCIES), "terms": F("string", "Terms"),
    "salesRep": F("ref", "Sales Rep", ref="employee"), "subsidiary": F("ref", "Subsidiary", ref="subsidiary"),
    "status": F("string", "Status", read_only=True), "subtotal": F("number", "Subtotal", read_only=True),
    "total": F("number", "Total", read_only=True), "item": F("sublist", "Items", True, lines=LINES),
}
# A customer payment applied to invoices: creating one pays them (amount paid, amount due, status) and lowers the
# customer's balance, as NetSuite does.
PAYMENT = {
    "tranId": F("string", "Payment Number"), "customer": F("ref", "Customer", True, ref="customer"),
    "tranDate": F("date", "Date"), "memo": F("string", "Memo"), "currency": F("string", "Currency"),
    "subsidiary": F("ref", "Subsidiary", ref="subsidiary"), "payment": F("number", "Payment Amount", True),
    "apply": F("sublist", "Apply", True, lines={"line": F("integer", "Line", read_only=True),
                                                "doc": F("ref", "Invoice", True, ref="invoice"),
                                                "amount": F("number", "Payment", True)}),
}
# The address subrecord of an address book line (addrText is NetSuite's formatted address, computed).
ADDRESS = {"addressee": F("string", "Addressee"), "attention": F("string", "Attention"),
           "addr1": F("string", "Address 1"), "addr2": F("string", "Address 2"), "addr3": F("string", "Address 3"),
           "city": F("string", "City"), "state": F("string", "State/Province"), "zip": F("string", "Zip"),
           "country": F("string", "Country"), "addrPhone": F("string", "Phone"),
           "addrText": F("string", "Address", read_only=True)}
# Customer categories and statuses are list records in NetSuite ({id, refName}); the sandbox keeps their names.
CATEGORIES = ("Software", "Manufacturing", "Retail", "Services", "Wholesale")
ENTITY_STATUSES = ("LEAD-Unqualified", "LEAD-Qualified", "PROSPECT-In Discussion", "PROSPECT-Proposal",
                   "PROSPECT-In Negotiation", "CUSTOMER-Closed Won", "CUSTOMER-Renewal")
SCHEMAS: dict[str, dict[str, F]] = {
    "customer": {
        "entityId": F("string", "Customer ID"), "companyName": F("string", "Company Name", True),
        "email": F("string", "Email"), "phone": F("string", "Phone"), "url": F("string", "Web Address"),
        "isInactive": F("boolean", "Inactive"), "comments": F("string", "Comments"),
        "creditLimit": F("number", "Credit Limit"),
        "creditHoldOverride": F("string", "Credit Hold", options=("AUTO", "ON", "OFF")),
        "terms": F("string", "Terms"), "currency": F("string", "Currency", options=CURRENCIES),
        "priceLevel": F("ref", "Price Level", ref="priceLevel"),
        "balance": F("number", "Balance", read_only=True), "overdueBalance": F("number", "Overdue", read_only=True),
        "daysOverdue": F("integer", "Days Overdue", read_only=True),
        "category": F("string", "Category", options=CATEGORIES),
        "entityStatus": F("string", "Status", options=ENTITY_STATUSES),
        "salesRep": F("ref", "Sales Rep", ref="employee"),
        "subsidiary": F("ref", "Primary Subsidiary", ref="subsidiary"),
        "addressBook": F("sublist", "Address Book", lines={
            "line": F("integer", "Line", read_only=True), "label": F("string", "Label"),
            "defaultBilling": F("boolean", "Default Billing"), "defaultShipping": F("boolean", "Default Shipping"),
            "addressBookAddress": F("object", "Address", lines=ADDRESS)}),
    },
    "contact": {
        "entityId": F("string", "Name"), "firstName": F("string", "First Name"),
        "lastName": F("string", "Last Name", True), "company": F("ref", "Company", ref="customer"),
        "email": F("string", "Email"), "phone": F("string", "Phone"), "title": F("string", "Job Title"),
        "isInactive": F("boolean", "Inactive"), "comments": F("string", "Comments"),
        "subsidiary": F("ref", "Subsidiary", ref="subsidiary"),
    },
    "employee": {
        "entityId": F("string", "Name"), "firstName": F("string", "First Name"),
        "lastName": F("string", "Last Name", True), "email": F("string", "Email"), "phone": F("string", "Phone"),
        "title": F("string", "Job Title"), "isSalesRep": F("boolean", "Sales Rep"),
        "isInactive": F("boolean", "Inactive"),
    },
    # A OneWorld account's legal entities; each keeps its books in a base currency.
    "subsidiary": {"name": F("string", "Name", True), "currency": F("string", "Currency", True, options=CURRENCIES),
                   "country": F("string", "Country"), "parent": F("ref", "Subsidiary Of", ref="subsidiary"),
                   "isInactive": F("boolean", "Inactive")},
    "priceLevel": {"name": F("string", "Price Level", True), "discountPct": F("number", "Markup/Discount %"),
                   "isInactive": F("boolean", "Inactive")},
    "inventoryItem": {
        "itemId": F("string", "Item Name/Number", True), "displayName": F("string", "Display Name"),
        "salesDescription": F("string", "Sales Description"), "upcCode": F("string", "UPC Code"),
        "cost": F("number", "Purchase Price"), "basePrice": F("number", "Base Price"),
        "isInactive": F("boolean", "Inactive"),
        "quantityOnHand": F("number", "On Hand", read_only=True),
        "quantityAvailable": F("number", "Available", read_only=True),
        "price": F("sublist", "Pricing", lines={"line": F("integer", "Line", read_only=True),
                                                  "priceLevel": F("ref", "Price Level", True, ref="priceLevel"),
                                                  "price": F("number", "Unit Price", True)}),
    },
    "estimate": {**TRANSACTION, "expirationDate": F("date", "Expires")},
    "salesOrder": TRANSACTION,
    "invoice": {**TRANSACTION, "dueDate": F("date", "Due Date"),
                "createdFrom": F("ref", "Created From", ref="salesOrder"),
                "amountPaid": F("number", "Amount Paid", read_only=True),
                "amountRemaining": F("number", "Amount Due", read_only=True)},
    "customerPayment": PAYMENT,
}
SUITEQL_TABLES = {"customer": ("customer",), "contact": ("contact",), "employee": ("employee",),
                  "subsidiary": ("subsidiary",),
                  "pricelevel": ("priceLevel",), "item": ("inventoryItem",),
                  "transaction": ("estimate", "salesOrder", "invoice", "customerPayment")}
# Account custom fields: the id prefix NetSuite requires per record type, and the field types the sandbox offers.
CUSTOM_PREFIXES = {"customer": "custentity_", "contact": "custentity_", "employee": "custentity_",
                   "inventoryItem": "custitem_", "estimate": "custbody_", "salesOrder": "custbody_",
                   "invoice": "custbody_", "customerPayment": "custbody_"}
CUSTOM_TYPES = ("string", "number", "integer", "boolean", "date", "datetime")
TRAN_TYPES = {"estimate": "Estimate", "salesOrder": "SalesOrd", "invoice": "CustInvc", "customerPayment": "CustPymt"}
NAME_FIELDS = ("companyName", "itemId", "tranId", "name", "entityId", "lastName")


def merge_lines(current: list[dict[str, Any]], incoming: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """PATCH without replace: a line with a known `line` number is updated (its subrecords field by field), others
    are added. Returns (all lines, the lines this write touched)."""
    merged = [dict(line) for line in current]
    by_number = {line.get("line"): line for line in merged}
    touched = []
    for line in incoming:
        target = by_number.get(line.get("line"))
        if target is not None:
            for name, value in line.items():
                old = target.get(name)
                target[name] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
        else:
            target = {k: v for k, v in line.items() if k != "line"}
            merged.append(target)
        touched.append(target)
    return merged, touched


def custom_field(definition: dict[str, Any]) -> F:
    """The F of an account custom field stored by the admin endpoint."""
    return F(definition["type"], definition["label"], options=tuple(definition.get("options") or ()), custom=True)


def parses(value: str, kind: str) -> bool:
    """Whether a value is an ISO date (kind "date") or date-time."""
    try:
        if kind == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def json_schema(record_type: str, name: str, spec: F) -> dict[str, Any]:
    """One property of the metadata catalog's JSON Schema, with NetSuite's $ref style for references/sublists."""
    prop: dict[str, Any] = {"title": spec.label}
    if spec.type == "ref":
        prop.update({"type": "object", "$ref": f"{REST}/record/v1/metadata-catalog/{spec.ref}"})
    elif spec.type == "sublist":
        prop.update({"type": "object", "$ref": f"{REST}/record/v1/metadata-catalog/{record_type}-{name}Collection"})
    elif spec.type in ("date", "datetime"):
        prop.update({"type": "string", "format": "date" if spec.type == "date" else "date-time"})
    elif spec.type == "object" and spec.lines:
        properties = {name: json_schema(record_type, name, sub) for name, sub in spec.lines.items()}
        prop.update({"type": "object", "properties": properties})
    else:
        prop["type"] = spec.type
    if spec.options:
        prop["enum"] = list(spec.options)
    if spec.read_only:
        prop["readOnly"] = True
    if spec.custom:
        prop["x-ns-custom-field"] = True
    prop["nullable"] = not spec.required
    return prop
