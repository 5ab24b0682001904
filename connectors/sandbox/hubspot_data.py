"""HubSpot emulator data: standard properties per object and the "demo" seed preset."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "products": "product",
            "line_items": "line_item", "quotes": "quote", "invoices": "invoice"}


def property_spec(name: str, label: str, type_: str = "string", field_type: str = "text", *, group: str = "",
                  options: Iterable[str] = (), unique: bool = False, read_only: bool = False) -> dict[str, Any]:
    """A property definition in HubSpot's `Property` shape."""
    stamp = "2020-01-01T00:00:00.000Z"
    return {
        "name": name, "label": label, "type": type_, "fieldType": field_type, "description": "",
        "groupName": group, "options": [{"label": o.replace("_", " ").title(), "value": o, "displayOrder": i,
                                         "hidden": False} for i, o in enumerate(options)],
        "displayOrder": -1, "calculated": False, "externalOptions": False, "hasUniqueValue": unique,
        "hidden": False, "hubspotDefined": True, "formField": not read_only, "archived": False,
        "createdAt": stamp, "updatedAt": stamp,
        "modificationMetadata": {"archivable": not read_only, "readOnlyDefinition": True,
                                 "readOnlyValue": read_only},
    }


def system_property_specs(object_type: str) -> list[dict[str, Any]]:
    """The read-only properties HubSpot maintains on every record of the object."""
    group = f"{SINGULAR[object_type]}information"
    props = [
        property_spec("hs_object_id", "Record ID", "number", "number", group=group, read_only=True, unique=True),
        property_spec("hs_createdate", "Create date", "datetime", "date", group=group, read_only=True),
        property_spec("hs_lastmodifieddate", "Last modified date", "datetime", "date", group=group, read_only=True),
        property_spec("hs_merged_object_ids", "Merged record IDs", "enumeration", "checkbox", group=group,
                      read_only=True),
    ]
    if object_type in ("contacts", "companies", "deals"):
        props.append(property_spec("createdate", "Create date", "datetime", "date", group=group, read_only=True))
    if object_type == "contacts":
        props.append(property_spec("lastmodifieddate", "Last modified date", "datetime", "date", group=group,
                                   read_only=True))
    return props


STANDARD_PROPERTIES: dict[str, list[dict[str, Any]]] = {
    "companies": [
        property_spec("name", "Company name", group="companyinformation"),
        property_spec("domain", "Company domain name", group="companyinformation"),
        property_spec("phone", "Phone number", field_type="phonenumber", group="companyinformation"),
        property_spec("address", "Street address", group="companyinformation"),
        property_spec("city", "City", group="companyinformation"),
        property_spec("zip", "Postal code", group="companyinformation"),
        property_spec("country", "Country/Region", group="companyinformation"),
        property_spec("industry", "Industry", "enumeration", "select", group="companyinformation",
                      options=("COMPUTER_SOFTWARE", "MANUFACTURING", "RETAIL", "WHOLESALE", "MACHINERY", "LOGISTICS")),
        property_spec("numberofemployees", "Number of employees", "number", "number", group="companyinformation"),
        property_spec("annualrevenue", "Annual revenue", "number", "number", group="companyinformation"),
        property_spec("lifecyclestage", "Lifecycle stage", "enumeration", "radio", group="companyinformation",
                      options=("lead", "opportunity", "customer", "other")),
        property_spec("hubspot_owner_id", "Company owner", "enumeration", "select", group="companyinformation"),
    ],
    "contacts": [
        property_spec("firstname", "First name", group="contactinformation"),
        property_spec("lastname", "Last name", group="contactinformation"),
        property_spec("email", "Email", group="contactinformation", unique=True),
        property_spec("phone", "Phone number", field_type="phonenumber", group="contactinformation"),
        property_spec("company", "Company name", group="contactinformation"),
        property_spec("jobtitle", "Job title", group="contactinformation"),
        property_spec("lifecyclestage", "Lifecycle stage", "enumeration", "radio", group="contactinformation",
                      options=("lead", "opportunity", "customer", "other")),
        property_spec("hubspot_owner_id", "Contact owner", "enumeration", "select", group="contactinformation"),
        property_spec("associatedcompanyid", "Primary associated company ID", "number", "number",
                      group="contactinformation"),
    ],
    "products": [
        property_spec("name", "Name", group="productinformation"),
        property_spec("hs_sku", "SKU", group="productinformation"),
        property_spec("price", "Unit price", "number", "number", group="productinformation"),
        property_spec("description", "Description", field_type="textarea", group="productinformation"),
        property_spec("hs_cost_of_goods_sold", "Unit cost", "number", "number", group="productinformation"),
    ],
    "deals": [
        property_spec("dealname", "Deal name", group="dealinformation"),
        property_spec("amount", "Amount", "number", "number", group="dealinformation"),
        property_spec("dealstage", "Deal stage", "enumeration", "radio", group="dealinformation",
                      options=("appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                      "decisionmakerboughtin", "contractsent", "closedwon", "closedlost")),
        property_spec("pipeline", "Pipeline", "enumeration", "select", group="dealinformation", options=("default",)),
        property_spec("closedate", "Close date", "datetime", "date", group="dealinformation"),
        property_spec("deal_currency_code", "Currency", "enumeration", "select", group="dealinformation",
                      options=("USD", "EUR", "GBP", "CHF")),
        property_spec("hubspot_owner_id", "Deal owner", "enumeration", "select", group="dealinformation"),
    ],
    "line_items": [
        property_spec("name", "Name", group="lineiteminformation"),
        property_spec("hs_product_id", "Product ID", "number", "number", group="lineiteminformation"),
        property_spec("quantity", "Quantity", "number", "number", group="lineiteminformation"),
        property_spec("price", "Unit price", "number", "number", group="lineiteminformation"),
        property_spec("discount", "Unit discount", "number", "number", group="lineiteminformation"),
        property_spec("hs_discount_percentage", "Discount percentage", "number", "number",
                      group="lineiteminformation"),
        # Calculated by HubSpot: quantity x (unit price - unit discount, or less the percentage).
        property_spec("amount", "Net price", "number", "number", group="lineiteminformation", read_only=True),
        property_spec("hs_sku", "SKU", group="lineiteminformation"),
        property_spec("hs_line_item_currency_code", "Currency", group="lineiteminformation"),
        property_spec("hs_position_on_quote", "Position on quote", "number", "number", group="lineiteminformation"),
    ],
    "quotes": [
        property_spec("hs_title", "Quote name", group="quoteinformation"),
        property_spec("hs_expiration_date", "Expiration date", "datetime", "date", group="quoteinformation"),
        property_spec("hs_status", "Status", "enumeration", "select", group="quoteinformation",
                      options=("DRAFT", "APPROVAL_NOT_NEEDED", "PENDING_APPROVAL", "APPROVED", "REJECTED")),
        property_spec("hs_currency", "Currency", group="quoteinformation"),
    ],
    "invoices": [
        property_spec("hs_number", "Invoice number", group="invoiceinformation"),
        property_spec("hs_invoice_status", "Status", "enumeration", "select", group="invoiceinformation",
                      options=("draft", "open", "paid", "voided")),
        property_spec("hs_currency", "Currency", group="invoiceinformation"),
        property_spec("hs_amount_billed", "Amount billed", "number", "number", group="invoiceinformation"),
        property_spec("hs_invoice_date", "Invoice date", "datetime", "date", group="invoiceinformation"),
        property_spec("hs_due_date", "Due date", "datetime", "date", group="invoiceinformation"),
    ],
}

# Properties HubSpot returns when a read names none.
DEFAULT_OUTPUT = {
    "companies": ("name", "domain"), "contacts": ("firstname", "lastname", "email"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate"), "products": ("name", "price", "description"),
    "line_items": ("name", "quantity", "price", "amount"), "quotes": ("hs_title",), "invoices": ("hs_number",),
}


# The same companies, people and products the NetSuite emulator's demo ERP holds, as a sales team
# keeps them: other spellings, other formats, a few real differences (scenarios 4–8).
DEMO_COMPANIES: list[dict[str, str]] = [
    # Three spellings of one real company; the ERP knows it once, as "Acme Incorporated".
    {"name": "Acme Inc", "domain": "acme.example", "phone": "+1 217 555 0100", "address": "742 Evergreen Terrace",
     "city": "Springfield", "zip": "62704", "country": "United States", "industry": "MANUFACTURING",
     "lifecyclestage": "customer"},
    {"name": "ACME, Inc.", "domain": "acme.example", "phone": "(217) 555-0100", "address": "742 Evergreen Ter.",
     "city": "Springfield", "zip": "62704", "country": "USA", "industry": "MANUFACTURING",
     "lifecyclestage": "customer"},
    {"name": "Acme Incorporated", "domain": "www.acme.example", "phone": "217.555.0100",
     "address": "742 Evergreen Terrace", "city": "Springfield", "zip": "62704", "country": "US",
     "industry": "MANUFACTURING", "lifecyclestage": "customer"},
    {"name": "Globex Corporation", "domain": "globex.example", "phone": "+1 512 555 0199", "address": "1 Main Street",
     "city": "Cypress Creek", "zip": "73301", "country": "United States", "industry": "COMPUTER_SOFTWARE",
     "lifecyclestage": "customer"},
    {"name": "Initech LLC", "domain": "initech.example", "phone": "+1 512 555 0123", "address": "1 Main Street",
     "city": "Austin", "zip": "73301", "country": "United States", "industry": "COMPUTER_SOFTWARE",
     "lifecyclestage": "opportunity"},
    # Sales calls it by its short name: no shared key with the ERP's "Umbrella Corporation" (its duplicate score
    # links them).
    {"name": "Umbrella Corp", "domain": "umbrella.example", "phone": "+1 512 555 0958", "address": "1 Main Street",
     "city": "Raccoon City", "zip": "73301", "country": "United States", "industry": "LOGISTICS",
     "lifecyclestage": "lead"},
    # Sales updated the shipping address; the ERP still has the old one.
    {"name": "Stark Industries", "domain": "stark.example", "phone": "+1 310 555 0101",
     "address": "10880 Malibu Point", "city": "Malibu", "zip": "73301", "country": "United States",
     "industry": "RETAIL", "lifecyclestage": "customer"},
    # A prospect the ERP has never heard of.
    {"name": "Wayne Retail Group", "domain": "wayneretail.example", "phone": "+1 312 555 0142",
     "address": "1007 Mountain Dr", "city": "Chicago", "zip": "60601", "country": "United States",
     "industry": "RETAIL", "lifecyclestage": "lead"},
]

# (contact, index of its company in DEMO_COMPANIES)
DEMO_CONTACTS: list[tuple[dict[str, str], int]] = [
    ({"firstname": "Wile", "lastname": "Coyote", "email": "wile@acme.example", "jobtitle": "Purchasing"}, 0),
    ({"firstname": "Road", "lastname": "Runner", "email": "road@acme.example", "jobtitle": "Head of Purchasing"}, 1),
    ({"firstname": "Hank", "lastname": "Scorpio", "email": "hank@globex.example", "jobtitle": "Purchasing"}, 3),
    ({"firstname": "Bill", "lastname": "Lumbergh", "email": "bill@initech.example", "jobtitle": "Purchasing"}, 4),
    ({"firstname": "Alice", "lastname": "Abernathy", "email": "alice@umbrella.example", "jobtitle": "Purchasing"}, 5),
    ({"firstname": "Pepper", "lastname": "Potts", "email": "pepper@stark.example", "jobtitle": "CEO"}, 6),
    ({"firstname": "Lucius", "lastname": "Fox", "email": "lucius.fox@wayneretail.example"}, 7),
    ({"firstname": "Milton", "lastname": "Waddams", "email": "milton@initech.example"}, 4),
]

DEMO_PRODUCTS: list[dict[str, str]] = [
    {"name": "Widget Standard", "hs_sku": "WID-100", "price": "12.50", "description": "Widget Standard"},
    # A rep "fixed" the price in the CRM; the ERP owns prices.
    {"name": "Widget Pro", "hs_sku": "WID-200", "price": "22.00", "description": "Widget Pro"},
    {"name": "Gadget Plus (old name)", "hs_sku": "GAD-300", "price": "89.00", "description": "Gadget Plus"},
    {"name": "Cable 10m", "hs_sku": "CBL-010", "price": "7.25", "description": "Cable 10m"},
    {"name": "Service Kit", "hs_sku": "SRV-KIT", "price": "150.00", "description": "Service Kit"},
]

# The demo's deal owners (HubSpot owner ids); the template maps them to the ERP's sales reps.
DEMO_OWNERS = {"jane": "9001", "tom": "9002"}

# (deal, index of its company in DEMO_COMPANIES, lines: (SKU, quantity, unit price, unit discount))
DEMO_DEALS: list[tuple[dict[str, str], int, list[tuple[str, str, str, str]]]] = [
    # Closed at a negotiated price (11.99 a widget, not the 12.50 list price): becomes the ERP order.
    ({"dealname": "Acme - 500 widgets", "amount": "6285.00", "dealstage": "closedwon", "deal_currency_code": "USD",
      "hubspot_owner_id": "9001", "payment_terms": "Net 30"}, 2,
     [("WID-100", "500", "12.50", "0.51"), ("CBL-010", "40", "7.25", "0")]),
    ({"dealname": "Globex annual supply", "amount": "22600.00", "dealstage": "contractsent",
      "deal_currency_code": "USD", "hubspot_owner_id": "9002", "payment_terms": "Net 30"}, 3,
     [("WID-200", "1000", "24.00", "2.00"), ("SRV-KIT", "4", "150.00", "0")]),
    ({"dealname": "Initech gizmo rollout", "amount": "8900.00", "dealstage": "qualifiedtobuy",
      "deal_currency_code": "EUR"}, 4, [("GAD-300", "100", "89.00", "0")]),
    # Closed for a company the ERP does not know (yet), and in pounds: held, not half-created.
    ({"dealname": "Wayne spare parts", "amount": "1259.00", "dealstage": "closedwon",
      "deal_currency_code": "GBP", "hubspot_owner_id": "9002"}, 7,
     [("CBL-010", "100", "7.25", "0"), ("GAD-300", "6", "89.00", "0")]),
    ({"dealname": "Stark installation", "amount": "3800.00", "dealstage": "presentationscheduled",
      "deal_currency_code": "CHF"}, 6, []),
]

# A rep quotes 500 Widget Pro; the ERP has 200, and Acme has an invoice 90 days overdue.
# (quote, index of its company, lines as for deals)
DEMO_QUOTES: list[tuple[dict[str, str], int, list[tuple[str, str, str, str]]]] = [
    ({"hs_title": "Acme - 500 Widget Pro", "hs_currency": "USD", "hs_status": "DRAFT",
      "hs_expiration_date": "2031-12-31T00:00:00.000Z"}, 2, [("WID-200", "500", "24.00", "1.20")]),
]
