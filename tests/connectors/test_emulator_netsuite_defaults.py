"""The NetSuite emulator fills in what a real OneWorld account fills in on create -- a customer's subsidiary,
currency and status, a contact's subsidiary, a transaction's subsidiary and currency -- shows them when the
record is read back, and refuses a write that empties them."""
from __future__ import annotations

import requests

from connectors.sandbox import RunningEmulator, start_emulator
from tests.connectors.netsuite_fixtures import (  # noqa: F401
    FAST,
    emulator_of,
    ns_fixture,
    signed,
    tba_connector_fixture,
)

REC = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


def create(running: RunningEmulator, record_type: str, body: dict) -> dict:
    """POST a record and GET it back."""
    response = signed("POST", f"{running.url}{REC}/{record_type}", json=body)
    assert response.status_code == 204, response.text
    return signed("GET", response.headers["Location"]).json()


def sql(running: RunningEmulator, query: str) -> list[dict]:
    response = signed("POST", f"{running.url}{SUITEQL}", json={"q": query}, headers={"Prefer": "transient"})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_customer_created_bare_gets_the_primary_subsidiary_its_currency_and_the_default_status(ns):
    customer = create(ns, "customer", {"companyName": "Bare Minimum Ltd"})

    assert (customer["subsidiary"]["id"], customer["subsidiary"]["refName"]) == ("1", "Parent Company")
    assert customer["subsidiary"]["links"][0]["href"].endswith(f"{REC}/subsidiary/1")
    assert (customer["currency"], customer["entityStatus"]) == ("USD", "CUSTOMER-Closed Won")
    [row] = sql(ns, "SELECT currency, entitystatus, subsidiary, BUILTIN.DF(subsidiary) AS sub FROM customer "
                    f"WHERE id = {customer['id']}")
    assert row == {"links": [], "currency": "USD", "entitystatus": "CUSTOMER-Closed Won", "subsidiary": "1",
                   "sub": "Parent Company"}


def test_the_currency_follows_the_subsidiary_given_and_a_given_currency_is_kept(ns):
    uk = create(ns, "customer", {"companyName": "Albion Tea", "subsidiary": {"id": "2"}})
    priced_in_euro = create(ns, "customer", {"companyName": "Albion Export", "subsidiary": {"id": "2"},
                                             "currency": "EUR", "entityStatus": "LEAD-Qualified"})

    assert (uk["subsidiary"]["refName"], uk["currency"]) == ("UK Subsidiary", "GBP")
    assert (priced_in_euro["currency"], priced_in_euro["entityStatus"]) == ("EUR", "LEAD-Qualified")


def test_an_upsert_that_creates_gets_the_defaults_too(ns):
    url = f"{ns.url}{REC}/customer/eid:HUB-77"
    assert signed("PUT", url, json={"companyName": "Upserted Inc", "subsidiary": {"id": "3"}}).status_code == 204

    assert signed("GET", url).json()["currency"] == "EUR"


def test_the_account_preference_sets_the_default_status(ns):
    ns.set_faults(default_customer_status="LEAD-Unqualified", primary_subsidiary="3")

    customer = create(ns, "customer", {"companyName": "Cold Lead GmbH"})

    assert (customer["entityStatus"], customer["subsidiary"]["id"], customer["currency"]) == (
        "LEAD-Unqualified", "3", "EUR")


def test_a_write_that_empties_a_defaulted_field_is_refused_and_changes_nothing(ns):
    url = f"{ns.url}{REC}/customer/eid:CUST-1001"

    response = signed("PATCH", url, json={"currency": None, "entityStatus": "", "phone": "+1 217 555 0199"})

    assert response.status_code == 400
    details = response.json()["o:errorDetails"]
    assert {(d["o:errorPath"], d["o:errorCode"]) for d in details} == {("currency", "USER_ERROR"),
                                                                      ("entityStatus", "USER_ERROR")}
    assert "Please enter value(s) for: Currency" in {d["detail"] for d in details}
    acme = signed("GET", url).json()
    assert (acme["currency"], acme["entityStatus"], acme["phone"]) == ("USD", "CUSTOMER-Closed Won",
                                                                       "+1 217 555 0100")


def test_a_record_stored_without_the_defaults_gets_them_on_its_next_write(ns):
    emulator = emulator_of(ns)
    with emulator.store.lock:
        stored = emulator.store.table("customer")["101"]
        for name in ("subsidiary", "currency", "entityStatus"):
            stored.pop(name, None)

    assert signed("PATCH", f"{ns.url}{REC}/customer/101", json={"phone": "+1 512 555 0100"}).status_code == 204
    globex = signed("GET", f"{ns.url}{REC}/customer/101").json()
    assert (globex["subsidiary"]["id"], globex["currency"], globex["entityStatus"]) == ("1", "USD",
                                                                                        "CUSTOMER-Closed Won")


def test_a_contact_takes_its_companys_subsidiary_else_the_primary_one(ns):
    uk = create(ns, "customer", {"companyName": "Albion Tea", "subsidiary": {"id": "2"}})

    colleague = create(ns, "contact", {"lastName": "Earl", "company": {"id": uk["id"]}})
    loner = create(ns, "contact", {"lastName": "Grey"})

    assert colleague["subsidiary"]["refName"] == "UK Subsidiary"
    assert loner["subsidiary"]["id"] == "1"


def test_a_sales_order_takes_its_customers_subsidiary_and_currency(ns):
    uk = create(ns, "customer", {"companyName": "Albion Tea", "subsidiary": {"id": "2"}})
    line = {"item": {"externalId": "ITEM-WID-100"}, "quantity": 2, "rate": 10.0}

    order = create(ns, "salesOrder", {"entity": {"id": uk["id"]}, "item": {"items": [line]}})

    assert (order["subsidiary"]["id"], order["currency"]) == ("2", "GBP")
    [row] = sql(ns, f"SELECT currency, subsidiary FROM transaction WHERE id = {order['id']}")
    assert (row["currency"], row["subsidiary"]) == ("GBP", "2")


def test_an_unknown_subsidiary_is_refused(ns):
    response = signed("POST", f"{ns.url}{REC}/customer", json={"companyName": "Nowhere Co",
                                                               "subsidiary": {"id": "99"}})

    assert response.status_code == 400
    assert [(d["o:errorPath"], d["o:errorCode"]) for d in response.json()["o:errorDetails"]] == [
        ("subsidiary", "USER_ERROR")]


def test_every_preset_has_the_accounts_subsidiaries_and_the_catalog_describes_them(ns):
    empty = start_emulator("netsuite", seed="empty")
    try:
        subsidiaries = sql(empty, "SELECT id, name, currency FROM subsidiary ORDER BY id")
        schema = signed("GET", f"{empty.url}{REC}/metadata-catalog/customer",
                        headers={"Accept": "application/schema+json"}).json()
        requests.post(f"{empty.url}/__sandbox__/reset", timeout=5)
        after_reset = sql(empty, "SELECT id FROM subsidiary")
    finally:
        empty.stop()

    assert [(s["id"], s["name"], s["currency"]) for s in subsidiaries] == [
        ("1", "Parent Company", "USD"), ("2", "UK Subsidiary", "GBP"), ("3", "EU Subsidiary", "EUR")]
    assert schema["properties"]["subsidiary"]["$ref"].endswith("/metadata-catalog/subsidiary")
    # Defaulted on create: not a field a client must send.
    assert not {"subsidiary", "currency", "entityStatus"} & set(schema["required"])
    assert len(after_reset) == 3


def test_the_connector_reads_a_currency_on_a_customer_created_without_one(ns, tba_connector):
    [result] = tba_connector.upsert_many("customer", [{"externalId": "HUB-88", "companyName": "No Currency Given",
                                                       "creditLimit": 5000}], "externalId")

    [record] = tba_connector.get_many("customer", [result.external_id])
    pulled = [r for page in tba_connector.changes("customer", None) for r in page.records
              if r.external_id == result.external_id]

    assert record.fields["currency"] == "USD" and record.fields["creditLimit"] == 5000
    assert pulled[0].fields["currency"] == "USD" and pulled[0].fields["subsidiary"]["id"] == "1"
