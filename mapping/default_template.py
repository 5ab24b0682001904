"""The default field template for HubSpot (CRM) ↔ NetSuite (ERP): who owns what, and why.

Owners follow how each field is used: sales edits the relationship (industry, lifecycle, owner)
in the CRM; finance keeps the money (credit, terms, balances, prices, invoices) in the ERP; a
few fields both teams edit are shared. ERP-owned money uses the `queue` policy with a Finance
approver, so a CRM-side edit waits for finance instead of being silently reverted.

References: a HubSpot record's associations are read as the pseudo-field `associations`
(`associations.companies.0` is the first associated company) and written as associations.

NetSuite addresses: the template reads the address-book line flagged default shipping as the
shipping address and the one flagged default billing as billing (often the same line). NetSuite
replaces a whole sublist on write, so a writer must send the merged address book, not one line.

Quote to cash (scenarios 1-3). Documents carry their lines as one field, `lines`, in the canonical form of
mapping/line_items.py (item, quantity, unit price and unit discount as money), merged as a whole document by
its owner:
- Quote (HubSpot quote ↔ NetSuite estimate): the CRM owns header and lines; every CRM quote becomes an
  estimate; the estimate's number and status come back to the quote (custom quote properties).
- Deal (HubSpot deal ↔ NetSuite sales order): a deal reaching Closed Won creates one sales order (the create
  key `hub-<record id>` is the order's externalId, so a retried or repeated create updates the same order):
  customer, currency, payment terms, the deal owner as sales rep and the deal's lines at their negotiated
  prices. HubSpot has no orders object here, so the order lives on the deal: its number, status, date and
  total are custom deal properties, its lines are the deal's line items. An ERP order no deal made (keyed in
  the ERP) becomes a HubSpot deal associated with the customer's company, with the order's lines as its line
  items: HubSpot needs a pipeline and a stage the ERP does not have, so the mapping's `erp_create_defaults`
  (ERP_DEAL_DEFAULTS) give them -- the stage from the order status (a cancelled order is a lost deal, any other
  is won) -- and the deal's amount is the order's total. Such a deal is linked to its order from the start: it
  never comes back as a second order.
- Invoice (NetSuite invoice → HubSpot invoice): the ERP owns everything; each invoice becomes a HubSpot invoice
  associated with the company and, when its order came from a deal, the deal; amount, amount paid and amount
  due (custom invoice properties), due date and status follow payments.
HubSpot lines are `line_items` records associated with the document (properties hs_product_id, quantity,
price, discount = per unit; hs_discount_percentage is read too); the connector reads and replaces them as the
document's pseudo-field `line_items`. Deleting a line item leaves its document's modification time alone: each pull
lists the line items HubSpot archived since the cursor and re-reads the documents that held them (a full resync
catches it too). Associations the hub writes (`associations.companies.0`) replace that object type's associations,
so a deal or invoice moved to another company loses the old one.
NetSuite lines are the `item` sublist, replaced whole: `rate` is the net
unit price, and the unit discount is kept in the custom transaction column `custcol_hub_discount` (number),
which the NetSuite account needs. Items (products) must be linked before their lines sync; a line whose item is
not linked holds the document. Sales reps: `SALES_REPS` maps NetSuite employee ids to HubSpot owner ids (the
demo's; replace it with your own); an owner missing from it holds the order until it is added.
NetSuite fixes an order's customer once it is fulfilled, billed, closed or cancelled: a deal moved to another company
after that moves nothing in NetSuite; the change is held with the reason (connectors.netsuite.CUSTOMER_FIXED_STATUSES).
"""
from __future__ import annotations

from typing import Any

# The systems these rules are written for: the template offers itself only to this pair.
CRM_VENDOR, ERP_VENDOR = "hubspot", "netsuite"
CRM_OWNS, ERP_OWNS, SHARED = "crm", "erp", "shared"

USD = {"name": "money", "params": {"currency": "USD", "vendor_type": "number"}}
# An amount whose currency field is empty is in the system's base currency, as each vendor itself reads it (the
# demo accounts' base currency is USD; set your own when installing the template).
BASE_CURRENCY = "USD"
CRM_MONEY = {"name": "money", "params": {"currency_field": "erp_currency", "vendor_type": "string",
                                         "default_currency": BASE_CURRENCY}}
INVOICE_MONEY = {"name": "money", "params": {"currency_field": "hs_currency", "vendor_type": "string",
                                             "default_currency": BASE_CURRENCY}}
ERP_MONEY = {"name": "money", "params": {"currency_field": "currency", "vendor_type": "number",
                                         "default_currency": BASE_CURRENCY}}
TRIM = {"name": "trim", "params": {"collapse": True}}
# A local number is read in the default region; one that still is no phone number flows as typed, flagged.
PHONE = {"name": "phone_e164", "params": {"default_region": "US", "unparseable": "keep"}}
DATE_MS = {"name": "date_format", "params": {"format": "epoch_ms"}}
YES_NO = {"name": "boolean", "params": {"true": "true", "false": "false"}}

INDUSTRIES = {"COMPUTER_SOFTWARE": "software", "MANUFACTURING": "manufacturing", "RETAIL": "retail",
              "WHOLESALE": "wholesale", "MACHINERY": "manufacturing", "LOGISTICS": "services"}
NS_CATEGORIES = {"Software": "software", "Manufacturing": "manufacturing", "Retail": "retail",
                 "Wholesale": "wholesale", "Services": "services"}
LIFECYCLE_CRM = {"lead": "lead", "opportunity": "prospect", "customer": "customer", "other": "other"}
LIFECYCLE_ERP = {"LEAD-Unqualified": "other", "LEAD-Qualified": "lead", "PROSPECT-In Discussion": "prospect",
                 "PROSPECT-Proposal": "prospect", "PROSPECT-In Negotiation": "prospect",
                 "CUSTOMER-Closed Won": "customer", "CUSTOMER-Renewal": "customer"}
LIFECYCLE_ERP_PREFERRED = {"prospect": "PROSPECT-In Discussion", "customer": "CUSTOMER-Closed Won"}
TERMS = ["Net 15", "Net 30", "Net 60", "Due on receipt"]
# NetSuite employee internal id -> HubSpot owner id (the demo accounts'; each portal and account has its own).
SALES_REPS = {"100": "9001", "101": "9002"}
INVOICE_STATUSES = {"Open": "open", "Paid In Full": "paid", "Pending Approval": "draft", "Voided": "voided"}
CREDIT_HOLD = {"AUTO": "auto", "ON": "on", "OFF": "off"}
DEAL_STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
               "contractsent", "closedwon", "closedlost"]


def rule(field: str, field_type: str, crm: str, erp: str, owner: str, *, policy: str = "",
         approver: str = "revops", crm_t: list | None = None, erp_t: list | None = None,
         validation: dict | None = None, sensitive: bool = False, to: str = "") -> dict[str, Any]:
    """One field rule; `policy` is the conflict policy (shared) or the non-owner policy (owned); `to` is the
    entity a reference points at."""
    shared = owner == SHARED
    return {
        "field": field, "field_type": field_type, "reference_to": to, "crm_path": crm, "erp_path": erp,
        "system_of_record": owner,
        "conflict_policy": (policy or "last_write_wins") if shared else "",
        "non_owner_policy": "" if shared else (policy or "revert_and_log"),
        "approver_role": approver, "crm_transforms": crm_t or [], "erp_transforms": erp_t or [],
        "validation": validation or {}, "sensitive": sensitive,
    }


def finance_money(field: str, crm: str, erp: str, *, crm_t: list | None = None, erp_t: list | None = None,
                  **kw) -> dict[str, Any]:
    """ERP-owned money: a CRM edit is queued for a Finance approver."""
    return rule(field, "money", crm, erp, ERP_OWNS, policy="queue", approver="finance",
                crm_t=crm_t or [CRM_MONEY], erp_t=erp_t or [ERP_MONEY], **kw)


def picklist(mapping: dict[str, str], **extra) -> dict[str, Any]:
    return {"name": "picklist", "params": {"map": mapping, "unknown": "reject", **extra}}


SHIP = "addressBook.defaultShipping=true.addressBookAddress"
BILL = "addressBook.defaultBilling=true.addressBookAddress"

ACCOUNT_RULES = [
    rule("name", "text", "name", "companyName", SHARED, policy="manual_review", crm_t=[TRIM], erp_t=[TRIM],
         validation={"required": True, "max_length": 83}),
    rule("phone", "text", "phone", "phone", SHARED, crm_t=[PHONE], erp_t=[PHONE]),
    rule("shipping_street", "text", "address", f"{SHIP}.addr1", SHARED, crm_t=[TRIM], erp_t=[TRIM]),
    rule("shipping_city", "text", "city", f"{SHIP}.city", SHARED, crm_t=[TRIM], erp_t=[TRIM]),
    rule("shipping_postcode", "text", "zip", f"{SHIP}.zip", SHARED, crm_t=[TRIM], erp_t=[TRIM]),
    rule("shipping_country", "text", "country", f"{SHIP}.country", SHARED,
         crm_t=[{"name": "country", "params": {"vendor": "name"}}],
         erp_t=[{"name": "country", "params": {"vendor": "alpha2"}}]),
    rule("industry", "choice", "industry", "category", CRM_OWNS,
         crm_t=[picklist(INDUSTRIES, preferred={"manufacturing": "MANUFACTURING", "services": "LOGISTICS"})],
         erp_t=[picklist(NS_CATEGORIES)],
         validation={"choices": sorted(set(INDUSTRIES.values()) | set(NS_CATEGORIES.values()))}),
    rule("domain", "text", "domain", "url", CRM_OWNS, crm_t=[TRIM], erp_t=[TRIM]),
    rule("lifecycle_stage", "choice", "lifecyclestage", "entityStatus", CRM_OWNS,
         crm_t=[picklist(LIFECYCLE_CRM)], erp_t=[picklist(LIFECYCLE_ERP, preferred=LIFECYCLE_ERP_PREFERRED)],
         validation={"choices": sorted(set(LIFECYCLE_CRM.values()))}),
    # HubSpot owner ids and NetSuite employees are different id spaces: kept in the hub until a user map exists.
    rule("sales_owner", "text", "hubspot_owner_id", "", CRM_OWNS),
    rule("customer_number", "text", "erp_customer_number", "entityId", ERP_OWNS, validation={"max_length": 83}),
    rule("billing_street", "text", "erp_billing_street", f"{BILL}.addr1", ERP_OWNS),
    rule("billing_city", "text", "erp_billing_city", f"{BILL}.city", ERP_OWNS),
    rule("billing_postcode", "text", "erp_billing_zip", f"{BILL}.zip", ERP_OWNS),
    rule("billing_country", "text", "erp_billing_country", f"{BILL}.country", ERP_OWNS),
    finance_money("credit_limit", "erp_credit_limit", "creditLimit", validation={"min": 0}),
    rule("payment_terms", "choice", "erp_payment_terms", "terms", ERP_OWNS, policy="queue", approver="finance",
         validation={"choices": TERMS}),
    rule("credit_hold", "choice", "erp_credit_hold", "creditHoldOverride", ERP_OWNS, policy="queue",
         approver="finance", erp_t=[picklist(CREDIT_HOLD)], crm_t=[picklist({v: v for v in CREDIT_HOLD.values()})],
         validation={"choices": sorted(CREDIT_HOLD.values())}),
    finance_money("outstanding_balance", "erp_outstanding_balance", "balance"),
    finance_money("overdue_balance", "erp_overdue_balance", "overdueBalance"),
    # How late the customer pays, before a rep quotes; and the currency it is billed in.
    rule("days_overdue", "number", "erp_days_overdue", "daysOverdue", ERP_OWNS,
         crm_t=[{"name": "number", "params": {"vendor_type": "string"}}],
         erp_t=[{"name": "number", "params": {"vendor_type": "number"}}]),
    rule("currency", "text", "erp_currency", "currency", ERP_OWNS),
]

CONTACT_RULES = [
    rule("first_name", "text", "firstname", "firstName", SHARED, crm_t=[TRIM], erp_t=[TRIM]),
    rule("last_name", "text", "lastname", "lastName", SHARED, crm_t=[TRIM], erp_t=[TRIM],
         validation={"required": True}),
    rule("email", "text", "email", "email", SHARED, crm_t=[TRIM], erp_t=[TRIM],
         validation={"pattern": r"[^@\s]+@[^@\s]+\.[^@\s]+"}),
    rule("phone", "text", "phone", "phone", SHARED, crm_t=[PHONE], erp_t=[PHONE]),
    rule("job_title", "text", "jobtitle", "title", SHARED, crm_t=[TRIM], erp_t=[TRIM]),
    rule("account", "reference", "associatedcompanyid", "company.id", SHARED, to="account"),
    # CRM-only facts: kept in the hub, not written to the ERP.
    rule("owner", "text", "hubspot_owner_id", "", CRM_OWNS),
    rule("lifecycle_stage", "choice", "lifecyclestage", "", CRM_OWNS, crm_t=[picklist(LIFECYCLE_CRM)],
         validation={"choices": sorted(set(LIFECYCLE_CRM.values()))}),
]

ITEM_RULES = [
    rule("sku", "text", "hs_sku", "itemId", ERP_OWNS, validation={"required": True}),
    rule("name", "text", "name", "displayName", ERP_OWNS),
    rule("description", "text", "description", "salesDescription", ERP_OWNS),
    # An inactive ERP item stays in the CRM, marked unavailable: never archived or deleted there.
    rule("inactive", "boolean", "erp_inactive", "isInactive", ERP_OWNS, crm_t=[YES_NO]),
    rule("quantity_on_hand", "number", "erp_quantity_on_hand", "quantityOnHand", ERP_OWNS,
         crm_t=[{"name": "number", "params": {"vendor_type": "string"}}],
         erp_t=[{"name": "number", "params": {"vendor_type": "number"}}]),
]

PRICE_RULES = [
    rule("sku", "text", "hs_sku", "itemId", ERP_OWNS, validation={"required": True}),
    # Item prices carry no currency of their own in either system: the account's base currency (USD).
    finance_money("unit_price", "price", "basePrice", crm_t=[USD], erp_t=[USD], validation={"min": 0}),
    # The ERP's price levels, as product properties the rep sees when quoting.
    finance_money("wholesale_price", "erp_price_wholesale", "price.priceLevel=Wholesale.price", crm_t=[USD],
                  erp_t=[USD]),
    finance_money("partner_price", "erp_price_partner", "price.priceLevel=Partner.price", crm_t=[USD],
                  erp_t=[USD]),
]


def lines(owner: str, crm_currency: str, *, policy: str = "", approver: str = "revops") -> dict[str, Any]:
    """A document's lines, merged as a whole document by their owner (see mapping/line_items.py)."""
    crm = {"item": "hs_product_id", "quantity": "quantity", "unit_price": "price", "discount": "discount",
           "discount_percent": "hs_discount_percentage", "currency_field": crm_currency}
    erp = {"item": "item.id", "quantity": "quantity", "unit_price": "rate", "discount": "custcol_hub_discount",
           "price_is_net": True, "currency_field": "currency", "vendor_type": "number"}
    return rule("lines", "line_items", "line_items", "item", owner, policy=policy, approver=approver,
                crm_t=[{"name": "line_items", "params": crm}], erp_t=[{"name": "line_items", "params": erp}])


CUSTOMER = "associations.companies.0"

QUOTE_RULES = [
    rule("title", "text", "hs_title", "memo", CRM_OWNS),
    rule("expires_on", "date", "hs_expiration_date", "expirationDate", CRM_OWNS, crm_t=[DATE_MS]),
    rule("currency", "text", "hs_currency", "currency", CRM_OWNS),
    rule("customer", "reference", CUSTOMER, "entity.id", CRM_OWNS, to="account",
         validation={"required_for_create": True}),
    lines(CRM_OWNS, "hs_currency"),
    rule("quote_number", "text", "erp_quote_number", "tranId", ERP_OWNS),
    rule("quote_status", "text", "erp_quote_status", "status", ERP_OWNS),
]

DEAL_RULES = [
    rule("name", "text", "dealname", "memo", CRM_OWNS),
    rule("pipeline", "text", "pipeline", "", CRM_OWNS),
    rule("stage", "choice", "dealstage", "", CRM_OWNS, validation={"choices": DEAL_STAGES}),
    rule("amount", "money", "amount", "", CRM_OWNS, crm_t=[{"name": "money", "params": {
        "currency_field": "deal_currency_code"}}]),
    rule("currency", "text", "deal_currency_code", "currency", CRM_OWNS),
    rule("customer", "reference", CUSTOMER, "entity.id", CRM_OWNS, to="account",
         validation={"required_for_create": True}),
    rule("payment_terms", "choice", "payment_terms", "terms", CRM_OWNS, validation={"choices": TERMS}),
    rule("sales_rep", "text", "hubspot_owner_id", "salesRep.id", CRM_OWNS,
         erp_t=[picklist(SALES_REPS, unknown="default", default="")]),
    # Once it is an order, a change of its lines in the ERP waits for finance instead of being reverted.
    lines(CRM_OWNS, "deal_currency_code", policy="queue", approver="finance"),
    rule("order_number", "text", "erp_order_number", "tranId", ERP_OWNS),
    rule("order_status", "text", "erp_order_status", "status", ERP_OWNS),
    rule("ordered_on", "date", "erp_order_date", "tranDate", ERP_OWNS, crm_t=[DATE_MS]),
    finance_money("order_total", "erp_order_total", "total"),
]

# A HubSpot deal the hub creates for an ERP order no deal made (mapping.create_defaults): HubSpot's default
# pipeline, the stage from the order's NetSuite status, the amount from its total. Edit them on the mapping.
ERP_DEAL_DEFAULTS = {
    "pipeline": "default",
    "stage": {"from": "order_status", "map": {"Cancelled": "closedlost", "Closed": "closedwon"},
              "default": "closedwon"},
    "amount": {"from": "order_total"},
}

INVOICE_RULES = [
    rule("invoice_number", "text", "hs_number", "tranId", ERP_OWNS),
    rule("status", "choice", "hs_invoice_status", "status", ERP_OWNS, approver="finance",
         crm_t=[picklist({v: v for v in INVOICE_STATUSES.values()})], erp_t=[picklist(INVOICE_STATUSES)],
         validation={"choices": sorted(INVOICE_STATUSES.values())}),
    rule("currency", "text", "hs_currency", "currency", ERP_OWNS),
    rule("customer", "reference", CUSTOMER, "entity.id", ERP_OWNS, to="account",
         validation={"required_for_create": True}),
    rule("deal", "reference", "associations.deals.0", "createdFrom.id", ERP_OWNS, to="deal"),
    rule("invoiced_on", "date", "hs_invoice_date", "tranDate", ERP_OWNS, crm_t=[DATE_MS]),
    rule("due_on", "date", "hs_due_date", "dueDate", ERP_OWNS, approver="finance", crm_t=[DATE_MS]),
    finance_money("amount", "hs_amount_billed", "total", crm_t=[INVOICE_MONEY]),
    finance_money("amount_paid", "erp_amount_paid", "amountPaid", crm_t=[INVOICE_MONEY]),
    finance_money("amount_due", "erp_amount_due", "amountRemaining", crm_t=[INVOICE_MONEY]),
    lines(ERP_OWNS, "hs_currency"),
]

# entity -> mapping settings and rules. The document mappings (quote, deal, invoice) are installed switched
# off: they need the items linked first and NetSuite's custcol_hub_discount column; the demo switches them on.
TEMPLATE: dict[str, dict[str, Any]] = {
    "account": {"crm_object": "companies", "erp_object": "customer",
                "match_keys": ["customer_number", "domain", "name+shipping_postcode"],
                "crm_creates": "never", "erp_creates": "on_trigger", "erp_create_trigger": {"has": "sales_order"},
                "cadence": "interval", "interval_minutes": 15, "rules": ACCOUNT_RULES},
    # Sales creates contacts; one reaches the ERP once the CRM calls it a customer.
    "contact": {"crm_object": "contacts", "erp_object": "contact", "match_keys": ["email"],
                "crm_creates": "on_trigger", "crm_create_trigger": {"field": "lifecycle_stage", "in": ["customer"]},
                "erp_creates": "never", "cadence": "interval", "interval_minutes": 15, "rules": CONTACT_RULES},
    "item": {"crm_object": "products", "erp_object": "inventoryItem", "match_keys": ["sku"],
             "crm_creates": "never", "erp_creates": "always", "cadence": "interval", "interval_minutes": 5,
             "rules": ITEM_RULES},
    # A price is the ERP item's price: it becomes a golden price record; the CRM product already exists.
    "price": {"crm_object": "products", "erp_object": "inventoryItem", "match_keys": ["sku"],
              "crm_creates": "never", "erp_creates": "golden_only", "cadence": "interval", "interval_minutes": 5,
              "rules": PRICE_RULES},
    "quote": {"is_enabled": False, "crm_object": "quotes", "erp_object": "estimate", "match_keys": [],
              "crm_creates": "always", "erp_creates": "never", "cadence": "realtime", "rules": QUOTE_RULES},
    "deal": {"is_enabled": False, "crm_object": "deals", "erp_object": "salesOrder", "match_keys": [],
             "crm_creates": "on_trigger", "crm_create_trigger": {"field": "stage", "in": ["closedwon"]},
             "erp_creates": "always", "erp_create_defaults": ERP_DEAL_DEFAULTS, "cadence": "realtime",
             "rules": DEAL_RULES},
    "invoice": {"is_enabled": False, "crm_object": "invoices", "erp_object": "invoice",
                "match_keys": [], "crm_creates": "never", "erp_creates": "always", "cadence": "interval",
                "interval_minutes": 15, "rules": INVOICE_RULES},
}

# HubSpot custom properties the template writes to, created through the properties API at set-up
# (a real portal needs exactly these). object -> [(name, label, type, fieldType)]
HUBSPOT_PROPERTIES: dict[str, list[tuple[str, str, str, str]]] = {
    "companies": [
        ("erp_customer_number", "ERP customer number", "string", "text"),
        ("erp_billing_street", "ERP billing street", "string", "text"),
        ("erp_billing_city", "ERP billing city", "string", "text"),
        ("erp_billing_zip", "ERP billing postal code", "string", "text"),
        ("erp_billing_country", "ERP billing country", "string", "text"),
        ("erp_credit_limit", "ERP credit limit", "number", "number"),
        ("erp_payment_terms", "ERP payment terms", "string", "text"),
        ("erp_credit_hold", "ERP credit hold", "string", "text"),
        ("erp_outstanding_balance", "ERP outstanding balance", "number", "number"),
        ("erp_overdue_balance", "ERP overdue balance", "number", "number"),
        ("erp_days_overdue", "ERP days overdue", "number", "number"),
        ("erp_currency", "ERP currency", "string", "text"),
    ],
    "products": [
        ("erp_inactive", "ERP inactive", "bool", "booleancheckbox"),
        ("erp_quantity_on_hand", "ERP quantity on hand", "number", "number"),
        ("erp_price_wholesale", "ERP wholesale price", "number", "number"),
        ("erp_price_partner", "ERP partner price", "number", "number"),
    ],
    "quotes": [
        ("erp_quote_number", "ERP estimate number", "string", "text"),
        ("erp_quote_status", "ERP estimate status", "string", "text"),
    ],
    "deals": [
        ("payment_terms", "Payment terms", "string", "text"),
        ("erp_order_number", "ERP sales order number", "string", "text"),
        ("erp_order_status", "ERP sales order status", "string", "text"),
        ("erp_order_date", "ERP order date", "date", "date"),
        ("erp_order_total", "ERP order total", "number", "number"),
        ("erp_currency", "ERP currency", "string", "text"),
    ],
    "invoices": [
        ("erp_amount_paid", "ERP amount paid", "number", "number"),
        ("erp_amount_due", "ERP amount due", "number", "number"),
    ],
}

# Unique, so the hub can upsert companies by the ERP's customer number.
UNIQUE_PROPERTIES = {"erp_customer_number"}
