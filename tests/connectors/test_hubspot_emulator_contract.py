"""Contract: HubSpot's official Python client drives the emulator through every operation the connector uses.

The client's generated models validate required fields and enum values, so a wrong-shaped response fails here.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4.models import (
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiArchive,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.models import PublicObjectId as V4ObjectId
from hubspot.crm.companies import PublicMergeInput
from hubspot.crm.objects import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import PropertyCreate
from urllib3.util.retry import Retry

from connectors.sandbox import RunningEmulator


@pytest.fixture
def client(hubspot_demo: RunningEmulator) -> HubSpot:
    return HubSpot(access_token="sandbox-token", host=hubspot_demo.url)


def company_ids(client: HubSpot) -> list[str]:
    return [c.id for c in client.crm.companies.basic_api.get_page(limit=100).results]


@contextmanager
def api_error(status: int) -> Iterator[pytest.ExceptionInfo]:
    """Expect an ApiException (each client sub-package has its own class) with this status."""
    with pytest.raises(Exception) as caught:
        yield caught
    assert getattr(caught.value, "status", None) == status, caught.value


def error_body(exc: Exception) -> dict:
    body = json.loads(exc.body)
    uuid.UUID(body["correlationId"])
    assert body["message"] and body["category"]
    return body


class TestObjects:
    def test_list_pages_with_an_opaque_after_cursor_and_no_paging_on_the_last_page(self, client):
        first = client.crm.companies.basic_api.get_page(limit=5, properties=["name", "city"])
        rest = client.crm.companies.basic_api.get_page(limit=5, after=first.paging.next.after)

        assert len(first.results) == 5 and first.results[0].properties["name"]
        assert "city" in first.results[0].properties and first.results[0].archived is False
        assert rest.paging is None and len(rest.results) == 3

    def test_get_create_update_archive(self, client):
        created = client.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
            properties={"email": "new@example.com", "firstname": "New"}))
        fetched = client.crm.contacts.basic_api.get_by_id(created.id, properties=["email", "firstname"])
        by_email = client.crm.contacts.basic_api.get_by_id("NEW@example.com", id_property="email")
        updated = client.crm.contacts.basic_api.update(created.id, SimplePublicObjectInput(
            properties={"firstname": "Renamed"}))
        client.crm.contacts.basic_api.archive(created.id)

        assert fetched.properties["firstname"] == "New" and by_email.id == created.id
        assert updated.properties["firstname"] == "Renamed" and updated.updated_at >= created.updated_at
        assert updated.properties["lastmodifieddate"] and updated.properties["hs_object_id"] == created.id
        with api_error(404) as caught:
            client.crm.contacts.basic_api.get_by_id(created.id)
        assert caught.value.status == 404 and error_body(caught.value)["category"] == "OBJECT_NOT_FOUND"

    def test_deals_answer_under_their_object_type_id(self, client):
        page = client.crm.objects.basic_api.get_page("0-3", limit=10, properties=["dealname", "amount"])

        assert len(page.results) == 5 and page.results[0].properties["amount"]

    def test_list_and_get_return_associations_when_asked(self, client):
        page = client.crm.contacts.basic_api.get_page(limit=1, associations=["companies"])
        contact = page.results[0]

        # An association without a primary flag is HubSpot's unlabeled type for a pair that has a primary one.
        assert contact.associations["companies"].results[0].type == "contact_to_company_unlabeled"
        company_id = contact.associations["companies"].results[0].id
        company = client.crm.companies.basic_api.get_by_id(company_id, associations=["contacts"])
        assert contact.id in [a.id for a in company.associations["contacts"].results]

    def test_create_with_an_association(self, client):
        company = company_ids(client)[3]
        deal = client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(
            properties={"dealname": "Linked", "amount": "10"},
            associations=[PublicAssociationsForObject(to=PublicObjectId(id=company), types=[
                AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=341)])]))

        fetched = client.crm.deals.basic_api.get_by_id(deal.id, associations=["companies"])
        assert [a.id for a in fetched.associations["companies"].results] == [company]


class TestBatch:
    def test_batch_read_reports_missing_ids_as_207_errors(self, client):
        ids = company_ids(client)[:2]
        response = client.crm.companies.batch_api.read(BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in [*ids, "999999"]], properties=["name"],
            properties_with_history=[]))

        assert sorted(r.id for r in response.results) == sorted(ids)
        assert response.num_errors == 1 and response.errors[0].context["ids"] == ["999999"]
        assert response.status == "COMPLETE" and response.completed_at >= response.started_at

    def test_batch_create_update_upsert_archive(self, client):
        batch = client.crm.products.batch_api
        created = batch.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            SimplePublicObjectBatchInputForCreate(properties={"name": f"P{i}", "price": "1.5"},
                                                  object_write_trace_id=f"t{i}") for i in range(3)]))
        ids = sorted(r.id for r in created.results)
        updated = batch.update(BatchInputSimplePublicObjectBatchInput(inputs=[
            SimplePublicObjectBatchInput(id=i, properties={"price": "2"}) for i in ids]))
        client.crm.properties.core_api.create("products", PropertyCreate(
            name="erp_item_id", label="ERP item", type="string", field_type="text", group_name="productinformation",
            has_unique_value=True))
        upserted = batch.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
            SimplePublicObjectBatchInputUpsert(id="ERP-1", id_property="erp_item_id", properties={"name": "Up"}),
            SimplePublicObjectBatchInputUpsert(id="ERP-1b", id_property="erp_item_id", properties={"name": "Up2"}),
        ]))
        again = batch.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
            SimplePublicObjectBatchInputUpsert(id="ERP-1", id_property="erp_item_id", properties={"price": "9"})]))
        batch.archive(BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=ids[0])]))

        assert sorted(r.object_write_trace_id for r in created.results) == ["t0", "t1", "t2"]
        assert {r.properties["price"] for r in updated.results} == {"2"}
        assert [r.new for r in upserted.results] == [True, True] and again.results[0].new is False
        assert again.results[0].id == upserted.results[0].id
        remaining = client.crm.products.basic_api.get_page(limit=100).results
        assert ids[0] not in [r.id for r in remaining]

    def test_a_batch_over_100_inputs_is_rejected(self, client):
        with api_error(400) as caught:
            client.crm.companies.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
                SimplePublicObjectBatchInputForCreate(properties={"name": str(i)}) for i in range(101)]))

        assert caught.value.status == 400 and error_body(caught.value)["category"] == "VALIDATION_ERROR"

    def test_a_write_to_an_unknown_property_fails_the_batch_with_property_doesnt_exist(self, client):
        with api_error(400) as caught:
            client.crm.companies.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
                SimplePublicObjectBatchInputForCreate(properties={"name": "ok"}),
                SimplePublicObjectBatchInputForCreate(properties={"name": "bad", "favourite_colour": "red"})]))

        body = error_body(caught.value)
        assert caught.value.status == 400 and "PROPERTY_DOESNT_EXIST" in body["message"]
        assert len(company_ids(client)) == 8  # nothing from the failed batch was written


class TestSearch:
    def search(self, client: HubSpot, *filters: Filter, **options) -> object:
        return client.crm.companies.search_api.do_search(PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=list(filters))] if filters else [], **options))

    @pytest.mark.parametrize(("filter_", "expected"), [
        (Filter(property_name="city", operator="EQ", value="springfield"), 3),
        (Filter(property_name="city", operator="NEQ", value="Springfield"), 5),
        (Filter(property_name="zip", operator="IN", values=["62704", "60601"]), 4),
        (Filter(property_name="industry", operator="HAS_PROPERTY"), 8),
        (Filter(property_name="numberofemployees", operator="NOT_HAS_PROPERTY"), 8),
        (Filter(property_name="name", operator="CONTAINS_TOKEN", value="acme*"), 3),
        (Filter(property_name="hs_object_id", operator="GT", value="1006"), 2),
        (Filter(property_name="hs_object_id", operator="GTE", value="1006"), 3),
        (Filter(property_name="hs_object_id", operator="LT", value="1003"), 2),
        (Filter(property_name="hs_object_id", operator="LTE", value="1003"), 3),
        (Filter(property_name="hs_object_id", operator="BETWEEN", value="1002", high_value="1004"), 3),
    ])
    def test_filter_operators(self, client, filter_, expected):
        assert self.search(client, filter_, limit=100).total == expected

    def test_date_filters_accept_epoch_milliseconds_and_sorting_pages_with_total(self, client):
        first = self.search(client, Filter(property_name="hs_lastmodifieddate", operator="GTE", value="0"),
                            sorts=["-hs_object_id"], properties=["name"], limit=3)
        second = self.search(client, Filter(property_name="hs_lastmodifieddate", operator="GTE", value="0"),
                             sorts=["-hs_object_id"], properties=["name"], limit=3, after=first.paging.next.after)

        assert first.total == 8 and len(first.results) == 3
        ids = [int(r.id) for r in first.results + second.results]
        assert ids == sorted(ids, reverse=True)

    def test_paging_beyond_the_search_ceiling_is_a_400(self, client, hubspot_demo):
        hubspot_demo.set_faults(search_ceiling=4)
        page = self.search(client, limit=4)

        assert page.total == 8 and page.paging.next.after == "4"
        with api_error(400) as caught:
            self.search(client, limit=4, after=page.paging.next.after)
        assert caught.value.status == 400


class TestMergeAssociationsProperties:
    def test_merge_companies(self, client):
        ids = company_ids(client)
        merged = client.crm.companies.basic_api.merge(PublicMergeInput(primary_object_id=ids[0],
                                                                       object_id_to_merge=ids[1]))

        assert merged.id == ids[0] and ids[1] in merged.properties.get("hs_merged_object_ids", ids[1])
        assert len(company_ids(client)) == 7

    def test_v4_default_association_and_reads(self, client):
        company = company_ids(client)[4]
        contact = client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "v4@x.io"}))
        v4 = client.crm.associations.v4
        created = v4.basic_api.create_default("contacts", contact.id, "companies", company)
        page = v4.basic_api.get_page("contacts", contact.id, "companies")
        batch = v4.batch_api.create_default("deals", "companies", BatchInputPublicDefaultAssociationMultiPost(inputs=[
            PublicDefaultAssociationMultiPost(_from=V4ObjectId(id=client.crm.deals.basic_api.get_page().results[0].id),
                                              to=V4ObjectId(id=company))]))
        read = v4.batch_api.get_page("contacts", "companies", BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=contact.id)]))

        # A default association is answered in both directions: contact -> company 279, company -> contact 280.
        assert [(r._from.id, r.association_spec.association_type_id) for r in created.results] == [
            (contact.id, 279), (company, 280)]
        assert [r.to_object_id for r in page.results] == [company]
        assert page.results[0].association_types[0].category == "HUBSPOT_DEFINED"
        assert batch.status == "COMPLETE" and [r.association_spec.association_type_id for r in batch.results] == [
            341, 342]
        assert read.results[0].to[0].to_object_id == company

    def test_v4_batch_archive_removes_associations_both_ways(self, client):
        first, second = company_ids(client)[3:5]
        deal = client.crm.deals.basic_api.get_page().results[0].id
        v4 = client.crm.associations.v4
        for company in (first, second):
            v4.basic_api.create_default("deals", deal, "companies", company)
        v4.batch_api.archive("deals", "companies", BatchInputPublicAssociationMultiArchive(inputs=[
            PublicAssociationMultiArchive(_from=V4ObjectId(id=deal), to=[V4ObjectId(id=first)])]))

        assert first not in [r.to_object_id for r in v4.basic_api.get_page("deals", deal, "companies").results]
        assert second in [r.to_object_id for r in v4.basic_api.get_page("deals", deal, "companies").results]
        assert deal not in [r.to_object_id for r in v4.basic_api.get_page("companies", first, "deals").results]

    def test_properties_list_get_create(self, client):
        created = client.crm.properties.core_api.create("companies", PropertyCreate(
            name="erp_customer_number", label="ERP customer number", type="string", field_type="text",
            group_name="companyinformation", has_unique_value=True))
        listed = client.crm.properties.core_api.get_all("companies")
        single = client.crm.properties.core_api.get_by_name("companies", "industry")

        assert created.has_unique_value is True and created.hubspot_defined is False
        assert "erp_customer_number" in {p.name for p in listed.results}
        assert [o.value for o in single.options][:2] == ["COMPUTER_SOFTWARE", "MANUFACTURING"]

    def test_a_duplicate_property_is_a_409(self, client):
        with api_error(409) as caught:
            client.crm.properties.core_api.create("companies", PropertyCreate(
                name="name", label="Name", type="string", field_type="text", group_name="companyinformation"))

        assert caught.value.status == 409


class TestOAuth:
    def test_refresh_token_and_authorization_code_grants_issue_expiring_tokens(self, client, hubspot_demo):
        tokens = client.oauth.tokens_api
        refreshed = tokens.create(grant_type="refresh_token", client_id="sandbox-client-id",
                                  client_secret="sandbox-client-secret", refresh_token="sandbox-refresh-token")
        exchanged = tokens.create(grant_type="authorization_code", code="abc", redirect_uri="http://localhost/cb",
                                  client_id="sandbox-client-id", client_secret="sandbox-client-secret")
        with_token = HubSpot(access_token=refreshed.access_token, host=hubspot_demo.url)

        assert refreshed.expires_in == 1800 and refreshed.token_type == "bearer"
        assert exchanged.refresh_token.startswith("rt-")
        assert len(with_token.crm.companies.basic_api.get_page().results) == 8

    def test_a_wrong_client_secret_is_refused(self, client):
        with api_error(400) as caught:
            client.oauth.tokens_api.create(grant_type="refresh_token", client_id="sandbox-client-id",
                                           client_secret="nope", refresh_token="sandbox-refresh-token")

        assert caught.value.status == 400

    def test_a_missing_token_is_a_401_in_hubspots_error_shape(self, hubspot_demo):
        anonymous = HubSpot(access_token="not-a-token", host=hubspot_demo.url)

        with api_error(401) as caught:
            anonymous.crm.companies.basic_api.get_page()

        assert caught.value.status == 401 and error_body(caught.value)["category"] == "INVALID_AUTHENTICATION"

    def test_a_rate_limited_request_is_a_429_with_retry_after(self, hubspot_demo):
        # The official client retries 429s itself (urllib3 Retry); disable that to see the answer.
        client = HubSpot(access_token="sandbox-token", host=hubspot_demo.url, retry=Retry(total=0))
        hubspot_demo.set_faults(rate_limit={"requests": 1, "per_seconds": 10})
        client.crm.companies.basic_api.get_page()

        with api_error(429) as caught:
            client.crm.companies.basic_api.get_page()

        assert caught.value.status == 429 and int(caught.value.headers["Retry-After"]) >= 1
        assert error_body(caught.value)["category"] == "RATE_LIMITS"
