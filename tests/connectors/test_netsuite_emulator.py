"""The NetSuite emulator speaks the contract's shapes over real HTTP (shared/contracts/netsuite/CONTRACT.md)."""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.netsuite import client_assertion, oauth1_base_string, tba_header
from connectors.sandbox import RunningEmulator, start_emulator
from connectors.sandbox import netsuite_suiteql as suiteql
from connectors.sandbox.netsuite import DEMO_TBA
from tests.connectors.netsuite_fixtures import (  # noqa: F401
    emulator_of,
    m2m_credentials,
    m2m_key_fixture,
    ns_fixture,
    signed,
)

REC = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


def query(running: RunningEmulator, sql: str, *, prefer: str | None = "transient", **params: int) -> requests.Response:
    headers = {"Prefer": prefer} if prefer else {}
    return signed("POST", f"{running.url}{SUITEQL}", json={"q": sql}, headers=headers, params=params)


def error_codes(response: requests.Response) -> list[str]:
    return [d["o:errorCode"] for d in response.json()["o:errorDetails"]]


# -- record API ------------------------------------------------------------------------------------


def test_create_answers_204_with_location_of_the_new_record(ns):
    response = signed("POST", f"{ns.url}{REC}/customer", json={"companyName": "Hooli", "email": "it@hooli.example"})

    assert response.status_code == 204
    assert response.content == b""
    location = response.headers["Location"]
    assert location.startswith(f"{ns.url}{REC}/customer/")
    fetched = signed("GET", location).json()
    assert fetched["companyName"] == "Hooli"
    assert fetched["id"] == location.rsplit("/", 1)[1]
    assert fetched["links"] == [{"rel": "self", "href": location}]


def test_get_renders_references_and_expands_sublists_only_when_asked(ns):
    plain = signed("GET", f"{ns.url}{REC}/salesOrder/eid:SO-DEMO-1").json()
    expanded = signed("GET", f"{ns.url}{REC}/salesOrder/eid:SO-DEMO-1", params={"expandSubResources": "true"}).json()

    assert plain["entity"]["refName"] == "Acme Incorporated"
    assert plain["entity"]["links"][0]["href"].endswith(f"/customer/{plain['entity']['id']}")
    assert set(plain["item"]) == {"links"}
    assert plain["item"]["links"][0]["href"].endswith(f"/salesOrder/{plain['id']}/item")
    lines = expanded["item"]["items"]
    assert [line["quantity"] for line in lines] == [150, 40]
    assert lines[0]["item"]["refName"] == "WID-200"
    assert expanded["total"] == round(150 * 21.6 + 40 * 6.53, 2)


def test_eid_upsert_creates_then_updates_the_same_record(ns):
    url = f"{ns.url}{REC}/customer/eid:HUB-42"
    created = signed("PUT", url, json={"companyName": "Vandelay Industries"})
    updated = signed("PUT", url, json={"phone": "+1 555 0199"})

    assert created.status_code == updated.status_code == 204
    assert created.headers["Location"] == updated.headers["Location"]
    record = signed("GET", url).json()
    assert (record["companyName"], record["phone"], record["externalId"]) == (
        "Vandelay Industries", "+1 555 0199", "HUB-42")


def test_patch_merges_lines_unless_the_sublist_is_replaced(ns):
    url = f"{ns.url}{REC}/salesOrder/eid:SO-DEMO-1"
    item = {"externalId": "ITEM-GAD-300"}
    signed("PATCH", url, json={"item": {"items": [{"item": item, "quantity": 1, "rate": 89.0}]}})
    merged = signed("GET", url, params={"expandSubResources": "true"}).json()["item"]["items"]
    replacement = {"item": {"items": [{"item": item, "quantity": 2, "rate": 5}]}}
    signed("PATCH", url, params={"replace": "item"}, json=replacement)
    replaced = signed("GET", url, params={"expandSubResources": "true"}).json()

    assert [line["quantity"] for line in merged] == [150, 40, 1]
    assert [line["quantity"] for line in replaced["item"]["items"]] == [2]
    assert replaced["total"] == 10


def test_lastmodifieddate_moves_forward_on_every_write(ns):
    url = f"{ns.url}{REC}/customer/eid:CUST-1001"
    before = signed("GET", url).json()["lastModifiedDate"]
    assert signed("PATCH", url, json={"phone": "+1 217 555 0111"}).status_code == 204
    after = signed("GET", url).json()["lastModifiedDate"]

    assert after > before
    assert datetime.fromisoformat(after.replace("Z", "+00:00")) >= datetime.now(UTC).replace(microsecond=0) - \
        timedelta(seconds=2)


def test_record_list_uses_the_collection_envelope_with_paging_links(ns):
    response = signed("GET", f"{ns.url}{REC}/contact", params={"limit": 2, "offset": 2})
    body = response.json()

    assert set(body) == {"links", "count", "hasMore", "items", "offset", "totalResults"}
    assert (body["count"], body["hasMore"], body["offset"], body["totalResults"]) == (2, True, 2, 6)
    assert all(set(item) == {"links", "id"} for item in body["items"])
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert set(rels) == {"previous", "first", "next", "last", "self"}
    assert rels["next"].endswith("limit=2&offset=4")
    assert rels["last"].endswith("limit=2&offset=4")


def test_errors_list_every_problem_in_o_error_details(ns):
    response = signed("POST", f"{ns.url}{REC}/salesOrder", json={
        "bogusField": 1, "item": {"items": [{"item": {"id": "99999"}, "quantity": 1}]}})

    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["title"]) == (400, "Bad Request")
    by_path = {d["o:errorPath"]: d for d in body["o:errorDetails"]}
    assert by_path["bogusField"]["o:errorCode"] == "INVALID_CONTENT"
    assert by_path["entity"]["o:errorCode"] == "USER_ERROR"
    assert "Please enter value(s) for: Customer" in by_path["entity"]["detail"]
    assert by_path["item.items[0].item"]["detail"].startswith("Invalid Field Value")


def test_missing_record_is_404_nonexistent_id(ns):
    response = signed("GET", f"{ns.url}{REC}/customer/987654")
    assert response.status_code == 404
    assert error_codes(response) == ["NONEXISTENT_ID"]


def test_required_fields_knob_makes_a_field_mandatory(ns):
    ns.set_faults(required_fields={"customer": ["email"]})

    response = signed("POST", f"{ns.url}{REC}/customer", json={"companyName": "No Mail Ltd"})

    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorPath"] == "email"


# -- SuiteQL ---------------------------------------------------------------------------------------


def test_suiteql_without_prefer_transient_is_refused(ns):
    response = query(ns, "SELECT id FROM customer", prefer=None)

    assert response.status_code == 400
    detail = response.json()["o:errorDetails"][0]
    assert detail["o:errorHeader"] == "Prefer"


def test_suiteql_pages_with_offset_and_has_more(ns):
    sql = "SELECT id, companyname FROM customer ORDER BY id"
    first = query(ns, sql, limit=2, offset=0).json()
    last = query(ns, sql, limit=2, offset=4).json()

    assert (first["count"], first["hasMore"], first["totalResults"]) == (2, True, 5)
    assert first["items"][0] == {"links": [], "id": "100", "companyname": "Acme Incorporated"}
    assert (last["count"], last["hasMore"], last["offset"]) == (1, False, 4)


def test_suiteql_filters_on_lastmodifieddate_with_to_timestamp(ns):
    cutoff = (datetime.now(UTC) - timedelta(hours=390, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    sql = (f"SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS modified FROM customer "
           f"WHERE lastmodifieddate >= TO_TIMESTAMP('{cutoff}', 'YYYY-MM-DD HH24:MI:SS') "
           "ORDER BY lastmodifieddate DESC")
    items = query(ns, sql).json()["items"]

    assert items
    assert all(item["modified"] >= cutoff.replace(" ", "T") for item in items)
    assert [item["modified"] for item in items] == sorted((item["modified"] for item in items), reverse=True)
    everything = query(ns, "SELECT * FROM customer").json()["items"]
    assert len(items) < len(everything)


def keyset_page(running, after: tuple[str, int] | None, limit: int = 2) -> dict:
    """One page the way the connector pages: by (lastmodifieddate, id), after the last key seen."""
    where = ""
    if after:
        moment = f"TO_TIMESTAMP('{after[0]}', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        where = f" WHERE (lastmodifieddate > {moment} OR (lastmodifieddate = {moment} AND id > {after[1]}))"
    return query(running, "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS modified "
                          f"FROM customer{where} ORDER BY lastmodifieddate, id", limit=limit).json()


def test_keyset_pages_see_every_write_including_ones_made_behind_the_apis_back(ns):
    """The emulator answers keyset pages from an index of (lastModifiedDate, id); a record edited while paging
    moves to the end, and rows put straight into the store (as tests do) are still found."""
    seen, after = [], None
    first = keyset_page(ns, None)
    assert first["totalResults"] == 5 and first["hasMore"]
    seen += first["items"]
    after = (seen[-1]["modified"], int(seen[-1]["id"]))
    edited = signed("PATCH", f"{ns.url}{REC}/customer/{seen[0]['id']}", json={"comments": "edited while paging"})
    assert edited.status_code == 204
    emulator = emulator_of(ns)
    with emulator.store.lock:
        table = emulator.store.table("customer")
        table["999"] = {**table["100"], "externalId": "BEHIND-1", "companyName": "Put in the store directly",
                        "lastModifiedDate": "2999-01-01T00:00:00Z"}
    while True:
        page = keyset_page(ns, after)
        seen += page["items"]
        if not page["items"]:
            break
        after = (seen[-1]["modified"], int(seen[-1]["id"]))
        if not page["hasMore"]:
            break
    ids = [item["id"] for item in seen]
    assert ids[-1] == "999" and ids.count(seen[0]["id"]) == 2  # the edited one again, after the others
    assert set(ids) == {"100", "101", "102", "103", "104", "999"}


def test_suiteql_address_book_tables_match_the_record_api(ns):
    book = query(ns, "SELECT entity, internalid, addressbookaddress, defaultbilling, label FROM customerAddressbook "
                     "WHERE entity IN (100) ORDER BY internalid").json()["items"]
    keys = ", ".join(row["addressbookaddress"] for row in book)
    addresses = query(ns, f"SELECT nkey, city, addrtext FROM customerAddressbookEntityAddress WHERE nkey IN ({keys}) "
                          "ORDER BY nkey").json()["items"]
    record = signed("GET", f"{ns.url}{REC}/customer/100", params={"expandSubResources": "true"}).json()
    lines = record["addressBook"]["items"]
    assert [row["label"] for row in book] == [line["label"] for line in lines]
    assert [row["defaultbilling"] for row in book] == ["T" if line.get("defaultBilling") else "F" for line in lines]
    assert [row["city"] for row in addresses] == [line["addressBookAddress"]["city"] for line in lines]
    assert query(ns, "SELECT nosuch FROM customerAddressbook").status_code == 400


def test_suiteql_transaction_table_filters_by_type_and_prints_values_as_text(ns):
    rows = query(ns, "SELECT id, tranid, total, lastmodifieddate FROM transaction WHERE type = 'CustInvc'").json()
    item_rows = query(ns, "SELECT itemid FROM item WHERE itemtype IN ('InvtPart') AND quantityonhand < 100").json()

    assert [row["tranid"] for row in rows["items"]] == ["INV1001", "INV1002", "INV1003"]
    assert rows["items"][0]["total"] == "6200.0"
    assert "/" in rows["items"][0]["lastmodifieddate"]  # the user's date format, not ISO
    assert {row["itemid"] for row in item_rows["items"]} == {"GAD-300", "SRV-KIT"}


@pytest.mark.parametrize("sql", ["SELECT nosuchcolumn FROM customer", "SELECT id FROM nosuchtable",
                                 "SELECT id FROM customer GROUP BY id HAVING COUNT(*) > 1",
                                 "SELECT id, SUM(balance) FROM customer", "DELETE FROM customer"])
def test_suiteql_outside_the_subset_is_invalid_parameter(ns, sql):
    response = query(ns, sql)

    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    assert response.json()["o:errorDetails"][0]["o:errorQueryParam"] == "q"


def test_suiteql_parser_handles_the_documented_subset():
    rows = [{"id": 1, "name": "b", "d": datetime(2024, 1, 2, tzinfo=UTC)},
            {"id": 2, "name": "a'x", "d": None},
            {"id": 10, "name": "c", "d": datetime(2024, 1, 1, 12, tzinfo=UTC)}]
    sql = ("SELECT id AS n, name FROM t WHERE (d > TO_DATE('2024-01-01', 'YYYY-MM-DD') AND NOT id IN (1)) "
           "OR name = 'a''x' OR d IS NULL ORDER BY id DESC")
    result = suiteql.run(suiteql.parse(sql), rows, {"id", "name", "d"})

    assert result == [{"n": 10, "name": "c"}, {"n": 2, "name": "a'x"}]
    by_date = suiteql.run(suiteql.parse("SELECT id FROM t WHERE d >= '2024-01-01T12:00:00Z' ORDER BY d"), rows,
                          {"id", "d"})
    assert by_date == [{"id": 10}, {"id": 1}]


# -- metadata --------------------------------------------------------------------------------------


def test_metadata_catalog_reflects_renamed_and_removed_fields(ns):
    url = f"{ns.url}{REC}/metadata-catalog/inventoryItem"
    before = signed("GET", url, headers={"Accept": "application/schema+json"}).json()["properties"]
    ns.set_faults(renamed_fields={"inventoryItem": {"quantityOnHand": "qtyOnHand"}},
                  removed_fields={"inventoryItem": ["upcCode"]})
    response = signed("GET", url, headers={"Accept": "application/schema+json"})
    after = response.json()["properties"]
    record = signed("GET", f"{ns.url}{REC}/inventoryItem/eid:ITEM-WID-200").json()

    assert response.headers["Content-Type"] == "application/schema+json"
    assert {"quantityOnHand", "upcCode"} <= set(before)
    assert "qtyOnHand" in after and "quantityOnHand" not in after and "upcCode" not in after
    assert record["qtyOnHand"] == 200 and "quantityOnHand" not in record
    old_name = signed("PATCH", f"{ns.url}{REC}/inventoryItem/eid:ITEM-WID-200", json={"upcCode": "123"})
    assert error_codes(old_name) == ["INVALID_CONTENT"]


# -- auth and governance ---------------------------------------------------------------------------


def test_tba_rejects_a_bad_signature_a_wrong_realm_and_a_replayed_nonce(ns):
    url = f"{ns.url}{REC}/customer"
    wrong_secret = tba_header("GET", url, {**DEMO_TBA, "token_secret": "nope"})
    wrong_realm = tba_header("GET", url, {**DEMO_TBA, "account_id": "999999"})
    stale = tba_header("GET", url, DEMO_TBA, timestamp=int(time.time()) - 3600)
    good = tba_header("GET", url, DEMO_TBA)

    for header in (wrong_secret, wrong_realm, stale):
        response = requests.get(url, headers={"Authorization": header}, timeout=5)
        assert response.status_code == 401
        assert error_codes(response) == ["INVALID_LOGIN"]
    assert requests.get(url, headers={"Authorization": good}, timeout=5).status_code == 200
    assert requests.get(url, headers={"Authorization": good}, timeout=5).status_code == 401  # same nonce again


def test_tba_signature_covers_query_parameters(ns):
    url = f"{ns.url}{REC}/customer"
    header = tba_header("GET", f"{url}?limit=1", DEMO_TBA)

    tampered = requests.get(url, params={"limit": 2}, headers={"Authorization": header}, timeout=5)

    assert tampered.status_code == 401


def test_oauth1_base_string_matches_rfc_5849_example():
    params = [("oauth_consumer_key", "9djdj82h48djs9d2"), ("oauth_token", "kkk9d7dh3k39sjv7"),
              ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
              ("oauth_nonce", "7d8f3e4a"), ("c2", ""), ("a3", "2 q")]
    base = oauth1_base_string("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", params)

    assert base == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
        "%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1"
        "%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7")


def test_token_endpoint_issues_bearer_tokens_for_a_registered_certificate_only(ns, m2m_key):
    creds = m2m_credentials(ns, m2m_key)
    token_url = f"{ns.url}/services/rest/auth/oauth2/v1/token"
    form = {"grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    good = client_assertion("hub-client", "cert-1", creds["private_key"], token_url)
    other_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = client_assertion("hub-client", "cert-1", other_pem, token_url)
    wrong_audience = client_assertion("hub-client", "cert-1", creds["private_key"], "https://elsewhere/token")

    issued = requests.post(token_url, data={**form, "client_assertion": good}, timeout=5)
    assert issued.status_code == 200
    assert issued.json()["token_type"] == "bearer" and issued.json()["expires_in"] == "3600"
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert requests.get(f"{ns.url}{REC}/customer", headers=bearer, timeout=5).status_code == 200
    for assertion in (forged, wrong_audience, "not.a.jwt"):
        refused = requests.post(token_url, data={**form, "client_assertion": assertion}, timeout=5)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"


def test_requests_beyond_the_concurrency_limit_get_429_concurrency_limit_exceeded(ns):
    ns.set_faults(concurrency_limit=2, latency_ms=150)
    statuses: list[int] = []
    bodies: list[dict] = []

    def call() -> None:
        response = signed("GET", f"{ns.url}{REC}/customer")
        statuses.append(response.status_code)
        if response.status_code == 429:
            bodies.append(response.json())

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses.count(200) >= 1 and statuses.count(429) >= 1
    assert statuses.count(200) <= 2
    assert bodies[0]["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"


# -- demo data -------------------------------------------------------------------------------------


def test_demo_seed_holds_acme_with_two_branches_stock_prices_and_an_overdue_invoice(ns):
    acme = signed("GET", f"{ns.url}{REC}/customer/eid:CUST-1001", params={"expandSubResources": "true"}).json()
    item = signed("GET", f"{ns.url}{REC}/inventoryItem/eid:ITEM-WID-200", params={"expandSubResources": "true"}).json()
    invoice = signed("GET", f"{ns.url}{REC}/invoice/eid:INV-DEMO-1").json()
    levels = query(ns, "SELECT name FROM pricelevel").json()["items"]

    assert acme["companyName"] == "Acme Incorporated"
    assert [a["addressBookAddress"]["city"] for a in acme["addressBook"]["items"]] == ["Springfield", "Shelbyville"]
    assert item["quantityOnHand"] == 200
    assert {p["priceLevel"]["refName"]: p["price"] for p in item["price"]["items"]} == {
        "Base Price": 24.0, "Wholesale": 21.6, "Partner": 20.4}
    assert len(levels) == 3
    assert invoice["entity"]["refName"] == "Acme Incorporated"
    assert invoice["amountRemaining"] > 0
    assert date.fromisoformat(invoice["dueDate"]) == date.today() - timedelta(days=90)


def test_state_survives_a_restart_through_the_state_file(tmp_path):
    state = str(tmp_path / "netsuite.json")
    first = start_emulator("netsuite", seed="demo", state_file=state)
    signed("PUT", f"{first.url}{REC}/customer/eid:KEEP-1", json={"companyName": "Persisted Co"})
    first.stop()
    second = start_emulator("netsuite", seed="demo", state_file=state)
    try:
        record = signed("GET", f"{second.url}{REC}/customer/eid:KEEP-1")
        assert record.status_code == 200
        assert json.loads(record.content)["companyName"] == "Persisted Co"
    finally:
        second.stop()


# -- customer fields for the HubSpot <-> NetSuite template -----------------------------------------

ADMIN = "/__sandbox__/netsuite/customfields"


def test_customer_carries_category_entity_status_and_a_sales_rep_reference(ns):
    acme = signed("GET", f"{ns.url}{REC}/customer/eid:CUST-1001").json()
    schema = signed("GET", f"{ns.url}{REC}/metadata-catalog/customer",
                    headers={"Accept": "application/schema+json"}).json()["properties"]
    reps = query(ns, "SELECT entityid, issalesrep FROM employee ORDER BY id").json()["items"]

    assert (acme["category"], acme["entityStatus"]) == ("Manufacturing", "CUSTOMER-Closed Won")
    assert acme["salesRep"]["refName"] == "Jane Seller"
    assert acme["salesRep"]["links"][0]["href"].endswith(f"/employee/{acme['salesRep']['id']}")
    assert "Software" in schema["category"]["enum"] and "LEAD-Qualified" in schema["entityStatus"]["enum"]
    assert schema["salesRep"]["$ref"].endswith("/metadata-catalog/employee")
    assert reps == [{"links": [], "entityid": "Jane Seller", "issalesrep": "T"},
                    {"links": [], "entityid": "Tom Closer", "issalesrep": "T"}]


def test_customer_field_values_are_checked(ns):
    response = signed("PATCH", f"{ns.url}{REC}/customer/eid:CUST-1001", json={
        "category": "Aerospace", "entityStatus": "CUSTOMER-Closed Won", "salesRep": {"id": "424242"}})

    assert response.status_code == 400
    assert {d["o:errorPath"] for d in response.json()["o:errorDetails"]} == {"category", "salesRep"}
    by_eid = signed("PATCH", f"{ns.url}{REC}/customer/eid:CUST-1001",
                    json={"salesRep": {"externalId": "EMP-TOM"}, "entityStatus": "CUSTOMER-Renewal"})
    assert by_eid.status_code == 204
    assert signed("GET", f"{ns.url}{REC}/customer/eid:CUST-1001").json()["salesRep"]["refName"] == "Tom Closer"


def test_address_book_lines_keep_one_default_and_a_validated_address(ns):
    url = f"{ns.url}{REC}/customer/eid:CUST-1001"
    warehouse = {"label": "Warehouse", "defaultShipping": True, "defaultBilling": False,
                 "addressBookAddress": {"addr1": "5 Dock Road", "addr2": "Gate 4", "city": "Decatur", "state": "IL",
                                        "zip": "62521", "country": "US"}}
    assert signed("PATCH", url, json={"addressBook": {"items": [warehouse]}}).status_code == 204
    lines = signed("GET", url, params={"expandSubResources": "true"}).json()["addressBook"]["items"]

    assert [(a["label"], a["defaultShipping"], a["defaultBilling"]) for a in lines] == [
        ("Headquarters", False, True), ("Branch - Shelbyville", False, False), ("Warehouse", True, False)]
    assert lines[2]["addressBookAddress"]["addrText"] == "5 Dock Road\nGate 4\nDecatur IL 62521\nUS"
    assert lines[0]["addressBookAddress"]["addr2"] == "Suite 300"

    moved = {"line": lines[0]["line"], "addressBookAddress": {"city": "Capital City"}}
    assert signed("PATCH", url, json={"addressBook": {"items": [moved]}}).status_code == 204
    headquarters = signed("GET", url, params={"expandSubResources": "true"}).json()["addressBook"]["items"][0]
    assert headquarters["addressBookAddress"]["city"] == "Capital City"
    assert headquarters["addressBookAddress"]["addr1"] == "742 Evergreen Terrace"  # the subrecord merged, not replaced

    bad = signed("PATCH", url, json={"addressBook": {"items": [{"addressBookAddress": {"street": "x", "zip": 1}}]}})
    assert bad.status_code == 400
    assert {d["o:errorPath"] for d in bad.json()["o:errorDetails"]} == {
        "addressBook.items[0].addressBookAddress.street", "addressBook.items[0].addressBookAddress.zip"}


def test_custom_fields_are_created_at_run_time_and_then_described_accepted_and_queried(ns):
    definition = {"record": "customer", "id": "custentity_hub_crm_id", "label": "HubSpot Company ID",
                  "type": "string"}
    before = signed("PATCH", f"{ns.url}{REC}/customer/eid:CUST-1001", json={"custentity_hub_crm_id": "hs-1"})

    created = requests.post(f"{ns.url}{ADMIN}", json=definition, timeout=5)
    written = signed("PATCH", f"{ns.url}{REC}/customer/eid:CUST-1001", json={"custentity_hub_crm_id": "hs-1"})
    record = signed("GET", f"{ns.url}{REC}/customer/eid:CUST-1001").json()
    schema = signed("GET", f"{ns.url}{REC}/metadata-catalog/customer",
                    headers={"Accept": "application/schema+json"}).json()["properties"]
    rows = query(ns, "SELECT id, custentity_hub_crm_id FROM customer WHERE custentity_hub_crm_id = 'hs-1'").json()
    listed = requests.get(f"{ns.url}{ADMIN}", timeout=5).json()["items"]

    assert before.status_code == 400 and error_codes(before) == ["INVALID_CONTENT"]
    assert created.status_code == 200 and written.status_code == 204
    assert record["custentity_hub_crm_id"] == "hs-1"
    assert schema["custentity_hub_crm_id"] == {"title": "HubSpot Company ID", "type": "string",
                                               "x-ns-custom-field": True, "nullable": True}
    assert [row["id"] for row in rows["items"]] == [record["id"]]
    assert listed == [{**definition, "options": []}]
    still_unknown = signed("PATCH", f"{ns.url}{REC}/customer/eid:CUST-1001", json={"custentity_other": "x"})
    assert still_unknown.status_code == 400 and error_codes(still_unknown) == ["INVALID_CONTENT"]


@pytest.mark.parametrize("definition", [
    {"record": "customer", "id": "custbody_wrong_prefix", "label": "x"},
    {"record": "customer", "id": "custentity_UPPER", "label": "x"},
    {"record": "customer", "id": "custentity_x", "label": "x", "type": "blob"},
    {"record": "customer", "id": "custentity_x", "label": ""},
    {"record": "priceLevel", "id": "custentity_x", "label": "x"},
])
def test_custom_field_definitions_are_validated(ns, definition):
    response = requests.post(f"{ns.url}{ADMIN}", json=definition, timeout=5)

    assert response.status_code == 400


def test_typed_custom_field_checks_values_and_survives_in_the_state_file(tmp_path):
    state = str(tmp_path / "netsuite.json")
    first = start_emulator("netsuite", seed="demo", state_file=state)
    requests.post(f"{first.url}{ADMIN}", timeout=5, json={
        "record": "customer", "id": "custentity_tier", "label": "Tier", "type": "string", "options": ["A", "B"]})
    bad = signed("PATCH", f"{first.url}{REC}/customer/eid:CUST-1001", json={"custentity_tier": "Z"})
    first.stop()
    second = start_emulator("netsuite", seed="demo", state_file=state)
    try:
        good = signed("PATCH", f"{second.url}{REC}/customer/eid:CUST-1001", json={"custentity_tier": "A"})
        assert bad.status_code == 400 and good.status_code == 204
        requests.post(f"{second.url}/__sandbox__/reset", timeout=5)
        gone = signed("GET", f"{second.url}{REC}/metadata-catalog/customer",
                      headers={"Accept": "application/schema+json"}).json()["properties"]
        assert "custentity_tier" not in gone
    finally:
        second.stop()


def test_suiteql_builtin_df_gives_a_references_name(ns):
    rows = query(ns, "SELECT id, salesrep, BUILTIN.DF(salesrep) AS rep, BUILTIN.DF(companyname) AS name "
                     "FROM customer WHERE id = 100").json()["items"]

    assert rows[0]["rep"] == "Jane Seller" and rows[0]["name"] == "Acme Incorporated"
    assert rows[0]["salesrep"].isdigit()


def test_suiteql_sums_and_counts_per_group():
    rows = [{"id": 1, "entity": "7", "currency": "USD", "total": 10.5},
            {"id": 2, "entity": "7", "currency": "USD", "total": 0.25},
            {"id": 3, "entity": "7", "currency": "EUR", "total": 3},
            {"id": 4, "entity": "8", "currency": "USD", "total": None}]
    known = {"id", "entity", "currency", "total"}
    sql = ("SELECT entity, currency, SUM(total) AS t, COUNT(*) AS n FROM transaction WHERE id > 0 "
           "GROUP BY entity, currency ORDER BY entity, currency")

    assert suiteql.run(suiteql.parse(sql), rows, known) == [
        {"entity": "7", "currency": "EUR", "t": Decimal("3"), "n": 1},
        {"entity": "7", "currency": "USD", "t": Decimal("10.75"), "n": 2},
        {"entity": "8", "currency": "USD", "t": None, "n": 1}]  # a sum of NULLs is NULL
    assert suiteql.run(suiteql.parse("SELECT SUM(total) AS t, COUNT(*) AS n FROM transaction"), rows, known) == [
        {"t": Decimal("13.75"), "n": 4}]
    assert suiteql.run(suiteql.parse("SELECT COUNT(*) AS n FROM transaction WHERE id > 9"), rows, known) == [{"n": 0}]
    for bad in ("SELECT id, SUM(total) FROM transaction GROUP BY entity",  # id is not grouped
                "SELECT id, COUNT(*) FROM transaction",
                "SELECT * FROM transaction GROUP BY entity"):
        with pytest.raises(suiteql.SuiteQLError):
            suiteql.run(suiteql.parse(bad), rows, known)



def test_suiteql_aggregates_over_http_sum_what_the_rows_hold(ns):
    rows = query(ns, "SELECT tranid, entity, currency, total FROM transaction WHERE type = 'CustInvc'").json()["items"]
    sums = query(ns, "SELECT entity, currency, SUM(total) AS t, COUNT(*) AS n FROM transaction "
                     "WHERE type = 'CustInvc' GROUP BY entity, currency ORDER BY entity, currency").json()["items"]

    expected: dict[tuple, list] = {}
    for row in rows:
        expected.setdefault((row["entity"], row["currency"]), []).append(Decimal(row["total"]))
    assert sums and {(s["entity"], s["currency"]): (Decimal(s["t"]), int(s["n"])) for s in sums} == {
        key: (sum(totals), len(totals)) for key, totals in expected.items()}
