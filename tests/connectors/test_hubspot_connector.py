"""The HubSpot connector against the sandbox emulator, over real localhost HTTP."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from hubspot.utils.signature import Signature

from connectors.base import ConnectorError, RateLimit
from connectors.hubspot import HubSpotConnector
from connectors.registry import available_vendors, build_connector, connector_class
from connectors.sandbox import RunningEmulator
from tests.connectors.conftest import FAST

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def create_companies(hubspot: HubSpotConnector, count: int, prefix: str = "Company") -> list[str]:
    results = hubspot.upsert_many("companies", [{"name": f"{prefix} {i}", "domain": f"{prefix.lower()}{i}.example"}
                                                for i in range(count)], None)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return [r.external_id for r in results]


def pulled(hubspot: HubSpotConnector, since: datetime | None, page_size: int = 10) -> tuple[list, list]:
    pages = list(hubspot.changes("companies", since, page_size=page_size))
    return pages, [record for page in pages for record in page.records]


def api_calls(emulator: RunningEmulator, method: str, pattern: str) -> int:
    return len(emulator.emulator.requests_matching(method, pattern))


class TestPull:
    def test_a_full_pull_pages_through_every_record_and_ends_with_a_cursor(self, hubspot, hubspot_emulator):
        ids = create_companies(hubspot, 25)

        pages, records = pulled(hubspot, None, page_size=10)

        assert sorted(r.external_id for r in records) == sorted(ids)
        assert len(pages) == 3
        assert [p.cursor is None for p in pages] == [True, True, False]
        assert datetime.fromisoformat(pages[-1].cursor) == max(r.updated_at for r in records)
        assert records[0].fields["name"].startswith("Company")
        assert records[0].updated_at.tzinfo is not None

    def test_an_incremental_pull_returns_only_changes_since_the_cursor_oldest_first(self, hubspot):
        ids = create_companies(hubspot, 12)
        _, first = pulled(hubspot, None)
        cursor = max(r.updated_at for r in first)
        time.sleep(0.01)
        hubspot.upsert_many("companies", [{"id": ids[3], "name": "Renamed 3"}, {"id": ids[7], "city": "Bern"}], None)

        pages, records = pulled(hubspot, cursor + timedelta(milliseconds=1), page_size=1)

        assert [r.external_id for r in records] == [ids[3], ids[7]]
        assert records[0].fields["name"] == "Renamed 3"
        assert records[0].updated_at <= records[1].updated_at
        assert pages[-1].cursor is not None
        assert datetime.fromisoformat(pages[-1].cursor) == records[1].updated_at

    def test_it_restarts_the_search_window_at_the_10000_result_ceiling(self, hubspot, hubspot_emulator):
        hubspot_emulator.set_faults(search_ceiling=20)
        hubspot.search_ceiling = 20
        ids = []
        for batch in range(6):  # each batch shares one modification time: ties at every window boundary
            ids += create_companies(hubspot, 9, prefix=f"B{batch}")
            time.sleep(0.002)

        _, records = pulled(hubspot, EPOCH, page_size=7)

        assert sorted(r.external_id for r in records) == sorted(ids)
        assert len({r.external_id for r in records}) == len(records)
        searches = hubspot_emulator.emulator.requests_matching("POST", r"/search$")
        assert all(status == 200 for *_, status in searches)

    def test_it_walks_a_timestamp_shared_by_more_records_than_one_window(self, hubspot, hubspot_emulator):
        hubspot_emulator.set_faults(search_ceiling=20)
        hubspot.search_ceiling = 20
        ids = create_companies(hubspot, 55)  # one batch/create call: 55 records, one modification time

        _, records = pulled(hubspot, EPOCH, page_size=10)

        assert sorted(r.external_id for r in records) == sorted(ids)
        assert len(records) == 55

    def test_changes_asks_for_every_property_so_records_are_complete(self, hubspot):
        hubspot.upsert_many("companies", [{"name": "Full", "city": "Basel", "zip": "4051"}], None)

        _, records = pulled(hubspot, EPOCH)

        assert records[0].fields["city"] == "Basel"
        assert records[0].fields["zip"] == "4051"

    def test_contacts_are_pulled_by_their_lastmodifieddate(self, hubspot):
        hubspot.upsert_many("contacts", [{"email": "a@example.com", "firstname": "A"}], None)

        records = [r for page in hubspot.changes("contacts", EPOCH) for r in page.records]

        assert [r.fields["email"] for r in records] == ["a@example.com"]
        assert records[0].updated_at == datetime.fromisoformat(records[0].fields["lastmodifieddate"])

    def test_deals_are_addressable_by_object_type_id(self, hubspot):
        hubspot.upsert_many("0-3", [{"dealname": "Big one", "amount": "1000"}], None)

        records = [r for page in hubspot.changes("deals", None) for r in page.records]

        assert [r.fields["dealname"] for r in records] == ["Big one"]


class TestWrites:
    def test_batch_upsert_reports_each_record_and_fails_only_the_bad_ones(self, hubspot, hubspot_emulator):
        ids = create_companies(hubspot, 2)
        records = [
            {"name": "New Co", "_key": "k-new"},
            {"name": "Broken", "no_such_property": "x", "_key": "k-bad"},
            {"id": ids[0], "name": "Updated"},
            {"id": "987654", "name": "Ghost"},
            {"name": "Bad number", "numberofemployees": "many", "_key": "k-num"},
            {"name": "Another", "_key": "k-another"},
        ]

        results = hubspot.upsert_many("companies", records, None)

        assert [r.key for r in results] == ["k-new", "k-bad", ids[0], "987654", "k-num", "k-another"]
        assert [r.ok for r in results] == [True, False, True, False, False, True]
        assert results[0].created is True and results[2].created is False
        assert results[1].error.permanent and "no_such_property" in results[1].error.message
        assert results[3].error.kind == "not_found"
        assert "numberofemployees" in results[4].error.message
        names = {r.fields["name"] for r in hubspot.get_many("companies", [r.external_id for r in results if r.ok])}
        assert names == {"New Co", "Updated", "Another"}

    def test_upsert_by_a_unique_custom_property_creates_then_updates(self, hubspot):
        hubspot.create_property("companies", "erp_customer_number", "ERP customer number", "string", "text",
                                "companyinformation", unique=True)
        first = hubspot.upsert_many("companies", [{"erp_customer_number": "C-1", "name": "One"},
                                                  {"erp_customer_number": "C-2", "name": "Two"}], "erp_customer_number")
        second = hubspot.upsert_many("companies", [{"erp_customer_number": "C-2", "name": "Two v2"},
                                                   {"erp_customer_number": "C-3", "name": "Three"},
                                                   {"name": "No number"}], "erp_customer_number")

        assert [(r.key, r.ok, r.created) for r in first] == [("C-1", True, True), ("C-2", True, True)]
        assert [(r.key, r.ok, r.created) for r in second[:2]] == [("C-2", True, False), ("C-3", True, True)]
        assert second[0].external_id == first[1].external_id
        assert not second[2].ok and second[2].error.kind == "validation"
        assert hubspot.get_many("companies", [first[1].external_id])[0].fields["name"] == "Two v2"

    def test_it_writes_in_batches_of_100(self, hubspot, hubspot_emulator):
        results = hubspot.upsert_many("products", [{"name": f"P{i}", "price": i} for i in range(250)], None)

        assert len(results) == 250 and all(r.ok for r in results)
        assert api_calls(hubspot_emulator, "POST", r"/products/batch/create$") == 3
        assert len(hubspot.get_many("products", [r.external_id for r in results])) == 250

    def test_get_many_leaves_out_ids_that_do_not_exist(self, hubspot):
        ids = create_companies(hubspot, 2)

        records = hubspot.get_many("companies", [ids[0], "424242", ids[1], ids[0]])

        assert sorted(r.external_id for r in records) == sorted(ids)

    def test_a_create_that_timed_out_is_not_repeated(self, hubspot_emulator):
        hubspot = HubSpotConnector(hubspot_emulator.url, {"access_token": "sandbox-token"}, **{**FAST, "timeout": 0.3})
        hubspot_emulator.set_faults(timeout_next=1, hang_seconds=0.6)

        results = hubspot.upsert_many("companies", [{"name": "Maybe"}], None)

        assert not results[0].ok and results[0].error.kind == "timeout" and not results[0].error.permanent
        assert api_calls(hubspot_emulator, "POST", r"/batch/create$") == 0  # hung before logging
        assert hubspot.http.stats["requests"] == 1


class TestAssociationsAndMerge:
    def test_associations_are_written_on_create_and_update_and_read_back(self, hubspot):
        acme, globex = create_companies(hubspot, 2)
        created = hubspot.upsert_many("contacts", [{"email": "w@acme.com", "_associations": {"companies": [acme]}}],
                                      None)
        contact_id = created[0].external_id
        deal = hubspot.upsert_many("deals", [{"dealname": "D", "_associations": {"companies": [globex]}}], None)
        hubspot.upsert_many("contacts", [{"id": contact_id, "_associations": {"companies": [globex]}}], None)

        contact = hubspot.get_many("contacts", [contact_id], associations=["companies"])[0]

        assert sorted(contact.associations["companies"]) == sorted([acme, globex])
        assert hubspot.associations_of("deals", [deal[0].external_id], "companies") == {deal[0].external_id: [globex]}

    def test_associations_as_rules_write_them_replace_that_types_associations_on_update(self, hubspot):
        acme, globex, initech = create_companies(hubspot, 3)
        [deal] = hubspot.upsert_many("deals", [{"dealname": "D", "associations": {"companies": [acme]}}], None)
        hubspot.upsert_many("deals", [{"id": deal.external_id, "_associations": {"companies": [initech]}}], None)
        [moved] = hubspot.upsert_many("deals", [{"id": deal.external_id, "associations": {"companies": [globex]}}],
                                      None)

        assert moved.ok
        assert hubspot.associations_of("deals", [deal.external_id], "companies") == {deal.external_id: [globex]}
        assert hubspot.associations_of("companies", [acme], "deals") == {}  # gone both ways

    def test_pulls_can_carry_associations(self, hubspot):
        company = create_companies(hubspot, 1)[0]
        hubspot.upsert_many("contacts", [{"email": "p@x.io", "_associations": {"companies": [company]}},
                                         {"email": "q@x.io"}], None)

        full = [r for page in hubspot.changes("contacts", None, associations=["companies"]) for r in page.records]
        incremental = [r for page in hubspot.changes("contacts", EPOCH, associations=["companies"])
                       for r in page.records]

        for records in (full, incremental):
            by_email = {r.fields["email"]: r.associations.get("companies", []) for r in records}
            assert by_email == {"p@x.io": [company], "q@x.io": []}

    def test_line_items_associate_with_deals_by_the_v4_default_association(self, hubspot):
        deal_id = hubspot.upsert_many("deals", [{"dealname": "With lines"}], None)[0].external_id
        line_id = hubspot.upsert_many("line_items", [{"name": "Widget", "quantity": 2, "price": "9.5"}],
                                      None)[0].external_id

        hubspot.associate("line_items", line_id, "deals", deal_id)

        assert hubspot.associations_of("deals", [deal_id], "line_items") == {deal_id: [line_id]}

    def test_an_association_to_a_missing_record_fails_that_write(self, hubspot):
        results = hubspot.upsert_many("contacts", [{"email": "x@y.z", "_associations": {"companies": ["31337"]}}],
                                      None)

        assert not results[0].ok and results[0].error.permanent

    def test_merge_keeps_the_survivor_fills_its_gaps_and_moves_associations(self, hubspot):
        survivor = hubspot.upsert_many("companies", [{"name": "Acme Inc", "domain": "acme.com"}], None)[0].external_id
        absorbed = hubspot.upsert_many("companies", [{"name": "ACME, Inc.", "phone": "+1 415 555 0100"}],
                                       None)[0].external_id
        contact = hubspot.upsert_many("contacts", [{"email": "r@acme.com", "_associations": {"companies": [absorbed]}}],
                                      None)[0].external_id

        merged = hubspot.merge("companies", survivor, absorbed)

        assert merged.external_id == survivor
        record = hubspot.get_many("companies", [survivor])[0]
        assert record.fields["name"] == "Acme Inc" and record.fields["phone"] == "+1 415 555 0100"
        assert hubspot.associations_of("contacts", [contact], "companies") == {contact: [survivor]}

    def test_merge_is_refused_for_objects_hubspot_cannot_merge(self, hubspot, hubspot_emulator):
        with pytest.raises(ConnectorError) as caught:
            hubspot.merge("products", "1", "2")

        assert caught.value.kind == "config" and caught.value.permanent
        assert "does not support merge" in caught.value.message
        assert hubspot_emulator.emulator.request_log == type(hubspot_emulator.emulator.request_log)()


class TestFaults:
    def test_it_backs_off_on_429_and_completes(self, hubspot, hubspot_emulator):
        ids = create_companies(hubspot, 12)
        hubspot_emulator.set_faults(rate_limit={"requests": 3, "per_seconds": 1})

        _, records = pulled(hubspot, None, page_size=3)

        assert sorted(r.external_id for r in records) == sorted(ids)
        statuses = [status for *_, status in hubspot_emulator.emulator.request_log]
        assert 429 in statuses and statuses[-1] == 200

    def test_a_retry_after_longer_than_the_wait_cap_is_handed_to_the_caller(self, hubspot, hubspot_emulator):
        hubspot_emulator.set_faults(rate_limit={"requests": 1, "per_seconds": 30})
        hubspot.http.max_retry_wait = 1
        hubspot.check_auth()

        with pytest.raises(ConnectorError) as caught:
            hubspot.get_many("companies", ["1"])

        assert caught.value.kind == "rate_limit" and not caught.value.permanent
        assert caught.value.retry_after >= 29

    def test_it_retries_5xx_and_completes(self, hubspot, hubspot_emulator):
        ids = create_companies(hubspot, 3)
        hubspot_emulator.set_faults(fail_next=2, fail_status=500)

        records = hubspot.get_many("companies", ids)

        assert len(records) == 3
        assert hubspot.http.stats["retries"] == 2

    def test_it_gives_up_after_max_attempts_with_a_transient_error(self, hubspot, hubspot_emulator):
        hubspot_emulator.set_faults(fail_next=100)

        with pytest.raises(ConnectorError) as caught:
            hubspot.describe("companies")

        assert caught.value.kind == "server" and not caught.value.permanent
        assert api_calls(hubspot_emulator, "GET", r"/properties/companies$") == FAST["max_attempts"]

    def test_it_retries_a_read_that_timed_out(self, hubspot_emulator):
        hubspot = HubSpotConnector(hubspot_emulator.url, {"access_token": "sandbox-token"}, **{**FAST, "timeout": 0.3})
        hubspot_emulator.set_faults(timeout_next=1, hang_seconds=0.6)

        fields = hubspot.describe("companies")

        assert "name" in {f.name for f in fields}
        assert hubspot.http.stats["retries"] == 1

    def test_a_schema_change_shows_up_in_describe_and_in_records(self, hubspot, hubspot_emulator):
        hubspot.upsert_many("companies", [{"name": "Schema", "phone": "123", "industry": "RETAIL"}], None)
        hubspot_emulator.set_faults(renamed_fields={"companies": {"phone": "phone_number"}},
                                    removed_fields={"companies": ["industry"]})
        hubspot_fresh = HubSpotConnector(hubspot_emulator.url, {"access_token": "sandbox-token"}, **FAST)

        names = {f.name for f in hubspot_fresh.describe("companies")}
        _, records = pulled(hubspot_fresh, EPOCH)
        write = hubspot_fresh.upsert_many("companies", [{"id": records[0].external_id, "phone": "456"}], None)

        assert "phone_number" in names and "phone" not in names and "industry" not in names
        assert records[0].fields["phone_number"] == "123" and "industry" not in records[0].fields
        assert not write[0].ok and "PROPERTY_DOESNT_EXIST" in write[0].error.message


class TestAuth:
    def oauth(self, emulator: RunningEmulator, refreshed: list, **credentials: str) -> HubSpotConnector:
        base = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
                "refresh_token": "sandbox-refresh-token"}
        return HubSpotConnector(emulator.url, {**base, **credentials}, on_credentials_refreshed=refreshed.append,
                                **FAST)

    def test_it_refreshes_an_expired_oauth_token_and_hands_over_the_new_credentials(self, hubspot_emulator):
        hubspot_emulator.set_faults(token_ttl_seconds=0.3)
        token = requests.post(f"{hubspot_emulator.url}/oauth/v1/token", data={
            "grant_type": "refresh_token", "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret",
            "refresh_token": "sandbox-refresh-token"}, timeout=5).json()["access_token"]
        refreshed: list[dict] = []
        hubspot = self.oauth(hubspot_emulator, refreshed, access_token=token)
        time.sleep(0.4)

        check = hubspot.check_auth()

        assert check.ok, check.message
        assert len(refreshed) == 1 and refreshed[0]["access_token"] != token
        assert refreshed[0]["refresh_token"] == "sandbox-refresh-token" and refreshed[0]["expires_at"] > time.time()
        assert hubspot.credentials == refreshed[0]
        assert [s for m, p, s in hubspot_emulator.emulator.request_log if p.startswith("/crm")] == [401, 200]

    def test_it_gets_a_token_before_the_first_call_when_it_has_none(self, hubspot_emulator):
        refreshed: list[dict] = []

        assert self.oauth(hubspot_emulator, refreshed).check_auth().ok
        assert len(refreshed) == 1

    def test_a_second_401_is_a_permanent_auth_error_without_a_retry_storm(self, hubspot_emulator):
        hubspot_emulator.set_faults(token_ttl_seconds=0)  # every issued token is born expired
        hubspot = self.oauth(hubspot_emulator, [], access_token="stale")

        with pytest.raises(ConnectorError) as caught:
            hubspot.describe("companies")

        assert caught.value.kind == "auth" and caught.value.permanent and "again after refreshing" in str(caught.value)
        log = [(m, p) for m, p, _ in hubspot_emulator.emulator.request_log]
        assert log == [("GET", "/crm/v3/properties/companies"), ("POST", "/oauth/v1/token"),
                       ("GET", "/crm/v3/properties/companies")]

    def test_a_revoked_refresh_token_is_a_permanent_auth_error(self, hubspot_emulator):
        hubspot = self.oauth(hubspot_emulator, [], refresh_token="revoked")

        with pytest.raises(ConnectorError) as caught:
            hubspot.describe("companies")

        assert caught.value.kind == "auth" and caught.value.permanent and "reconnect" in caught.value.message

    def test_check_auth_reports_a_rejected_private_app_token(self, hubspot_emulator):
        hubspot = HubSpotConnector(hubspot_emulator.url, {"access_token": "wrong"}, **FAST)

        check = hubspot.check_auth()

        assert not check.ok and "not valid" in check.message
        assert len(hubspot_emulator.emulator.request_log) == 1

    def test_credentials_without_a_token_are_a_config_error(self):
        with pytest.raises(ConnectorError) as caught:
            HubSpotConnector("http://127.0.0.1:9", {"client_id": "x"})

        assert caught.value.kind == "config"


class TestMalformedResponses:
    def test_records_without_an_id_or_with_a_bad_timestamp_become_page_errors(self, hubspot, hubspot_emulator):
        ids = create_companies(hubspot, 2)
        table = hubspot_emulator.store.table("companies")
        table["broken-1"] = {"id": None, "properties": {"name": "No id"}, "createdAt": None, "updatedAt": None,
                             "archived": False}
        table["broken-2"] = {"id": "777", "properties": {"name": "Bad time", "hs_lastmodifieddate": "yesterday"},
                             "createdAt": "x", "updatedAt": "soon", "archived": False}

        pages, records = pulled(hubspot, None)

        assert sorted(r.external_id for r in records) == sorted(ids)
        errors = [e for page in pages for e in page.errors]
        assert [e.external_id for e in errors] == [None, "777"]
        assert all(e.kind == "malformed" and e.raw for e in errors)

    def test_invalid_json_is_a_permanent_malformed_error_without_retries(self, hubspot, hubspot_emulator):
        hubspot_emulator.set_faults(garble_next=1, garble_mode="invalid_json")

        with pytest.raises(ConnectorError) as caught:
            hubspot.describe("companies")

        assert caught.value.kind == "malformed" and caught.value.permanent
        assert hubspot.http.stats["requests"] == 1

    def test_an_html_error_page_from_a_proxy_is_retried_then_reported_cleanly(self, hubspot, hubspot_emulator):
        hubspot_emulator.set_faults(garble_next=1, garble_mode="html_502")
        assert hubspot.describe("companies")

        hubspot_emulator.set_faults(garble_next=100)
        with pytest.raises(ConnectorError) as caught:
            hubspot.describe("companies")

        assert caught.value.kind == "server" and caught.value.status == 502
        assert "502 Bad Gateway" in caught.value.message

    def test_an_html_page_with_status_200_is_malformed(self, hubspot, hubspot_emulator):
        hubspot_emulator.set_faults(garble_next=1, garble_mode="html_200")

        with pytest.raises(ConnectorError) as caught:
            list(hubspot.changes("companies", None, properties=["name"]))

        assert caught.value.kind == "malformed" and "maintenance" in caught.value.message


class TestRegistry:
    def test_hubspot_is_registered(self):
        assert connector_class("hubspot") is HubSpotConnector
        assert "hubspot" in available_vendors()

    def test_an_unknown_vendor_is_a_clear_config_error(self):
        with pytest.raises(ConnectorError) as caught:
            connector_class("sap_r2")

        assert caught.value.kind == "config" and "hubspot" in caught.value.message

    def test_build_connector_declares_the_vendor_default_rate_limit(self, hubspot_emulator):
        connector = build_connector("hubspot", hubspot_emulator.url, {"access_token": "sandbox-token"})

        assert connector.http.rate_limit == RateLimit(100, 10)

    def test_an_unknown_object_is_a_config_error(self, hubspot):
        with pytest.raises(ConnectorError) as caught:
            hubspot.describe("tickets_v9")

        assert caught.value.kind == "config"


class TestWebhooks:
    SECRET = "app-client-secret"
    URI = "https://hub.example.com/webhooks/hubspot-prod/"
    BODY = b'[{"eventId":1,"subscriptionType":"company.propertyChange","objectId":1001,"propertyName":"name"}]'

    def connector(self, **credentials: str) -> HubSpotConnector:
        return HubSpotConnector("http://127.0.0.1:9", {"access_token": "t", "client_secret": self.SECRET,
                                                       **credentials})

    def headers(self, timestamp_ms: int, *, secret: str = SECRET, body: bytes = BODY, uri: str = URI) -> dict:
        # HubSpot's own SDK computes the signature, so the connector is checked against an independent implementation.
        signature = Signature.get_signature(secret, body.decode(), "v3", http_uri=uri, http_method="POST",
                                            timestamp=str(timestamp_ms))
        return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(timestamp_ms)}

    def test_an_association_change_names_the_record_whose_associations_changed(self):
        events = [{"subscriptionType": "deal.associationChange", "fromObjectId": 2001, "toObjectId": 3001,
                   "associationType": "DEAL_TO_LINE_ITEM", "associationRemoved": True},
                  {"subscriptionType": "deal.propertyChange", "objectId": 2002, "propertyName": "dealstage"}]

        assert self.connector().webhook_records(events) == [("deals", "2001"), ("deals", "2002")]

    def test_it_accepts_a_fresh_correctly_signed_request(self):
        now = time.time()

        assert self.connector().verify_webhook("POST", self.URI, self.BODY, self.headers(int(now * 1000)), now=now)

    def test_header_names_are_case_insensitive_and_the_webhook_secret_wins(self):
        now = time.time()
        headers = {k.lower(): v for k, v in self.headers(int(now * 1000), secret="hook-secret").items()}

        assert self.connector(webhook_secret="hook-secret").verify_webhook("POST", self.URI, self.BODY, headers,
                                                                           now=now)

    def test_it_rejects_stale_signature(self):
        now = time.time()
        headers = self.headers(int((now - 301) * 1000))

        assert not self.connector().verify_webhook("POST", self.URI, self.BODY, headers, now=now)

    def test_it_rejects_a_timestamp_from_the_future(self):
        now = time.time()
        headers = self.headers(int((now + 301) * 1000))

        assert not self.connector().verify_webhook("POST", self.URI, self.BODY, headers, now=now)

    def test_it_rejects_a_forged_signature(self):
        now = time.time()
        headers = self.headers(int(now * 1000), secret="someone-else")

        assert not self.connector().verify_webhook("POST", self.URI, self.BODY, headers, now=now)

    def test_it_rejects_a_tampered_body_or_uri(self):
        now = time.time()
        headers = self.headers(int(now * 1000))

        assert not self.connector().verify_webhook("POST", self.URI, self.BODY.replace(b"1001", b"1002"), headers,
                                                   now=now)
        assert not self.connector().verify_webhook("POST", self.URI + "x", self.BODY, headers, now=now)

    def test_it_rejects_an_unsigned_request(self):
        now = time.time()
        timestamp_only = {"X-HubSpot-Request-Timestamp": str(int(now * 1000))}

        assert not self.connector().verify_webhook("POST", self.URI, self.BODY, {}, now=now)
        assert not self.connector().verify_webhook("POST", self.URI, self.BODY, timestamp_only, now=now)

    def test_it_rejects_everything_without_a_secret(self):
        now = time.time()
        hubspot = HubSpotConnector("http://127.0.0.1:9", {"access_token": "t"})

        assert not hubspot.verify_webhook("POST", self.URI, self.BODY, self.headers(int(now * 1000)), now=now)

    def test_percent_encoded_characters_in_the_uri_are_decoded_before_signing(self):
        now = time.time()
        headers = self.headers(int(now * 1000), uri="https://hub.example.com/webhooks/a:b?x=@y")

        assert self.connector().verify_webhook("POST", "https://hub.example.com/webhooks/a%3Ab?x=%40y", self.BODY,
                                               headers, now=now)
