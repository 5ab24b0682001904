"""A record new on one side that looks like one the hub already has is never created in the other system: it waits
in the duplicate queue with the evidence, and a person merges it (for real: values, links, both systems, undo) or
says it is not a duplicate (then the next sync creates it, once). Over real HTTP against both sandboxes, for
contacts and companies, both ways, in scheduled and webhook-triggered syncs.
"""
from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from connectors import hubspot
from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine, outbox, pull, tasks
from integration_hub.sync.models import SyncEvent
from reconciliation.duplicates import services
from reconciliation.duplicates.merge import candidate_merge
from reconciliation.duplicates.merge_undo import merge_undo
from reconciliation.duplicates.models import CandidateStatus, DuplicateCandidate

pytestmark = pytest.mark.django_db

HANK_PHONE = "+1 415 555 0199"
GLOBEX_PHONE = "(512) 555-0199"  # the demo's Globex has it as +1 512 555 0199


def sync(mapping):
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping))
    outbox.dispatch_all()
    run.refresh_from_db()
    return run


def write(system, vendor_object: str, fields: dict) -> str:
    """Create or change a record through the system's API, as a person using that system would."""
    with connector_session(system) as connector:
        [result] = connector.upsert_many(vendor_object, [fields], None)
    assert result.ok, result.error
    return str(result.external_id)


def count(emulator, table: str) -> int:
    return len(emulator.store.table(table))


def held_events(run) -> dict[str, str]:
    return {e.external_id: e.message for e in SyncEvent.objects.filter(run=run, kind="unlinked")}


def external_id(record: Record, system) -> str:
    return record.links.get(system=system).external_id


@pytest.fixture
def synced(published):
    """The demo's accounts and contacts synced both ways; Hank Scorpio (Globex) has a phone in both systems."""
    ConnectedSystem.objects.update(rollout_stage="two_way")
    contact = published["contact"]
    sync(published["account"])
    sync(contact)
    hank = Record.objects.get(entity_type="contact", values__email="hank@globex.example")
    write(contact.crm_system, "contacts", {"id": external_id(hank, contact.crm_system), "phone": HANK_PHONE})
    sync(contact)
    hank.refresh_from_db()
    assert hank.values["phone"] == "+14155550199"
    return published


def globex(system) -> str:
    return external_id(Record.objects.get(entity_type="account", values__name="Globex Corporation"), system)


@pytest.mark.parametrize("first, last, phone", [
    ("Hank", "Scorpio", "(415) 555-0199"),  # the same person, the phone written differently
    ("Hank", "Scorpoi", HANK_PHONE),  # a typo in the name
])
def test_a_copied_hubspot_contact_waits_in_the_queue_and_is_never_created_in_netsuite(synced, emulators, client,
                                                                                     revops_user, first, last, phone):
    _, netsuite = emulators
    contact = synced["contact"]
    crm = contact.crm_system
    hank = Record.objects.get(entity_type="contact", values__email="hank@globex.example")
    copy = write(crm, "contacts", {"firstname": first, "lastname": last, "phone": phone,
                                   "associatedcompanyid": globex(crm), "lifecyclestage": "customer"})
    before = count(netsuite, "contact")

    run = sync(contact)
    assert count(netsuite, "contact") == before and run.counts["created"] == 0
    why = held_events(run)[copy]
    assert "held for the duplicate queue, not created" in why and "Hank Scorpio" in why
    assert f"already in HubSpot as {external_id(hank, crm)}" in why
    [candidate] = DuplicateCandidate.objects.filter(incoming_external_id=copy)
    assert list(candidate.records.all()) == [hank] and candidate.status == CandidateStatus.OPEN
    evidence = {row["feature"]: row for row in candidate.pairs.get().evidence}
    assert evidence["phone"]["similarity"] == 1.0 and evidence["account"]["similarity"] == 1.0

    client.force_login(revops_user)
    page = client.get(hank.get_absolute_url()).content.decode()
    assert "held as a likely duplicate" in page and f"HubSpot: {copy}" in page
    page = client.get(reverse("duplicates:detail", args=[candidate.pk])).content.decode()
    assert "instead of creating it in the other system" in page and f"HubSpot {copy} (held by the sync)" in page

    again = sync(contact)  # nothing new: it stays where it is, once
    assert count(netsuite, "contact") == before and again.counts["created"] == 0
    assert DuplicateCandidate.objects.filter(incoming_external_id=copy).count() == 1


def test_a_copied_netsuite_contact_is_not_created_in_hubspot(synced, emulators):
    hubspot_emulator, _ = emulators
    contact = synced["contact"]
    contact.erp_creates = "always"  # the ERP's new contacts reach the CRM
    contact.save()
    erp = contact.erp_system
    copy = write(erp, "contact", {"firstName": "Hank", "lastName": "Scorpio", "phone": "415-555-0199",
                                  "company": {"id": globex(erp)}, "entityId": "Hank Scorpio 2"})
    before = count(hubspot_emulator, "contacts")
    run = sync(contact)
    assert count(hubspot_emulator, "contacts") == before and run.counts["created"] == 0
    assert "already in NetSuite as" in held_events(run)[copy]


@pytest.mark.parametrize("side", ["crm", "erp"])
def test_a_copied_company_is_not_created_in_the_other_system(synced, emulators, side):
    hubspot_emulator, netsuite = emulators
    account = synced["account"]
    setattr(account, f"{side}_creates", "always")
    account.save()
    system = account.crm_system if side == "crm" else account.erp_system
    if side == "crm":  # no domain, so no match key: only its likeness can tell
        name = "Globex Corp."
        copy = write(system, "companies", {"name": name, "phone": GLOBEX_PHONE, "city": "Austin",
                                           "zip": "73301", "address": "1 Main Street", "country": "United States"})
    else:
        name = "GLOBEX CORPORATION"
        copy = write(system, "customer", {"companyName": name, "phone": GLOBEX_PHONE})
    run = sync(account)
    # the other prospects the CRM has may be created now; the copy is not
    in_other = {row.get("companyName") for row in netsuite.store.table("customer").values()} if side == "crm" else \
        {row["properties"].get("name") for row in hubspot_emulator.store.table("companies").values()}
    assert name not in in_other
    assert not RecordLink.objects.filter(system=system, entity_type="account", external_id=copy).exists()
    assert "Globex Corporation" in held_events(run)[copy]
    [candidate] = DuplicateCandidate.objects.filter(incoming_external_id=copy)
    assert [r.values["name"] for r in candidate.records.all()] == ["Globex Corporation"]


def test_a_near_certain_match_in_the_other_system_is_linked_not_created(synced, emulators):
    hubspot_emulator, _ = emulators
    contact = synced["contact"]
    contact.erp_creates = "always"
    contact.save()
    crm, erp = contact.crm_system, contact.erp_system
    lead = write(crm, "contacts", {"firstname": "Frank", "lastname": "Grimes", "phone": "+1 217 555 0111",
                                   "email": "grimey@globex.example", "associatedcompanyid": globex(crm),
                                   "lifecyclestage": "lead"})  # a golden record, not in the ERP (not a customer)
    sync(contact)
    frank = RecordLink.objects.get(system=crm, external_id=lead).record
    assert not frank.links.filter(system=erp).exists()
    twin = write(erp, "contact", {"firstName": "Frank", "lastName": "Grimes", "phone": "217.555.0111",
                                  "company": {"id": globex(erp)}, "entityId": "Frank Grimes"})
    before = count(hubspot_emulator, "contacts")
    run = sync(contact)
    assert RecordLink.objects.get(system=erp, external_id=twin).record == frank
    assert count(hubspot_emulator, "contacts") == before and run.counts["created"] == 0
    [linked] = SyncEvent.objects.filter(run=run, kind="linked")
    assert "near-certain" in linked.message and linked.data["evidence"]


@pytest.mark.parametrize("copy_first", [False, True])
def test_copies_read_in_the_same_sync_make_one_record_in_the_other_system(synced, emulators, copy_first):
    """Two new contacts alike, in one page: the one read first becomes the record (the hub cannot tell which is
    the copy), the other waits beside it."""
    _, netsuite = emulators
    contact = synced["contact"]
    crm = contact.crm_system
    people = [{"firstname": "Lisa", "lastname": "Simpson", "phone": "+1 217 555 0142", "email": "lisa@globex.example"},
              {"firstname": "Lisa", "lastname": "Simpson", "phone": "(217) 555-0142"}]
    if copy_first:
        people.reverse()
    ids = []
    for person in people:
        ids.append(write(crm, "contacts", {**person, "lifecyclestage": "customer"}))
        time.sleep(0.01)  # read in the order they were written
    before = count(netsuite, "contact")
    run = sync(contact)
    assert count(netsuite, "contact") == before + 1 and run.counts["created"] == 1
    lead = RecordLink.objects.get(system=crm, external_id=ids[0]).record
    assert lead.links.filter(system=contact.erp_system).exists()
    assert "read in the same sync" in held_events(run)[ids[1]]
    [candidate] = DuplicateCandidate.objects.filter(incoming_external_id=ids[1])
    assert list(candidate.records.all()) == [lead] and candidate.pairs.get().evidence


def test_a_copy_in_a_later_page_waits_beside_the_record_made_from_an_earlier_one(synced, emulators, monkeypatch):
    _, netsuite = emulators
    contact = synced["contact"]
    crm = contact.crm_system
    monkeypatch.setattr(pull, "PAGE_SIZE", 1)
    first = write(crm, "contacts", {"firstname": "Carl", "lastname": "Carlson", "phone": "+1 217 555 0150",
                                    "lifecyclestage": "customer"})
    time.sleep(0.01)
    second = write(crm, "contacts", {"firstname": "Carl", "lastname": "Carlson", "phone": "217-555-0150",
                                     "lifecyclestage": "customer"})
    before = count(netsuite, "contact")
    run = sync(contact)
    assert count(netsuite, "contact") == before + 1
    assert f"already in HubSpot as {first}" in held_events(run)[second]


def test_a_webhook_triggered_sync_holds_the_copy_too(synced, emulators, client):
    _, netsuite = emulators
    contact = synced["contact"]
    crm = contact.crm_system
    crm.credentials = {**crm.credentials, "client_secret": "app-secret"}
    crm.save()
    copy = write(crm, "contacts", {"firstname": "Hank", "lastname": "Scorpio", "phone": HANK_PHONE,
                                   "associatedcompanyid": globex(crm), "lifecyclestage": "customer"})
    body = json.dumps([{"eventId": 1, "subscriptionType": "contact.creation", "objectId": int(copy),
                        "occurredAt": int(time.time() * 1000)}]).encode()
    stamp = str(int(time.time() * 1000))
    signature = hubspot.webhook_signature("app-secret", "POST", f"http://testserver/webhooks/{crm.slug}/", body, stamp)
    answer = client.generic("POST", f"/webhooks/{crm.slug}/", body, content_type="application/json",
                            HTTP_X_HUBSPOT_SIGNATURE_V3=signature, HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=stamp)
    assert answer.status_code == 202
    before = count(netsuite, "contact")
    [run_id] = tasks.process_webhooks(crm.pk)
    outbox.dispatch_all()
    run = engine.SyncRun.objects.get(pk=run_id)
    assert run.trigger == "webhook" and count(netsuite, "contact") == before
    assert "held for the duplicate queue, not created" in held_events(run)[copy]


def test_not_a_duplicate_lets_the_create_go_ahead_on_the_next_sync_once(synced, emulators, revops_user):
    _, netsuite = emulators
    contact = synced["contact"]
    crm = contact.crm_system
    copy = write(crm, "contacts", {"firstname": "Hank", "lastname": "Scorpio", "phone": HANK_PHONE,
                                   "email": "hank.junior@globex.example",
                                   "lifecyclestage": "customer"})  # Hank's son, same desk phone
    sync(contact)
    before = count(netsuite, "contact")
    candidate = DuplicateCandidate.objects.get(incoming_external_id=copy)
    services.candidate_dismiss(candidate=candidate, user=revops_user)
    sync(contact)
    junior = RecordLink.objects.get(system=crm, external_id=copy).record
    erp_id = external_id(junior, contact.erp_system)
    assert count(netsuite, "contact") == before + 1
    assert netsuite.store.table("contact")[erp_id]["email"] == "hank.junior@globex.example"
    sync(contact)
    assert count(netsuite, "contact") == before + 1  # once
    assert not DuplicateCandidate.objects.filter(incoming_external_id=copy, status=CandidateStatus.OPEN).exists()


def test_merging_a_held_copy_merges_it_in_both_systems_and_can_be_undone(synced, emulators, revops_user):
    hubspot_emulator, netsuite = emulators
    contact = synced["contact"]
    crm, erp = contact.crm_system, contact.erp_system
    hank = Record.objects.get(entity_type="contact", values__email="hank@globex.example")
    hank_crm, hank_erp = external_id(hank, crm), external_id(hank, erp)
    copy = write(crm, "contacts", {"firstname": "Hank", "lastname": "Scorpio", "phone": HANK_PHONE,
                                   "jobtitle": "Head of Purchasing", "associatedcompanyid": globex(crm),
                                   "lifecyclestage": "customer"})
    sync(contact)
    candidate = DuplicateCandidate.objects.get(incoming_external_id=copy)
    contacts_before = count(netsuite, "contact")

    merge = candidate_merge(candidate=candidate, survivor=hank, user=revops_user,
                            choices={"job_title": services.INCOMING})
    outbox.dispatch_all()
    hank.refresh_from_db()
    assert hank.values["job_title"] == "Head of Purchasing" and hank.values["email"] == "hank@globex.example"
    assert netsuite.store.table("contact")[hank_erp]["title"] == "Head of Purchasing"  # NetSuite told
    assert count(netsuite, "contact") == contacts_before
    assert copy not in hubspot_emulator.store.table("contacts")  # HubSpot merged the copy into Hank
    assert hubspot_emulator.store.table("contacts")[hank_crm]["properties"]["jobtitle"] == "Head of Purchasing"
    kinds = {(e.system.slug, e.kind) for e in merge.effects.all()}
    assert (crm.slug, "vendor_merge") in kinds and (erp.slug, "update") in kinds
    assert sync(contact).counts["created"] == 0  # the merged-away copy is not created later either

    undone = merge_undo(merge=merge, user=revops_user)
    assert any("cannot undo its merge" in line["what"] for line in undone.undo_report)  # HubSpot cannot
    outbox.dispatch_all()
    assert netsuite.store.table("contact")[hank_erp]["title"] == "Purchasing"  # the value before, written back


def test_a_new_record_is_not_created_where_a_held_record_may_be_it(synced, emulators):
    """New on both sides the same day: the CRM's becomes a golden record, the ERP's (a typo, not near-certain)
    waits beside it; the golden record is not created in the ERP until a person decides."""
    _, netsuite = emulators
    contact = synced["contact"]
    crm, erp = contact.crm_system, contact.erp_system
    write(crm, "contacts", {"firstname": "Moe", "lastname": "Szyslak", "phone": "+1 217 555 0188",
                            "lifecyclestage": "customer"})
    twin = write(erp, "contact", {"firstName": "Moe", "lastName": "Szislak", "phone": "217-555-0188",
                                  "entityId": "Moe Szislak"})
    before = count(netsuite, "contact")
    run = sync(contact)
    assert "Moe Szyslak" in held_events(run)[twin]
    assert count(netsuite, "contact") == before
    assert any("may be this one" in e.message for e in SyncEvent.objects.filter(run=run, kind="failed"))
