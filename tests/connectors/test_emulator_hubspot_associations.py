"""HubSpot's associations, driven through the official Python client (`hubspot-api-client`, whose models validate
every answer): the HUBSPOT_DEFINED types in both directions as the client names them, the primary company,
USER_DEFINED labels, reads with category/typeId/label, and refusals in HubSpot's error shape."""
from __future__ import annotations

import json
import re
import uuid

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm import AssociationType
from hubspot.crm.associations.v4.models import (
    AssociationSpec,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)
from hubspot.crm.associations.v4.schema.models import (
    PublicAssociationDefinitionCreateRequest,
    PublicAssociationDefinitionUpdateRequest,
)
from hubspot.crm.objects import AssociationSpec as CreateSpec
from hubspot.crm.objects import PublicAssociationsForObject, SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.objects import PublicObjectId as CreateTarget

from connectors.sandbox import RunningEmulator

AUTH = {"Authorization": "Bearer sandbox-token"}
# The client's object names -> the API's plural names, for the objects the emulator serves.
OBJECTS = {"CONTACT": "contacts", "COMPANY": "companies", "DEAL": "deals", "TICKET": "tickets",
           "LINE_ITEM": "line_items", "QUOTE": "quotes", "CALL": "calls", "EMAIL": "emails", "MEETING": "meetings",
           "NOTE": "notes", "TASK": "tasks"}


@pytest.fixture
def client(hubspot_demo: RunningEmulator) -> HubSpot:
    return HubSpot(access_token="sandbox-token", host=hubspot_demo.url)


def create(client: HubSpot, object_type: str, properties: dict, associations: list | None = None) -> str:
    return client.crm.objects.basic_api.create(object_type, SimplePublicObjectInputForCreate(
        properties=properties, associations=associations or [])).id


def spec(type_id: int, category: str = "HUBSPOT_DEFINED") -> AssociationSpec:
    return AssociationSpec(association_category=category, association_type_id=type_id)


def types_of(client: HubSpot, object_type: str, record_id: str, to_type: str) -> dict[str, list[tuple]]:
    """to id -> [(category, typeId, label)] as the v4 read lists them."""
    page = client.crm.associations.v4.basic_api.get_page(object_type, record_id, to_type)
    return {r.to_object_id: [(t.category, t.type_id, t.label) for t in r.association_types] for r in page.results}


def refusal(caught: pytest.ExceptionInfo) -> dict:
    """HubSpot's error body: 400, VALIDATION_ERROR, a correlation id and the invalid parts in `context`."""
    assert caught.value.status == 400, caught.value
    body = json.loads(caught.value.body)
    uuid.UUID(body["correlationId"])
    assert (body["status"], body["category"]) == ("error", "VALIDATION_ERROR")
    return body


def companies(client: HubSpot) -> list[str]:
    return [c.id for c in client.crm.companies.basic_api.get_page(limit=100).results]


def test_every_hubspot_defined_type_the_client_names_is_served_in_both_directions(client):
    served = 0
    for name, type_id in vars(AssociationType).items():
        found = re.fullmatch(r"(PRIMARY_)?([A-Z_]+?)_TO_([A-Z_]+)", name)
        if not found or found.group(2) not in OBJECTS or found.group(3) not in OBJECTS:
            continue  # postal mail and feedback submissions are objects the emulator does not serve
        from_type, to_type = OBJECTS[found.group(2)], OBJECTS[found.group(3)]
        listed = {t.type_id: t for t in client.crm.associations.v4.schema.definitions_api.get_all(
            from_type, to_type).results}
        backwards = client.crm.associations.v4.schema.definitions_api.get_all(to_type, from_type).results

        assert type_id in listed, f"{name} ({type_id}) is missing from {from_type} -> {to_type}"
        assert listed[type_id].category == "HUBSPOT_DEFINED"
        assert listed[type_id].label == ("Primary" if found.group(1) else None), name
        assert len([t for t in backwards if t.label == listed[type_id].label]) == 1
        served += 1
    assert served >= 70  # the client's list holds 78 types; 8 are of objects the emulator does not serve


def test_a_primary_company_is_one_per_contact_both_ways_and_shows_as_associatedcompanyid(client):
    first, second = companies(client)[3:5]
    contact = create(client, "contacts", {"email": "primary@x.io"})
    v4 = client.crm.associations.v4.basic_api

    made = v4.create("contacts", contact, "companies", first, [spec(1)])
    v4.create("contacts", contact, "companies", second, [spec(279)])
    assert made.labels == ["Primary"] and (made.from_object_type_id, made.to_object_type_id) == ("0-1", "0-2")
    assert types_of(client, "contacts", contact, "companies") == {
        first: [("HUBSPOT_DEFINED", 1, "Primary"), ("HUBSPOT_DEFINED", 279, None)],
        second: [("HUBSPOT_DEFINED", 279, None)]}
    assert types_of(client, "companies", first, "contacts")[contact] == [("HUBSPOT_DEFINED", 2, "Primary"),
                                                                       ("HUBSPOT_DEFINED", 280, None)]
    read = client.crm.contacts.basic_api.get_by_id(contact, properties=["associatedcompanyid"],
                                                   associations=["companies"])
    assert read.properties["associatedcompanyid"] == first
    assert [(a.id, a.type) for a in read.associations["companies"].results] == [
        (first, "contact_to_company"), (first, "contact_to_company_unlabeled"),
        (second, "contact_to_company_unlabeled")]

    # Primary from the company's side (type 2) moves the contact's primary company.
    v4.create("companies", second, "contacts", contact, [spec(2)])
    assert types_of(client, "contacts", contact, "companies") == {
        first: [("HUBSPOT_DEFINED", 279, None)],
        second: [("HUBSPOT_DEFINED", 1, "Primary"), ("HUBSPOT_DEFINED", 279, None)]}
    assert client.crm.contacts.basic_api.get_by_id(
        contact, properties=["associatedcompanyid"]).properties["associatedcompanyid"] == second

    v4.archive("contacts", contact, "companies", second)
    assert list(types_of(client, "contacts", contact, "companies")) == [first]
    assert not client.crm.contacts.basic_api.get_by_id(
        contact, properties=["associatedcompanyid"]).properties["associatedcompanyid"]


def test_writing_associatedcompanyid_makes_the_company_primary_and_an_unknown_one_is_refused(client):
    company = companies(client)[6]
    contact = create(client, "contacts", {"email": "byproperty@x.io", "associatedcompanyid": company})

    assert types_of(client, "contacts", contact, "companies") == {
        company: [("HUBSPOT_DEFINED", 1, "Primary"), ("HUBSPOT_DEFINED", 279, None)]}
    with pytest.raises(Exception) as caught:
        client.crm.contacts.basic_api.update(contact, SimplePublicObjectInput(
            properties={"associatedcompanyid": "999999"}))
    assert refusal(caught)["context"]["INVALID_OBJECT_IDS"] == ["COMPANY=999999 is not valid"]
    client.crm.contacts.basic_api.update(contact, SimplePublicObjectInput(properties={"associatedcompanyid": ""}))
    assert types_of(client, "contacts", contact, "companies") == {company: [("HUBSPOT_DEFINED", 279, None)]}


def test_deal_company_primary_line_item_deal_and_deal_contact_types(client):
    company = companies(client)[2]
    deal = create(client, "deals", {"dealname": "Typed"}, [PublicAssociationsForObject(
        to=CreateTarget(id=company), types=[CreateSpec(association_category="HUBSPOT_DEFINED",
                                                       association_type_id=5)])])
    line = create(client, "line_items", {"name": "Line", "quantity": "1", "price": "2"}, [
        PublicAssociationsForObject(to=CreateTarget(id=deal), types=[CreateSpec(
            association_category="HUBSPOT_DEFINED", association_type_id=20)])])
    contact = create(client, "contacts", {"email": "deal@x.io"})
    client.crm.associations.v4.basic_api.create_default("deals", deal, "contacts", contact)

    assert types_of(client, "deals", deal, "companies") == {
        company: [("HUBSPOT_DEFINED", 5, "Primary"), ("HUBSPOT_DEFINED", 341, None)]}
    assert types_of(client, "companies", company, "deals")[deal] == [("HUBSPOT_DEFINED", 6, "Primary"),
                                                                     ("HUBSPOT_DEFINED", 342, None)]
    assert types_of(client, "deals", deal, "line_items") == {line: [("HUBSPOT_DEFINED", 19, None)]}
    assert types_of(client, "contacts", contact, "deals") == {deal: [("HUBSPOT_DEFINED", 4, None)]}


def test_tickets_and_engagements_are_associated_by_their_own_types(client):
    deal = client.crm.deals.basic_api.get_page().results[0].id
    ticket = create(client, "tickets", {"subject": "Broken widget", "hs_pipeline": "0", "hs_pipeline_stage": "1"})
    note = create(client, "notes", {"hs_timestamp": "2025-01-01T00:00:00Z", "hs_note_body": "Called back"})
    v4 = client.crm.associations.v4.basic_api

    v4.create_default("tickets", ticket, "deals", deal)
    v4.create_default("notes", note, "tickets", ticket)

    assert types_of(client, "deals", deal, "tickets") == {ticket: [("HUBSPOT_DEFINED", 27, None)]}
    assert types_of(client, "tickets", ticket, "notes") == {note: [("HUBSPOT_DEFINED", 227, None)]}
    assert client.crm.tickets.basic_api.get_by_id(ticket).properties["subject"] == "Broken widget"


class TestLabels:
    def test_a_label_is_created_with_its_inverse_used_read_renamed_and_deleted(self, client):
        schema = client.crm.associations.v4.schema.definitions_api
        company = companies(client)[3]
        contact = create(client, "contacts", {"email": "billing@x.io"})

        created = schema.create("contacts", "companies", PublicAssociationDefinitionCreateRequest(
            label="Billing contact", name="billing_contact", inverse_label="Billed company")).results
        [forward] = [t for t in created if t.label == "Billing contact"]
        [inverse] = [t for t in created if t.label == "Billed company"]
        assert {t.category for t in created} == {"USER_DEFINED"} and forward.type_id != inverse.type_id
        listed = schema.get_all("contacts", "companies").results
        assert [(t.category, t.type_id) for t in listed] == sorted(
            [("HUBSPOT_DEFINED", 1), ("HUBSPOT_DEFINED", 279), ("USER_DEFINED", forward.type_id)],
            key=lambda t: (t[1], t[0]))
        assert [t.type_id for t in schema.get_all("companies", "contacts").results if t.category == "USER_DEFINED"
                ] == [inverse.type_id]

        made = client.crm.associations.v4.basic_api.create("contacts", contact, "companies", company,
                                                           [spec(forward.type_id, "USER_DEFINED")])
        assert made.labels == ["Billing contact"]
        assert set(types_of(client, "contacts", contact, "companies")[company]) == {
            ("USER_DEFINED", forward.type_id, "Billing contact"), ("HUBSPOT_DEFINED", 279, None)}
        assert ("USER_DEFINED", inverse.type_id, "Billed company") in types_of(
            client, "companies", company, "contacts")[contact]
        read = client.crm.contacts.basic_api.get_by_id(contact, associations=["companies"])
        assert {a.type for a in read.associations["companies"].results} == {"billing_contact",
                                                                            "contact_to_company_unlabeled"}

        schema.update("contacts", "companies", PublicAssociationDefinitionUpdateRequest(
            association_type_id=forward.type_id, label="Invoice recipient", inverse_label="Invoiced company"))
        assert ("USER_DEFINED", inverse.type_id, "Invoiced company") in types_of(
            client, "companies", company, "contacts")[contact]

        schema.remove("contacts", "companies", forward.type_id)
        assert types_of(client, "contacts", contact, "companies") == {company: [("HUBSPOT_DEFINED", 279, None)]}
        assert types_of(client, "companies", company, "contacts")[contact] == [("HUBSPOT_DEFINED", 280, None)]
        assert [t.category for t in schema.get_all("contacts", "companies").results] == ["HUBSPOT_DEFINED"] * 2

    def test_batch_create_with_a_label_then_take_the_label_off_and_keep_the_association(self, client):
        schema = client.crm.associations.v4.schema.definitions_api
        [deal, other] = [d.id for d in client.crm.deals.basic_api.get_page(limit=2).results]
        contact = create(client, "contacts", {"email": "champion@x.io"})
        label = schema.create("deals", "contacts", PublicAssociationDefinitionCreateRequest(
            label="Champion", name="champion")).results
        forward = next(t.type_id for t in label if t.label == "Champion")
        batch = client.crm.associations.v4.batch_api
        pairs = BatchInputPublicAssociationMultiPost(inputs=[
            PublicAssociationMultiPost(_from=PublicObjectId(id=d), to=PublicObjectId(id=contact),
                                       types=[spec(forward, "USER_DEFINED")]) for d in (deal, other)])

        created = batch.create("deals", "contacts", pairs)
        batch.archive_labels("deals", "contacts", BatchInputPublicAssociationMultiPost(inputs=pairs.inputs[:1]))
        read = batch.get_page("deals", "contacts", BatchInputPublicFetchAssociationsBatchRequest(inputs=[
            PublicFetchAssociationsBatchRequest(id=d) for d in (deal, other)]))

        assert len(label) == 2 and {t.label for t in label} == {"Champion"}  # unpaired: the same label both ways
        assert [r.labels for r in created.results] == [["Champion"], ["Champion"]]
        by_deal = {r._from.id: {(t.type_id, t.label) for t in r.to[0].association_types} for r in read.results}
        assert by_deal == {deal: {(3, None)}, other: {(3, None), (forward, "Champion")}}

    def test_labels_only_between_contacts_companies_deals_and_tickets(self, client):
        with pytest.raises(Exception) as caught:
            client.crm.associations.v4.schema.definitions_api.create(
                "line_items", "deals", PublicAssociationDefinitionCreateRequest(label="Bundle", name="bundle"))

        assert caught.value.status == 400


class TestRefusals:
    def test_an_unknown_type_id_is_refused(self, client):
        contact = create(client, "contacts", {"email": "unknown@x.io"})

        with pytest.raises(Exception) as caught:
            client.crm.associations.v4.basic_api.create("contacts", contact, "companies", companies(client)[0],
                                                        [spec(99999)])

        body = refusal(caught)
        assert body["message"] == "One or more associations are invalid"
        assert "99999" in body["context"]["INVALID_ASSOCIATION_TYPES"][0]
        assert types_of(client, "contacts", contact, "companies") == {}

    @pytest.mark.parametrize(("type_id", "category"), [(341, "HUBSPOT_DEFINED"), (280, "HUBSPOT_DEFINED"),
                                                       (1, "USER_DEFINED"), (279, "INTEGRATOR_DEFINED")])
    def test_a_type_of_another_pair_or_category_is_refused(self, client, type_id, category):
        contact = create(client, "contacts", {"email": f"pair{type_id}{category}@x.io"})

        with pytest.raises(Exception) as caught:
            client.crm.associations.v4.basic_api.create("contacts", contact, "companies", companies(client)[0],
                                                        [spec(type_id, category)])

        assert refusal(caught)["context"]["INVALID_ASSOCIATION_TYPES"]

    def test_a_create_with_an_invalid_association_creates_nothing(self, client):
        before = len(client.crm.deals.basic_api.get_page(limit=100).results)

        with pytest.raises(Exception) as caught:
            create(client, "deals", {"dealname": "Half made"}, [PublicAssociationsForObject(
                to=CreateTarget(id=companies(client)[0]), types=[CreateSpec(
                    association_category="HUBSPOT_DEFINED", association_type_id=279)])])  # contact -> company

        refusal(caught)
        assert len(client.crm.deals.basic_api.get_page(limit=100).results) == before

    def test_an_association_to_a_missing_record_names_it(self, client):
        contact = create(client, "contacts", {"email": "missing@x.io"})

        with pytest.raises(Exception) as caught:
            client.crm.associations.v4.basic_api.create_default("contacts", contact, "companies", "987654")

        # The body HubSpot answered for an association to an invalid record, as recorded on the Node client's tracker.
        body = refusal(caught)
        assert set(body) == {"status", "message", "correlationId", "category", "context"}
        assert body["message"] == "One or more associations are invalid"
        assert body["context"] == {"INVALID_OBJECT_IDS": ["COMPANY=987654 is not valid"], "objectId": ["987654"],
                                   "objectType": ["COMPANY"]}

    def test_objects_hubspot_does_not_associate_are_refused(self, client):
        product = client.crm.products.basic_api.get_page().results[0].id

        with pytest.raises(Exception) as caught:
            client.crm.associations.v4.basic_api.create_default("products", product, "companies",
                                                                companies(client)[0])

        refusal(caught)


def test_v4_reads_print_the_associated_id_as_a_number(hubspot_demo, client):
    contact = client.crm.contacts.basic_api.get_page(limit=1, associations=["companies"]).results[0]
    body = requests.get(f"{hubspot_demo.url}/crm/v4/objects/contacts/{contact.id}/associations/companies",
                        headers=AUTH, timeout=5).json()

    assert isinstance(body["results"][0]["toObjectId"], int)
    assert body["results"][0]["associationTypes"] == [{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}]


def test_a_merge_moves_the_absorbed_contacts_associations_with_their_types(client):
    company = companies(client)[5]
    survivor = create(client, "contacts", {"email": "keep@x.io"})
    absorbed = create(client, "contacts", {"email": "gone@x.io", "associatedcompanyid": company})

    client.crm.contacts.basic_api.merge({"primaryObjectId": survivor, "objectIdToMerge": absorbed})

    assert types_of(client, "contacts", survivor, "companies") == {
        company: [("HUBSPOT_DEFINED", 1, "Primary"), ("HUBSPOT_DEFINED", 279, None)]}
    assert absorbed not in types_of(client, "companies", company, "contacts")
    assert client.crm.contacts.basic_api.get_by_id(
        survivor, properties=["associatedcompanyid"]).properties["associatedcompanyid"] == company


def test_associations_saved_before_labels_existed_still_read(hubspot_demo, client):
    contact = create(client, "contacts", {"email": "legacy@x.io"})
    company = companies(client)[0]
    with hubspot_demo.store.lock:  # the state file's old shape: bare HUBSPOT_DEFINED type ids
        table = hubspot_demo.store.table("associations")
        table.setdefault(f"contacts:{contact}", {})["companies"] = {company: [279]}
        table.setdefault(f"companies:{company}", {}).setdefault("contacts", {})[contact] = [280]

    assert types_of(client, "contacts", contact, "companies") == {company: [("HUBSPOT_DEFINED", 279, None)]}
    client.crm.associations.v4.basic_api.create("contacts", contact, "companies", company, [spec(1)])
    assert types_of(client, "contacts", contact, "companies") == {
        company: [("HUBSPOT_DEFINED", 1, "Primary"), ("HUBSPOT_DEFINED", 279, None)]}
