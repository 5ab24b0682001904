"""The NetSuite emulator's "demo" data set: what the ERP side of the scenarios starts from.

- the ERP knows one "Acme Incorporated" (its legal name) with two branch addresses.
- inventory items with stock on hand and per-price-level prices; Acme has an invoice 90 days overdue.
- sales orders and invoices with lines: one 90 days overdue, one paid in full, one paid in part.
- Field template: customers carry a category, an entity status and a sales rep (two employees), and address book
  lines with default billing/shipping flags and full addresses (addr2 on Acme's headquarters).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.sandbox.netsuite import NetSuiteEmulator


def _address(label: str, addr1: str, city: str, state: str, zip_code: str, *, billing: bool, shipping: bool,
             addr2: str | None = None, addressee: str | None = None) -> dict:
    address = {"addressee": addressee, "addr1": addr1, "addr2": addr2, "city": city, "state": state, "zip": zip_code,
               "country": "US"}
    return {"label": label, "defaultBilling": billing, "defaultShipping": shipping,
            "addressBookAddress": {k: v for k, v in address.items() if v is not None}}


def load_demo(emulator: NetSuiteEmulator) -> None:
    """Insert the demo records; modification times are spread over the last days so incremental pulls differ."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = iter(range(400, 0, -1))

    def stamp() -> str:
        return (now - timedelta(hours=next(clock))).isoformat().replace("+00:00", "Z")

    def put(record_type: str, fields: dict) -> str:
        return emulator.put_seed(record_type, fields, modified=stamp())

    # Sales reps first (customers reference them), stamped before everything else so the other records keep
    # the modification times older scenarios and tests count on.
    reps = {key: emulator.put_seed("employee", {
        "entityId": f"{first} {last}", "firstName": first, "lastName": last, "email": email,
        "title": "Account Executive", "isSalesRep": True, "isInactive": False, "externalId": f"EMP-{key.upper()}",
    }, modified=(now - timedelta(hours=hours)).isoformat().replace("+00:00", "Z"))
        for key, first, last, email, hours in [("jane", "Jane", "Seller", "jane.seller@erp.example", 402),
                                               ("tom", "Tom", "Closer", "tom.closer@erp.example", 401)]}

    levels = {name: put("priceLevel", {"name": name, "discountPct": pct, "externalId": f"PL-{i}"})
              for i, (name, pct) in enumerate([("Base Price", 0.0), ("Wholesale", -10.0), ("Partner", -15.0)], 1)}

    items = {}
    for sku, name, base, on_hand in [
        ("WID-100", "Widget Standard", 12.5, 1200), ("WID-200", "Widget Pro", 24.0, 200),
        ("GAD-300", "Gadget Plus", 89.0, 35), ("CBL-010", "Cable 10m", 7.25, 5000),
        ("SRV-KIT", "Service Kit", 150.0, 0),
    ]:
        prices = [{"priceLevel": levels[level], "price": round(base * (1 + pct / 100), 2)}
                  for level, pct in [("Base Price", 0.0), ("Wholesale", -10.0), ("Partner", -15.0)]]
        items[sku] = put("inventoryItem", {
            "itemId": sku, "displayName": name, "salesDescription": name, "basePrice": base,
            "cost": round(base * 0.55, 2), "quantityOnHand": on_hand, "quantityAvailable": on_hand,
            "isInactive": False, "externalId": f"ITEM-{sku}", "price": prices})


    overdue_since = date.today() - timedelta(days=90)
    acme = put("customer", {
        "entityId": "CUST-1001", "companyName": "Acme Incorporated", "email": "ap@acme.example",
        "phone": "+1 217 555 0100", "url": "https://acme.example", "creditLimit": 50000.0,
        "creditHoldOverride": "AUTO", "terms": "Net 30", "currency": "USD", "priceLevel": levels["Wholesale"],
        "balance": 18450.0, "overdueBalance": 6200.0, "daysOverdue": 90, "isInactive": False,
        "externalId": "CUST-1001", "category": "Manufacturing", "entityStatus": "CUSTOMER-Closed Won",
        "salesRep": reps["jane"],
        "addressBook": [
            _address("Headquarters", "742 Evergreen Terrace", "Springfield", "IL", "62704",
                     billing=True, shipping=True, addr2="Suite 300", addressee="Acme Incorporated"),
            _address("Branch - Shelbyville", "19 Industrial Way", "Shelbyville", "IL", "62565",
                     billing=False, shipping=False),
        ]})
    customers = {"acme": acme}
    for key, name, email, city, category, status, rep in [
        ("globex", "Globex Corporation", "billing@globex.example", "Cypress Creek", "Software",
         "CUSTOMER-Renewal", "tom"),
        ("initech", "Initech LLC", "accounts@initech.example", "Austin", "Software", "PROSPECT-In Discussion",
         "jane"),
        ("umbrella", "Umbrella Corporation", "finance@umbrella.example", "Raccoon City", "Services",
         "LEAD-Qualified", "tom"),
        ("stark", "Stark Industries", "ap@stark.example", "Malibu", "Retail", "CUSTOMER-Closed Won", "jane"),
    ]:
        customers[key] = put("customer", {
            "entityId": f"CUST-{1001 + len(customers)}", "companyName": name, "email": email,
            "terms": "Net 30", "currency": "USD", "creditLimit": 25000.0, "creditHoldOverride": "AUTO",
            "balance": 0.0, "overdueBalance": 0.0, "daysOverdue": 0, "isInactive": False,
            "priceLevel": levels["Base Price"], "externalId": f"CUST-{1001 + len(customers)}",
            "category": category, "entityStatus": status, "salesRep": reps[rep],
            "addressBook": [_address("Main", "1 Main Street", city, "TX", "73301", billing=True, shipping=True)]})

    for first, last, email, company in [
        ("Wile", "Coyote", "wile@acme.example", "acme"), ("Road", "Runner", "road@acme.example", "acme"),
        ("Hank", "Scorpio", "hank@globex.example", "globex"), ("Bill", "Lumbergh", "bill@initech.example", "initech"),
        ("Alice", "Abernathy", "alice@umbrella.example", "umbrella"), ("Pepper", "Potts", "pepper@stark.example",
                                                                      "stark"),
    ]:
        put("contact", {"firstName": first, "lastName": last, "entityId": f"{first} {last}", "email": email,
                        "company": customers[company], "title": "Purchasing", "isInactive": False})

    order_lines = [{"item": items["WID-200"], "quantity": 150, "rate": 21.6, "description": "Widget Pro"},
                   {"item": items["CBL-010"], "quantity": 40, "rate": 6.53, "description": "Cable 10m"}]
    order = put("salesOrder", {"entity": acme, "tranDate": (date.today() - timedelta(days=120)).isoformat(),
                               "currency": "USD", "terms": "Net 30", "memo": "Q3 restock", "otherRefNum": "PO-7781",
                               "externalId": "SO-DEMO-1", "status": "Billed", "item": order_lines})
    put("invoice", {"entity": acme, "createdFrom": order, "currency": "USD", "terms": "Net 30",
                    "tranDate": (overdue_since - timedelta(days=30)).isoformat(), "dueDate": overdue_since.isoformat(),
                    "memo": "Q3 restock", "externalId": "INV-DEMO-1", "amountPaid": 0.0,
                    "item": [{"item": items["WID-200"], "quantity": 250, "rate": 21.6, "description": "Widget Pro"},
                             {"item": items["GAD-300"], "quantity": 10, "rate": 80.0, "description": "Gadget Plus"}]})

    # Invoices paid in full and in part, beside the overdue one.
    support = [{"item": items["SRV-KIT"], "quantity": 2, "rate": 150.0, "description": "Service Kit"}]
    globex_order = put("salesOrder", {
        "entity": customers["globex"], "tranDate": (date.today() - timedelta(days=75)).isoformat(), "currency": "USD",
        "terms": "Net 30", "memo": "Support kits", "externalId": "SO-DEMO-2", "salesRep": reps["tom"],
        "status": "Billed", "item": support})
    put("invoice", {"entity": customers["globex"], "createdFrom": globex_order, "currency": "USD", "terms": "Net 30",
                    "tranDate": (date.today() - timedelta(days=70)).isoformat(),
                    "dueDate": (date.today() - timedelta(days=40)).isoformat(), "memo": "Support kits",
                    "externalId": "INV-DEMO-2", "amountPaid": 300.0, "item": support})
    put("invoice", {"entity": acme, "createdFrom": order, "currency": "USD", "terms": "Net 30",
                    "tranDate": (date.today() - timedelta(days=10)).isoformat(),
                    "dueDate": (date.today() + timedelta(days=20)).isoformat(), "memo": "Q3 restock, second delivery",
                    "externalId": "INV-DEMO-3", "amountPaid": 1000.0, "item": order_lines})
