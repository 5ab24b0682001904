"""NetSuiteConnector against the NetSuite emulator over real localhost HTTP (no mocks of our code)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.base import ConnectorError
from connectors.netsuite import (
    NetSuiteConnector,
    TbaSigner,
    oauth1_base_string,
    oauth1_signature,
    realm,
    webhook_signature,
)
from connectors.registry import build_connector
from connectors.sandbox import RunningEmulator
from connectors.sandbox.netsuite import DEMO_TBA
from tests.connectors.netsuite_fixtures import (  # noqa: F401
    FAST,
    emulator_of,
    m2m_credentials,
    m2m_key_fixture,
    ns_fixture,
    tba_connector_fixture,
)


def requests_to(running: RunningEmulator, method: str, pattern: str, status: int | None = None) -> int:
    """How many API requests the emulator answered for `method` + path regex (optionally with `status`)."""
    return sum(1 for _, _, code in emulator_of(running).requests_matching(method, pattern)
               if status is None or code == status)


def all_changes(connector: NetSuiteConnector, object: str, since: datetime | None = None, page_size: int = 2,
                **options):
    return list(connector.changes(object, since, page_size=page_size, **options))


# -- pulling ---------------------------------------------------------------------------------------


def test_full_pull_reads_bodies_from_suiteql_pages_without_a_get_per_record(ns, tba_connector):
    pages = all_changes(tba_connector, "customer", page_size=2)

    names = [r.fields["companyName"] for page in pages for r in page.records]
    assert names == ["Acme Incorporated", "Globex Corporation", "Initech LLC", "Umbrella Corporation",
                     "Stark Industries"]
    assert len(pages) == 3 and requests_to(ns, "POST", "suiteql$") == 3
    assert requests_to(ns, "GET", r"record/v1/customer/") == 0
    assert requests_to(ns, "GET", "metadata-catalog/customer$") == 1  # field names and types, once per connector
    acme = pages[0].records[0]
    assert acme.external_id == "100" and acme.updated_at.tzinfo is not None
    assert acme.fields["priceLevel"] == {"id": acme.associations["priceLevel"][0], "refName": "Wholesale"}
    assert (acme.fields["creditLimit"], acme.fields["isInactive"], acme.fields["daysOverdue"]) == (50000.0, False, 90)
    assert acme.fields["salesRep"]["refName"] == "Jane Seller" and acme.fields["category"] == "Manufacturing"
    assert "addressBook" not in acme.fields and "links" not in acme.fields
    cursors = [page.cursor for page in pages]
    assert cursors == sorted(cursors) and all(page.errors == [] for page in pages)


def test_pull_with_sublists_reads_full_records(ns, tba_connector):
    configured = NetSuiteConnector(ns.url, DEMO_TBA, sublists={"customer": True}, **FAST)
    full = all_changes(configured, "customer", page_size=10)
    assert "addressBook" in full[0].records[0].fields
    assert requests_to(ns, "GET", r"record/v1/customer/\d+$") == sum(len(page.records) for page in full)


def test_a_customers_address_book_comes_from_suiteql_not_a_get_per_customer(ns, tba_connector):
    """Asked for the addressBook alone, the connector reads NetSuite's customerAddressbook and
    customerAddressbookEntityAddress tables (three SuiteQL queries a page) and gives the same lines a record GET
    gives."""
    pages = all_changes(tba_connector, "customer", page_size=10, sublists=["addressBook"])

    acme = pages[0].records[0]
    assert [a["label"] for a in acme.fields["addressBook"]] == ["Headquarters", "Branch - Shelbyville"]
    assert acme.fields["addressBook"][0]["addressBookAddress"]["city"] == "Springfield"
    assert requests_to(ns, "GET", r"record/v1/customer/\d+$") == 0
    assert requests_to(ns, "POST", "query/v1/suiteql") <= 3 * len(pages)
    by_get = {r.external_id: r.fields["addressBook"] for page in all_changes(
        NetSuiteConnector(ns.url, DEMO_TBA, sublists={"customer": True}, **FAST), "customer", page_size=10)
        for r in page.records}
    by_suiteql = {r.external_id: r.fields["addressBook"] for page in pages for r in page.records}
    assert by_suiteql == by_get and any(len(lines) > 1 for lines in by_get.values())


@pytest.mark.parametrize(("record_type", "sublist"), [("customer", "addressBook"), ("contact", None),
                                                      ("inventoryItem", "price"), ("priceLevel", None),
                                                      ("invoice", "item"), ("employee", None)])
def test_suiteql_bodies_have_the_record_apis_shape(ns, tba_connector, record_type, sublist):
    emulator_of(ns).add_custom_field("customer", "custentity_hub_crm_id", "HubSpot id")
    tba_connector.upsert_many("customer", [{"externalId": "CUST-1001", "custentity_hub_crm_id": "hs-1"}],
                              "externalId")

    light = [r for page in all_changes(tba_connector, record_type, page_size=3, sublists=False) for r in page.records]
    full = [r for page in all_changes(tba_connector, record_type, page_size=3, sublists=True) for r in page.records]

    assert light and [r.external_id for r in light] == [r.external_id for r in full]
    for body, record in zip(light, full, strict=True):
        assert body.fields == {k: v for k, v in record.fields.items() if k != sublist}
        assert (body.updated_at, body.archived, body.associations) == (
            record.updated_at, record.archived, record.associations)


def test_a_field_suiteql_does_not_know_is_left_out_not_fatal(ns, tba_connector):
    tba_connector._body_columns("contact")  # the catalog as read before SuiteQL lost a column it still lists
    ns.set_faults(removed_fields={"contact": ["title"]})

    records = [r for page in all_changes(tba_connector, "contact", page_size=10) for r in page.records]

    assert len(records) == 6 and all("title" not in r.fields for r in records)
    assert requests_to(ns, "POST", "suiteql$", 400) == 1


def test_incremental_pull_returns_only_records_changed_since_the_cursor(ns, tba_connector):
    last = all_changes(tba_connector, "customer")[-1]
    since = datetime.fromisoformat(last.cursor.replace("Z", "+00:00"))
    tba_connector.upsert_many("customer", [{"externalId": "CUST-1002", "phone": "+1 555 0102"}], "externalId")

    pages = all_changes(tba_connector, "customer", since=since)

    changed = [r.fields["companyName"] for page in pages for r in page.records]
    assert changed == ["Stark Industries", "Globex Corporation"]  # the boundary record again, then the new change
    assert pages[-1].cursor > last.cursor


def test_records_modified_while_paging_are_not_skipped(ns, tba_connector):
    pager = tba_connector.changes("contact", None, page_size=2)
    first = next(pager)
    tba_connector.upsert_many("contact", [{"id": first.records[0].external_id, "title": "Buyer"}], "id")

    seen = [r.external_id for page in [first, *pager] for r in page.records]

    assert set(seen) == {str(i) for i in range(100, 106)}
    assert seen.count(first.records[0].external_id) == 2  # once as it was, once after the edit


def test_pull_of_transactions_carries_lines_and_money(ns, tba_connector):
    [page] = all_changes(tba_connector, "invoice", page_size=10)
    invoice = next(record for record in page.records if record.fields["tranId"] == "INV1001")

    assert invoice.fields["tranId"] == "INV1001"
    assert [(line["item"]["refName"], line["quantity"], line["amount"]) for line in invoice.fields["item"]] == [
        ("WID-200", 250, 5400.0), ("GAD-300", 10, 800.0)]
    assert invoice.fields["amountRemaining"] == 6200.0
    assert invoice.associations["entity"] == [invoice.fields["entity"]["id"]]


def test_get_many_leaves_out_missing_ids_and_accepts_external_ids(ns, tba_connector):
    records = tba_connector.get_many("inventoryItem", ["eid:ITEM-WID-200", "999999", "100"])

    assert [r.fields["itemId"] for r in records] == ["WID-200", "WID-100"]


# -- writing ---------------------------------------------------------------------------------------


def test_create_reads_the_new_id_from_the_location_header(ns, tba_connector):
    [result] = tba_connector.upsert_many("customer", [{"companyName": "Hooli", "email": "it@hooli.example"}], "id")

    assert result.ok and result.created is True
    [record] = tba_connector.get_many("customer", [result.external_id])
    assert record.fields["companyName"] == "Hooli"
    assert requests_to(ns, "POST", r"record/v1/customer$", 204) == 1


def test_upsert_by_external_id_creates_then_updates_one_record(ns, tba_connector):
    first = tba_connector.upsert_many("customer", [{"externalId": "HUB 7/a", "companyName": "Vandelay"}], "externalId")
    second = tba_connector.upsert_many("customer", [{"externalId": "HUB 7/a", "phone": "+1 555 0107"}], "externalId")

    assert first[0].ok and second[0].ok and first[0].key == "HUB 7/a"
    assert first[0].external_id == second[0].external_id
    [record] = tba_connector.get_many("customer", ["eid:HUB 7/a"])
    assert (record.fields["companyName"], record.fields["phone"], record.fields["externalId"]) == (
        "Vandelay", "+1 555 0107", "HUB 7/a")
    assert requests_to(ns, "PUT", r"/customer/eid:HUB%207%2Fa$", 204) == 2
    assert len(ns.store.table("customer")) == 6


def test_batch_reports_each_record_and_keeps_going_past_bad_ones(ns, tba_connector):
    results = tba_connector.upsert_many("customer", [
        {"externalId": "OK-1", "companyName": "Fine Ltd"},
        {"externalId": "BAD-1", "companyName": "Typo Ltd", "emial": "x@typo.example"},
        {"externalId": "BAD-2", "email": "nameless@example.com"},
        {"externalId": "BAD-3", "companyName": "Ghost", "priceLevel": {"id": "424242"}},
        {"externalId": "OK-2", "companyName": "Also Fine"},
    ], "externalId")

    assert [(r.key, r.ok) for r in results] == [("OK-1", True), ("BAD-1", False), ("BAD-2", False),
                                                 ("BAD-3", False), ("OK-2", True)]
    errors = {r.key: r.error for r in results if r.error}
    assert all(e.kind == "validation" and e.permanent and e.status == 400 for e in errors.values())
    assert "INVALID_CONTENT at emial" in errors["BAD-1"].message
    assert "USER_ERROR at companyName: Please enter value(s) for: Company Name" in errors["BAD-2"].message
    assert "priceLevel" in errors["BAD-3"].message
    assert errors["BAD-1"].details["o:errorDetails"][0]["o:errorCode"] == "INVALID_CONTENT"


def test_sales_order_lines_are_written_exactly_and_replaced_on_update(ns, tba_connector):
    lines = [{"item": {"externalId": "ITEM-WID-200"}, "quantity": 500, "rate": 22.5},
             {"item": {"externalId": "ITEM-CBL-010"}, "quantity": 3, "rate": 7.0}]
    [created] = tba_connector.upsert_many("salesOrder", [{"externalId": "DEAL-1", "entity": {"externalId": "CUST-1001"},
                                                          "item": lines}], "externalId")
    tba_connector.upsert_many("salesOrder", [{"externalId": "DEAL-1", "item": lines[:1]}], "externalId")

    [order] = tba_connector.get_many("salesOrder", [created.external_id])
    assert [(line["item"]["refName"], line["quantity"], line["rate"]) for line in order.fields["item"]] == [
        ("WID-200", 500, 22.5)]
    assert order.fields["total"] == 11250.0


def test_customer_template_fields_round_trip_through_the_connector(ns, tba_connector):
    requests.post(f"{ns.url}/__sandbox__/netsuite/customfields", timeout=5, json={
        "record": "customer", "id": "custentity_hub_crm_id", "label": "HubSpot Company ID", "type": "string"})
    addresses = [
        {"label": "HQ", "defaultBilling": True, "defaultShipping": False,
         "addressBookAddress": {"addr1": "1 Infinite Loop", "addr2": "Bldg 2", "city": "Cupertino", "state": "CA",
                                "zip": "95014", "country": "US"}},
        {"label": "Dock", "defaultBilling": False, "defaultShipping": True,
         "addressBookAddress": {"addr1": "9 Harbor Way", "city": "Oakland", "state": "CA", "zip": "94607",
                                "country": "US"}},
    ]
    started = datetime.now(UTC) - timedelta(seconds=1)
    [result] = tba_connector.upsert_many("customer", [{
        "externalId": "HS-501", "companyName": "Pied Piper", "category": "Software",
        "entityStatus": "PROSPECT-In Discussion", "salesRep": {"externalId": "EMP-TOM"},
        "custentity_hub_crm_id": "501", "addressBook": addresses}], "externalId")

    assert result.ok, result.error
    [record] = tba_connector.get_many("customer", [result.external_id])
    lines = record.fields["addressBook"]
    assert [(a["label"], a["defaultBilling"], a["defaultShipping"]) for a in lines] == [
        ("HQ", True, False), ("Dock", False, True)]
    assert {k: v for k, v in lines[0]["addressBookAddress"].items() if k != "addrText"} == \
        addresses[0]["addressBookAddress"]
    assert record.fields["salesRep"]["refName"] == "Tom Closer"
    assert record.associations["salesRep"] == [record.fields["salesRep"]["id"]]

    [changed] = [r for page in all_changes(tba_connector, "customer", since=started) for r in page.records]
    assert {k: changed.fields[k] for k in ("category", "entityStatus", "custentity_hub_crm_id", "salesRep")} == {
        "category": "Software", "entityStatus": "PROSPECT-In Discussion", "custentity_hub_crm_id": "501",
        "salesRep": record.fields["salesRep"]}
    fields = {f.name: f for f in tba_connector.describe("customer")}
    assert fields["custentity_hub_crm_id"].type == "string" and fields["salesRep"].type == "reference"
    assert "Retail" in fields["category"].options

    [moved] = tba_connector.upsert_many("customer", [{"externalId": "HS-501", "addressBook": addresses[1:]}],
                                        "externalId")
    assert moved.ok
    [after] = tba_connector.get_many("customer", ["eid:HS-501"])
    assert [a["label"] for a in after.fields["addressBook"]] == ["Dock"]  # lists replace the sublist
    [typo] = tba_connector.upsert_many("customer", [{"externalId": "HS-501", "custentity_hub_crm": "x"}],
                                       "externalId")
    assert not typo.ok and "INVALID_CONTENT at custentity_hub_crm" in typo.error.message


def test_unsupported_object_and_merge_are_permanent_config_errors(tba_connector):
    with pytest.raises(ConnectorError) as unknown:
        tba_connector.describe("opportunity")
    with pytest.raises(ConnectorError) as merge:
        tba_connector.merge("customer", "100", "101")

    assert (unknown.value.kind, unknown.value.permanent) == ("config", True)
    assert (merge.value.kind, merge.value.permanent) == ("config", True)


# -- rate limits, concurrency, server errors -------------------------------------------------------


def test_rate_limit_429_is_waited_out_and_the_pull_completes(ns, tba_connector):
    ns.set_faults(rate_limit={"requests": 4, "per_seconds": 1})

    records = [r for page in all_changes(tba_connector, "contact", page_size=3, sublists=True) for r in page.records]

    assert len(records) == 6
    assert requests_to(ns, "GET", "record/v1/contact/", 429) + requests_to(ns, "POST", "suiteql$", 429) >= 1


def test_concurrency_limit_429s_are_retried_until_every_write_lands(ns):
    ns.set_faults(concurrency_limit=2, latency_ms=40)
    connector = NetSuiteConnector(ns.url, DEMO_TBA, concurrency=6, batch_size=1, **{**FAST, "max_attempts": 12})

    results = connector.upsert_many("contact", [{"externalId": f"C-{i}", "lastName": f"Person {i}"}
                                                for i in range(12)], "externalId")

    assert all(r.ok for r in results), [r.error for r in results if r.error]
    assert requests_to(ns, "PUT", "record/v1/contact$", 429) + requests_to(ns, "GET", "async/v1/job/", 429) >= 1
    assert len(ns.store.table("contact")) == 6 + 12
    assert len(ns.store.table("_async_jobs")) == 12  # a batch refused with 429 was not processed: no extra job


def test_writes_stay_within_the_accounts_concurrency_limit(ns):
    ns.set_faults(concurrency_limit=3, latency_ms=60)
    connector = NetSuiteConnector(ns.url, {**DEMO_TBA, "concurrency_limit": 3}, batch_size=1, **FAST)

    started = time.perf_counter()
    results = connector.upsert_many("contact", [{"externalId": f"C-{i}", "lastName": "Cap"} for i in range(9)],
                                    "externalId")

    assert all(r.ok for r in results)
    assert sum(1 for _, _, code in emulator_of(ns).request_log if code == 429) == 0
    # 9 batches of one record, 3 requests each (submit, job status, tasks): faster than one at a time
    assert time.perf_counter() - started < 9 * 3 * 0.06 * 0.8


def test_server_errors_are_retried_for_reads(ns, tba_connector):
    ns.set_faults(fail_next=2, fail_status=500)

    records = tba_connector.get_many("customer", ["100"])

    assert [r.external_id for r in records] == ["100"]
    assert requests_to(ns, "GET", "customer/100$", 500) == 2


def test_a_create_that_hit_a_500_is_not_repeated(ns, tba_connector):
    ns.set_faults(fail_next=1, fail_status=500)

    [result] = tba_connector.upsert_many("customer", [{"companyName": "Maybe Written"}], "id")

    assert not result.ok and result.error.kind == "server" and not result.error.permanent
    assert requests_to(ns, "POST", "record/v1/customer$") == 1


# -- auth ------------------------------------------------------------------------------------------


def test_oauth2_client_credentials_fetch_a_token_and_report_it(ns, m2m_key):
    saved: list[dict] = []
    connector = NetSuiteConnector(ns.url, m2m_credentials(ns, m2m_key), on_credentials_refreshed=saved.append, **FAST)

    assert connector.check_auth().ok
    assert connector.get_many("customer", ["100"])[0].fields["companyName"] == "Acme Incorporated"
    assert requests_to(ns, "POST", "oauth2/v1/token$", 200) == 1
    assert saved[-1]["access_token"] and saved[-1]["access_token_expires_at"] > time.time() + 3000


@pytest.mark.timeout(15)
def test_parallel_writes_share_one_token_fetch_without_deadlock(ns, m2m_key):
    connector = NetSuiteConnector(ns.url, m2m_credentials(ns, m2m_key), concurrency=2, **FAST)

    results = connector.upsert_many("contact", [{"externalId": f"T-{i}", "lastName": "Tok"} for i in range(6)],
                                    "externalId")

    assert all(r.ok for r in results)
    assert requests_to(ns, "POST", "oauth2/v1/token$", 200) == 1


def test_rsa_certificate_signs_the_assertion_with_ps256(ns):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    connector = NetSuiteConnector(ns.url, m2m_credentials(ns, key), **FAST)

    assert connector.check_auth().ok
    assert requests_to(ns, "POST", "oauth2/v1/token$", 200) == 1


def test_expired_oauth2_token_is_refreshed_once_on_401(ns, m2m_key):
    saved: list[dict] = []
    connector = NetSuiteConnector(ns.url, m2m_credentials(ns, m2m_key), on_credentials_refreshed=saved.append, **FAST)
    connector.get_many("customer", ["100"])
    ns.set_faults(token_ttl_seconds=0.3)  # the vendor now considers the cached token expired
    time.sleep(0.35)

    records = connector.get_many("customer", ["101"])

    assert [r.external_id for r in records] == ["101"]
    assert requests_to(ns, "GET", "customer/101$", 401) == 1
    assert requests_to(ns, "POST", "oauth2/v1/token$", 200) == 2
    assert saved[0]["access_token"] != saved[-1]["access_token"]


def test_a_cached_token_from_credentials_is_used_and_replaced_when_refused(ns, m2m_key):
    creds = m2m_credentials(ns, m2m_key, access_token="stale", access_token_expires_at=time.time() + 3000)
    connector = NetSuiteConnector(ns.url, creds, **FAST)

    assert connector.get_many("customer", ["100"])
    assert requests_to(ns, "GET", "customer/100$", 401) == 1
    assert connector.credentials["access_token"] != "stale"


def test_token_that_cannot_be_renewed_is_a_permanent_auth_error(ns, m2m_key):
    ns.set_faults(token_ttl_seconds=0)  # every token is dead on arrival
    connector = NetSuiteConnector(ns.url, m2m_credentials(ns, m2m_key), **FAST)

    with pytest.raises(ConnectorError) as error:
        connector.get_many("customer", ["100"])

    assert (error.value.kind, error.value.permanent) == ("auth", True)
    assert requests_to(ns, "GET", "customer/100$", 401) == 2


def test_unregistered_m2m_certificate_is_a_permanent_auth_error(ns, m2m_key):
    creds = {**m2m_credentials(ns, m2m_key), "certificate_id": "unknown-cert"}
    connector = NetSuiteConnector(ns.url, creds, **FAST)

    check = connector.check_auth()

    assert not check.ok and "client assertion" in check.message
    assert requests_to(ns, "POST", "suiteql$") == 0


def test_unreadable_private_key_is_a_config_error_not_a_crash(ns, m2m_key):
    creds = {**m2m_credentials(ns, m2m_key), "private_key": "-----BEGIN nonsense"}
    connector = NetSuiteConnector(ns.url, creds, **FAST)

    with pytest.raises(ConnectorError) as error:
        connector.get_many("customer", ["100"])

    assert (error.value.kind, error.value.permanent) == ("config", True)
    assert not connector.check_auth().ok


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8102/services/rest/record/v1/customer/eid:HUB%207%2Fa",
    "HTTPS://Acct.SuiteTalk.api.netsuite.com:443/services/rest/query/v1/suiteql?limit=1000&offset=0",
    "http://h:8080/p/x?replace=item,addressBook&b=%3D%253D&a=a+b#frag", "http://h", "https://h/?x=",
])
def test_cached_tba_signer_matches_the_rfc_5849_construction(url):
    creds = {**DEMO_TBA, "consumer_secret": "a&b=c%", "token_id": "t o/k", "consumer_key": "\u00fc+"}
    oauth = [("oauth_consumer_key", creds["consumer_key"]), ("oauth_token", creds["token_id"]),
             ("oauth_signature_method", "HMAC-SHA256"), ("oauth_timestamp", "1700000000"), ("oauth_nonce", "n o&"),
             ("oauth_version", "1.0")]
    signature = oauth1_signature(oauth1_base_string("PATCH", url, oauth), creds["consumer_secret"],
                                 creds["token_secret"])
    fields = [("realm", realm(creds["account_id"])), *oauth, ("oauth_signature", signature)]
    expected = "OAuth " + ", ".join(f'{k}="{quote(v, safe="~")}"' for k, v in fields)

    signer = TbaSigner(creds)
    assert signer.header("PATCH", url, timestamp=1700000000, nonce="n o&") == expected
    assert signer.header("PATCH", url, timestamp=1700000000, nonce="n o&") == expected  # cached origin


def test_a_fatal_error_stops_the_other_workers(ns):
    connector = NetSuiteConnector(ns.url, {**DEMO_TBA, "token_secret": "revoked"}, **FAST)

    with pytest.raises(ConnectorError) as error:
        connector.get_many("customer", [str(i) for i in range(100, 140)])

    assert error.value.kind == "auth"
    assert requests_to(ns, "GET", "record/v1/customer/") < 40  # not one refused request per id
    connector.close()


def test_tba_signature_is_accepted(ns, tba_connector):
    assert tba_connector.check_auth().ok
    assert requests_to(ns, "POST", "suiteql$", 200) == 1


def test_bad_tba_signature_is_a_permanent_auth_error_without_a_retry_storm(ns):
    connector = NetSuiteConnector(ns.url, {**DEMO_TBA, "token_secret": "revoked"}, **FAST)

    with pytest.raises(ConnectorError) as error:
        list(connector.changes("customer", None))

    assert (error.value.kind, error.value.permanent, error.value.status) == ("auth", True, 401)
    assert "INVALID_LOGIN" in str(error.value.details)
    assert requests_to(ns, "GET", "metadata-catalog/customer$") + requests_to(ns, "POST", "suiteql$") == 1
    assert not connector.check_auth().ok


def test_credentials_without_a_complete_scheme_are_a_config_error():
    with pytest.raises(ConnectorError) as error:
        build_connector("netsuite", "https://1234567.suitetalk.api.netsuite.com", {"consumer_key": "only"})

    assert error.value.kind == "config" and "token_secret" in error.value.message


# -- schema drift ----------------------------------------------------------------------------------


def test_describe_reports_types_and_follows_a_renamed_or_removed_field(ns, tba_connector):
    before = {f.name: f for f in tba_connector.describe("inventoryItem")}
    ns.set_faults(renamed_fields={"inventoryItem": {"quantityOnHand": "qtyOnHand"}},
                  removed_fields={"inventoryItem": ["upcCode"]})
    after = {f.name: f for f in tba_connector.describe("inventoryItem")}

    assert (before["quantityOnHand"].type, before["quantityOnHand"].label) == ("number", "On Hand")
    assert before["itemId"].required and before["price"].type == "sublist"
    assert before["lastModifiedDate"].type == "datetime"
    assert "quantityOnHand" not in after and "upcCode" not in after
    assert after["qtyOnHand"].type == "number"
    customer = {f.name: f for f in tba_connector.describe("customer")}
    assert customer["priceLevel"].type == "reference"
    assert customer["creditHoldOverride"].options == ["AUTO", "ON", "OFF"]


def test_newly_required_field_holds_records_with_the_vendors_message(ns, tba_connector):
    ns.set_faults(required_fields={"contact": ["email"]})

    [held, ok] = tba_connector.upsert_many("contact", [{"lastName": "NoMail"},
                                                       {"lastName": "HasMail", "email": "m@x.example"}], "id")

    assert not held.ok and "USER_ERROR at email" in held.error.message
    assert ok.ok
    assert "email" in {f.name for f in tba_connector.describe("contact") if f.required}


# -- webhooks --------------------------------------------------------------------------------------


def test_webhook_with_a_fresh_valid_signature_is_accepted_and_forgeries_are_not(ns):
    connector = NetSuiteConnector(ns.url, {**DEMO_TBA, "webhook_secret": "s3cret"}, **FAST)
    body = b'{"recordType":"customer","id":"100"}'
    uri = "https://hub.example/webhooks/netsuite/"
    now = time.time()
    stamp = str(int(now))

    def headers(secret: str = "s3cret", timestamp: str = stamp, payload: bytes = body) -> dict[str, str]:
        return {"X-NetSuite-Timestamp": timestamp,
                "X-NetSuite-Signature": f"v1={webhook_signature(secret, timestamp, 'POST', uri, payload)}"}

    assert connector.verify_webhook("POST", uri, body, headers(), now=now)
    assert not connector.verify_webhook("POST", uri, body, headers(secret="guess"), now=now)
    assert not connector.verify_webhook("POST", uri, b'{"id":"101"}', headers(), now=now)
    stale = str(int(now) - 600)
    assert not connector.verify_webhook("POST", uri, body, headers(timestamp=stale), now=now)
    assert not connector.verify_webhook("POST", uri, body, {}, now=now)
    unconfigured = NetSuiteConnector(ns.url, DEMO_TBA, **FAST)
    assert not unconfigured.verify_webhook("POST", uri, body, headers(), now=now)


# -- malformed answers -----------------------------------------------------------------------------


def test_invalid_json_from_suiteql_is_a_clean_permanent_error(ns, tba_connector):
    ns.set_faults(malformed=[{"path": "suiteql$", "mode": "invalid_json"}])

    with pytest.raises(ConnectorError) as error:
        list(tba_connector.changes("customer", None))

    assert (error.value.kind, error.value.permanent) == ("malformed", True)


def test_html_page_or_record_without_id_becomes_a_per_record_error(ns, tba_connector):
    ns.set_faults(malformed=[{"path": "customer/100$", "mode": "html_error"},
                             {"path": "customer/101$", "mode": "missing_id"}])

    [page] = all_changes(tba_connector, "customer", page_size=10, sublists=True)

    assert [r.external_id for r in page.records] == ["102", "103", "104"]
    assert {(e.external_id, e.kind) for e in page.errors} == {("100", "malformed"), ("101", "malformed")}
    assert page.cursor is not None  # the page still advances; the bad records are reported, not lost silently


def test_html_error_page_with_a_5xx_is_retried_then_reported_as_transient(ns, tba_connector):
    ns.set_faults(malformed=[{"path": "customer/100$", "mode": "html_error", "status": 502}])

    with pytest.raises(ConnectorError) as error:
        tba_connector.get_many("customer", ["100"])

    assert (error.value.kind, error.value.permanent) == ("server", False)
    assert "non-JSON body" in error.value.message
    assert requests_to(ns, "GET", "customer/100$", 502) == FAST["max_attempts"]


def test_create_without_location_is_reported_not_guessed(ns, tba_connector):
    ns.set_faults(malformed=[{"path": "record/v1/customer$", "method": "POST", "mode": "no_location"}])

    [result] = tba_connector.upsert_many("customer", [{"companyName": "Lost Id"}], "id")

    assert not result.ok and result.error.kind == "malformed" and result.error.permanent
    assert "Location" in result.error.message


def test_malformed_metadata_is_a_permanent_error(ns, tba_connector):
    ns.set_faults(malformed=[{"path": "metadata-catalog/customer$", "mode": "html_error"}])

    with pytest.raises(ConnectorError) as error:
        tba_connector.describe("customer")

    assert error.value.kind == "malformed" and error.value.permanent


def test_naive_since_is_read_as_utc(tba_connector):
    aware = all_changes(tba_connector, "customer")[-1].cursor
    moment = datetime.fromisoformat(aware.replace("Z", "+00:00"))

    naive = all_changes(tba_connector, "customer", since=moment.replace(tzinfo=None))

    assert [r.fields["companyName"] for p in naive for r in p.records] == ["Stark Industries"]


def test_since_in_the_future_returns_no_records_and_no_cursor(tba_connector):
    pages = all_changes(tba_connector, "customer", since=datetime.now(UTC) + timedelta(days=1))

    assert [(p.records, p.cursor) for p in pages] == [([], None)]
