"""Records the sync held for the duplicate queue: what waits beside them, and what a person's decision releases."""
from __future__ import annotations

import pytest
from django.urls import reverse

from integration_hub.records.models import RecordLink
from reconciliation.duplicates import services, sync_match

pytestmark = pytest.mark.django_db


def hold(system, external_id: str, values: dict):
    decision = sync_match.match_for_sync("account", values, system=system, external_id=external_id)
    return sync_match.queue_for_review(entity_type="account", system=system, external_id=external_id,
                                       values=values, decision=decision)


def test_a_record_a_held_one_may_be_waits_for_the_decision_before_it_is_created_there(make_record, crm_system,
                                                                                      erp_system, revops_user):
    zeta = make_record(name="Zeta B.V.", domain="zeta.nl", system=crm_system)  # in the CRM only
    other = make_record(name="Nordwind GmbH", domain="nordwind.de", system=crm_system)
    held = hold(erp_system, "C-77", {"name": "Zeta", "shipping_city": "Utrecht"})
    waiting = sync_match.waiting_beside(erp_system, [zeta.pk, other.pk])
    assert waiting == {zeta.pk: f"Demo ERP record C-77 may be this one: it waits in the duplicate queue (#{held.pk})"}
    assert sync_match.waiting_beside(crm_system, [zeta.pk]) == {}  # nothing of the CRM waits

    services.candidate_dismiss(candidate=held, user=revops_user)
    assert sync_match.waiting_beside(erp_system, [zeta.pk]) == {}
    # the next sync takes both up again: the held one is created in the CRM, Zeta in the ERP
    assert RecordLink.objects.get(system=crm_system, record=zeta).needs_merge
    assert RecordLink.objects.get(system=erp_system, external_id="C-77").needs_merge


def test_a_held_record_read_again_keeps_its_place_with_its_newer_values(make_record, crm_system, erp_system):
    zeta = make_record(name="Zeta B.V.", domain="zeta.nl", system=crm_system)
    held = hold(erp_system, "C-77", {"name": "Zeta", "shipping_city": "Utrecht"})
    again = hold(erp_system, "C-77", {"name": "Zeta", "shipping_city": "Amsterdam"})
    assert again.pk == held.pk and again.incoming_values["shipping_city"] == "Amsterdam"
    assert list(again.records.all()) == [zeta] and again.pairs.count() == 1


def test_a_copy_read_beside_its_original_is_put_beside_the_record_made_of_it(crm_system, make_record):
    batch = {"601": {"name": "Zeta B.V.", "domain": "zeta.nl"}, "603": {"name": "Zeta BV", "domain": "zeta.nl"}}
    decisions = sync_match.match_many("account", batch, system=crm_system, creates=True)
    copy = sync_match.queue_for_review(entity_type="account", system=crm_system, external_id="603",
                                       values=batch["603"], decision=decisions["603"])
    assert not copy.records.exists()  # its original has no golden record yet
    original = make_record(name="Zeta B.V.", domain="zeta.nl", system=crm_system, external_id="601")
    assert sync_match.complete_waiting("account", [original]) == 1
    assert list(copy.records.all()) == [original] and copy.pairs.get().evidence


def test_the_queue_names_a_held_contact_and_where_it_waits(client, revops_user, make_record, crm_system):
    hank = make_record("contact", first_name="Hank", last_name="Scorpio", phone="+14155550199", system=crm_system,
                       external_id="1011")
    values = {"first_name": "Hank", "last_name": "Scorpio", "phone": "+14155550199"}
    decision = sync_match.match_for_sync("contact", values, system=crm_system, external_id="1036")
    sync_match.queue_for_review(entity_type="contact", system=crm_system, external_id="1036", values=values,
                                decision=decision)
    client.force_login(revops_user)
    html = client.get(reverse("duplicates:queue")).content.decode()
    assert "Hank Scorpio (held: Demo CRM 1036)" in html and str(hank) in html
