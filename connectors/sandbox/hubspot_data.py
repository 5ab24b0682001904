"""HubSpot emulator data: standard properties per object and the "demo" seed preset."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "products": "product",
            "line_items": "line_item", "quotes": "quote", "invoices": "invoice", "tickets": "ticket",
            "calls": "call", "emails": "email", "meetings": "meeting", "notes": "note", "tasks": "task"}
# Plural API name -> object type id; HubSpot accepts either in paths.
OBJECT_TYPE_IDS = {
    "contacts": "0-1", "companies": "0-2", "deals": "0-3", "tickets": "0-5", "products": "0-7",
    "line_items": "0-8", "quotes": "0-14", "invoices": "0-53", "tasks": "0-27", "notes": "0-46",
    "meetings": "0-47", "calls": "0-48", "emails": "0-49",
}
# Objects whose creation time is `createdate` (the others: `hs_createdate`).
CREATEDATE_OBJECTS = frozenset({"contacts", "companies", "deals", "tickets"})

# HUBSPOT_DEFINED association types between the objects the emulator serves, as HubSpot lists them (v4
# associations; the official client's `hubspot.crm.AssociationType` names most of them):
# (from, to, type id, the inverse type id read from the other side, label). An unlabeled type (label None) is the
# pair's default; "Primary" marks the record's primary company (a contact, deal or ticket has at most one).
HUBSPOT_ASSOCIATIONS: list[tuple[str, str, int, int, str | None]] = [
    ("contacts", "companies", 279, 280, None), ("contacts", "companies", 1, 2, "Primary"),
    ("deals", "companies", 341, 342, None), ("deals", "companies", 5, 6, "Primary"),
    ("tickets", "companies", 339, 340, None), ("tickets", "companies", 26, 25, "Primary"),
    ("deals", "contacts", 3, 4, None), ("tickets", "contacts", 16, 15, None), ("deals", "tickets", 27, 28, None),
    ("deals", "line_items", 19, 20, None), ("deals", "quotes", 63, 64, None),
    ("quotes", "line_items", 67, 68, None), ("quotes", "contacts", 69, 70, None),
    ("quotes", "companies", 71, 72, None), ("quotes", "tasks", 217, 218, None),
    ("invoices", "deals", 175, 176, None), ("invoices", "contacts", 177, 178, None),
    ("invoices", "companies", 179, 180, None), ("invoices", "line_items", 409, 410, None),
    ("contacts", "contacts", 449, 449, None), ("companies", "companies", 450, 450, None),
    ("deals", "deals", 451, 451, None), ("tickets", "tickets", 452, 452, None),
    ("calls", "meetings", 399, 400, None),
    # Engagements: from companies (181...), contacts (193...), deals (205...) and tickets (219...), the same
    # offsets per engagement (a call at +0, an email at +4, ...), each with its inverse one above.
    *[(owner, engagement, first + offset, first + offset + 1, None)
      for owner, first in (("companies", 181), ("contacts", 193), ("deals", 205), ("tickets", 219))
      for engagement, offset in (("calls", 0), ("emails", 4), ("meetings", 6), ("notes", 8), ("tasks", 10))],
]


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
    if object_type in CREATEDATE_OBJECTS:
        props.append(property_spec("createdate", "Create date", "datetime", "date", group=group, read_only=True))
    if object_type == "contacts":
        props.append(property_spec("lastmodifieddate", "Last modified date", "datetime", "date", group=group,
                                   read_only=True))
    return props


# An engagement's own properties beside the activity date and owner every engagement has:
# (name, label, type, field type, options).
ENGAGEMENT_FIELDS: dict[str, list[tuple[str, str, str, str, tuple[str, ...]]]] = {
    "calls": [("hs_call_title", "Call title", "string", "text", ()),
              ("hs_call_body", "Call notes", "string", "html", ()),
              ("hs_call_duration", "Call duration", "number", "number", ()),
              ("hs_call_direction", "Call direction", "enumeration", "select", ("INBOUND", "OUTBOUND")),
              ("hs_call_status", "Call status", "enumeration", "select",
               ("BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED", "IN_PROGRESS",
                "NO_ANSWER", "QUEUED", "RINGING"))],
    "emails": [("hs_email_subject", "Email subject", "string", "text", ()),
               ("hs_email_text", "Email body", "string", "textarea", ()),
               ("hs_email_direction", "Email direction", "enumeration", "select",
                ("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL")),
               ("hs_email_status", "Email send status", "enumeration", "select",
                ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"))],
    "meetings": [("hs_meeting_title", "Meeting name", "string", "text", ()),
                 ("hs_meeting_body", "Meeting description", "string", "html", ()),
                 ("hs_meeting_start_time", "Start time", "datetime", "date", ()),
                 ("hs_meeting_end_time", "End time", "datetime", "date", ()),
                 ("hs_meeting_outcome", "Meeting outcome", "enumeration", "select",
                  ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"))],
    "notes": [("hs_note_body", "Note body", "string", "html", ())],
    "tasks": [("hs_task_subject", "Task title", "string", "text", ()),
              ("hs_task_body", "Task notes", "string", "html", ()),
              ("hs_task_status", "Task status", "enumeration", "select",
               ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")),
              ("hs_task_priority", "Priority", "enumeration", "select", ("NONE", "LOW", "MEDIUM", "HIGH")),
              ("hs_task_type", "Task type", "enumeration", "select", ("TODO", "CALL", "EMAIL"))],
}


def engagement_properties(engagement: str, fields: list[tuple[str, str, str, str, tuple[str, ...]]]) -> list[dict]:
    """An engagement's standard properties: the activity date, the owner and its own fields."""
    group = f"{SINGULAR[engagement]}information"
    return [property_spec("hs_timestamp", "Activity date", "datetime", "date", group=group),
            property_spec("hubspot_owner_id", "Activity assigned to", "enumeration", "select", group=group),
            *[property_spec(name, label, kind, field, group=group, options=options)
              for name, label, kind, field, options in fields]]


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
    "tickets": [
        property_spec("subject", "Ticket name", group="ticketinformation"),
        property_spec("content", "Ticket description", field_type="textarea", group="ticketinformation"),
        property_spec("hs_pipeline", "Pipeline", "enumeration", "select", group="ticketinformation", options=("0",)),
        property_spec("hs_pipeline_stage", "Ticket status", "enumeration", "select", group="ticketinformation",
                      options=("1", "2", "3", "4")),
        property_spec("hs_ticket_priority", "Priority", "enumeration", "select", group="ticketinformation",
                      options=("LOW", "MEDIUM", "HIGH", "URGENT")),
        property_spec("hs_ticket_category", "Category", "enumeration", "checkbox", group="ticketinformation",
                      options=("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY")),
        property_spec("hubspot_owner_id", "Ticket owner", "enumeration", "select", group="ticketinformation"),
    ],
    **{engagement: engagement_properties(engagement, fields) for engagement, fields in ENGAGEMENT_FIELDS.items()},
}

# Properties HubSpot returns when a read names none.
DEFAULT_OUTPUT = {
    "companies": ("name", "domain"), "contacts": ("firstname", "lastname", "email"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate"), "products": ("name", "price", "description"),
    "line_items": ("name", "quantity", "price", "amount"), "quotes": ("hs_title",), "invoices": ("hs_number",),
    "tickets": ("subject", "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority",
                "hs_ticket_category"),
    "calls": ("hs_timestamp", "hs_call_title"), "emails": ("hs_timestamp", "hs_email_subject"),
    "meetings": ("hs_timestamp", "hs_meeting_title"), "notes": ("hs_timestamp", "hs_note_body"),
    "tasks": ("hs_timestamp", "hs_task_subject", "hs_task_status"),
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
