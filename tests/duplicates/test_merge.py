"""Merge with survivorship, children, history and undo; pushes to both sandbox systems."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration_hub.records.models import Record, RecordLink
from integration_hub.records.selectors import record_timeline
from integration_hub.sync import outbox
from integration_hub.sync.models import OutboundChange, OutboundStatus
from mapping.models import FieldRule, ObjectMapping, RuleSetVersion, VersionStatus
from reconciliation.conflicts.derive import conflict_open
from reconciliation.duplicates import scan, services, survivorship, sync_match
from reconciliation.duplicates.merge import candidate_merge, children_of, merge_records
from reconciliation.duplicates.merge_undo import merge_undo
from reconciliation.duplicates.models import (
    CandidateStatus,
    DuplicateCandidate,
    EffectKind,
    EffectStatus,
    MergeStatus,
)

pytestmark = pytest.mark.django_db


def publish_references(entity: str, crm_system, erp_system, **targets: str):
    """A published mapping of ``entity`` whose reference rules (field -> the entity it points at) are ``targets``."""
    mapping = ObjectMapping.objects.create(entity_type=entity, crm_system=crm_system, erp_system=erp_system,
                                           crm_object=f"{entity}s", erp_object=entity)
    version = RuleSetVersion.objects.create(mapping=mapping, number=1)
    for name, target in targets.items():
        FieldRule.objects.create(version=version, field=name, field_type="reference", reference_to=target,
                                 crm_path=f"{name}_id", erp_path=f"{name}.id", system_of_record="shared",
                                 conflict_policy="manual_review")
    RuleSetVersion.objects.filter(pk=version.pk).update(status=VersionStatus.PUBLISHED)
    mapping.published_version = version
    mapping.save()
    return mapping


@pytest.fixture
def acme(make_record, crm_system, erp_system):
    publish_references("contact", crm_system, erp_system, account="account")
    survivor = make_record(name="Acme Inc", domain="acme.com", phone="(415) 555-0123", system=erp_system,
                           external_id="C-1")
    absorbed = make_record(name="ACME, Inc.", domain="acme.com", shipping_city="Leeds", system=crm_system,
                           external_id="501")
    contact = make_record("contact", first_name="Ann", last_name="Lee", account=f"record:{absorbed.pk}")
    scan.duplicates_scan(entity_type="account")
    return survivor, absorbed, contact, DuplicateCandidate.objects.get()


def test_merge_takes_the_chosen_values_moves_links_children_and_history(acme, revops_user, crm_system):
    survivor, absorbed, contact, candidate = acme
    merge = candidate_merge(candidate=candidate, survivor=survivor, user=revops_user,
                                     choices={"name": absorbed.pk})
    survivor.refresh_from_db()
    contact.refresh_from_db()
    assert survivor.values["name"] == "ACME, Inc."  # chosen
    assert survivor.values["shipping_city"] == "Leeds"  # only the absorbed record had it
    assert survivor.values["phone"] == "(415) 555-0123"
    assert merge.choices["name"]["reason"] == "chosen" and merge.choices["shipping_city"]["record"] == absorbed.pk
    assert RecordLink.objects.get(system=crm_system, external_id="501").record == survivor
    assert contact.values["account"] == f"record:{survivor.pk}"
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.MERGED and candidate.decided_by == revops_user
    timeline = record_timeline(record=survivor)
    assert any(f"merge #{merge.pk}" in e.reason for e in timeline)
    assert any(e.subject == f"merged record #{absorbed.pk}: record" and e.kind == "created" for e in timeline)
    assert any(f"merged into record #{survivor.pk}" in (h.history_change_reason or "")
               for h in absorbed.history.all())
    assert scan.duplicates_scan(entity_type="account").clusters == 0  # absorbed records are not scanned


def test_children_are_the_records_the_published_rules_say_point_at_it(acme, make_record, revops_user, crm_system,
                                                                        erp_system):
    """Whatever a reference field is called: its rule names what it points at (an account's parent account)."""
    survivor, absorbed, contact, candidate = acme
    publish_references("account", crm_system, erp_system, parent_account="account")
    branch = make_record(name="Acme Leeds", parent_account=f"record:{absorbed.pk}")
    # Only the published rules count: a deal's "account" no rule of a deal mapping names is not its child.
    deal = make_record("deal", name="Big deal", account=f"record:{absorbed.pk}")

    assert {(child.pk, name) for child, name in children_of(absorbed)} == {(contact.pk, "account"),
                                                                          (branch.pk, "parent_account")}
    candidate_merge(candidate=candidate, survivor=survivor, user=revops_user)
    branch.refresh_from_db()
    deal.refresh_from_db()
    assert branch.values["parent_account"] == f"record:{survivor.pk}"
    assert deal.values["account"] == f"record:{absorbed.pk}"


def test_the_absorbed_records_page_says_what_it_was_merged_into_until_undone(acme, revops_user, client):
    survivor, absorbed, _, candidate = acme
    merge = candidate_merge(candidate=candidate, survivor=survivor, user=revops_user)
    client.force_login(revops_user)
    page = client.get(absorbed.get_absolute_url()).content.decode()
    assert "Merged into" in page and survivor.get_absolute_url() in page and str(revops_user) in page
    assert "Merged into" not in client.get(survivor.get_absolute_url()).content.decode()
    merge_undo(merge=merge, user=revops_user)
    assert "Merged into" not in client.get(absorbed.get_absolute_url()).content.decode()


def test_an_absorbed_records_open_conflicts_leave_the_queue_and_come_back_on_undo(acme, revops_user, client,
                                                                                  crm_system, erp_system):
    from reconciliation.conflicts.models import ConflictStatus

    survivor, absorbed, _, candidate = acme
    mapping = ObjectMapping.objects.create(entity_type="account", crm_system=crm_system, erp_system=erp_system,
                                           crm_object="companies", erp_object="customer")
    conflict = conflict_open(record=absorbed, mapping=mapping, field="phone", crm_value="1", erp_value="2",
                                       policy="manual_review", approver_role="revops", reason="both changed")
    client.force_login(revops_user)
    assert conflict.get_absolute_url() in client.get("/conflicts/").content.decode()

    merge = candidate_merge(candidate=candidate, survivor=survivor, user=revops_user)
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.SUPERSEDED
    assert conflict.get_absolute_url() not in client.get("/conflicts/").content.decode()
    page = client.get(conflict.get_absolute_url()).content.decode()
    assert "Closed: its record was merged away" in page and f"merge #{merge.pk}" in page  # status, and why
    assert 'name="choice"' not in page  # nothing left to decide

    merge_undo(merge=merge, user=revops_user)
    conflict.refresh_from_db()
    merge.refresh_from_db()
    assert conflict.status == ConflictStatus.OPEN
    assert {"what": f"conflict #{conflict.pk} (phone): open again", "done": True} in merge.undo_report
    assert conflict.get_absolute_url() in client.get("/conflicts/").content.decode()


def test_undo_restores_values_links_and_children(acme, revops_user, crm_system):
    survivor, absorbed, contact, candidate = acme
    before = dict(survivor.values)
    merge = candidate_merge(candidate=candidate, survivor=survivor, user=revops_user,
                                     choices={"name": absorbed.pk})
    merge_undo(merge=merge, user=revops_user)
    survivor.refresh_from_db()
    contact.refresh_from_db()
    merge.refresh_from_db()
    assert {k: v for k, v in survivor.values.items() if v is not None} == before
    assert RecordLink.objects.get(system=crm_system, external_id="501").record == absorbed
    assert contact.values["account"] == f"record:{absorbed.pk}"
    assert merge.status == MergeStatus.UNDONE and merge.undone_by == revops_user
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN  # to be decided again
    with pytest.raises(services.DuplicateError, match="already undone"):
        merge_undo(merge=merge, user=revops_user)


def test_undo_keeps_a_value_changed_since_the_merge_and_says_so(acme, revops_user):
    survivor, absorbed, _, candidate = acme
    merge = candidate_merge(candidate=candidate, survivor=survivor, user=revops_user,
                                     choices={"name": absorbed.pk})
    survivor.refresh_from_db()
    survivor.values["name"] = "Acme Corporation (renamed later)"
    survivor.save()
    merge = merge_undo(merge=merge, user=revops_user)
    survivor.refresh_from_db()
    assert survivor.values["name"] == "Acme Corporation (renamed later)"
    assert {"what": "name: changed since the merge, kept", "done": False} in merge.undo_report


def test_undo_closes_after_its_window(acme, revops_user):
    survivor, _, _, candidate = acme
    merge = candidate_merge(candidate=candidate, survivor=survivor, user=revops_user)
    merge.undo_until = timezone.now() - timedelta(minutes=1)
    merge.save()
    with pytest.raises(services.DuplicateError, match="window closed"):
        merge_undo(merge=merge, user=revops_user)


def test_a_survivor_outside_the_candidate_or_a_bad_choice_is_refused(acme, revops_user, make_record):
    survivor, absorbed, _, candidate = acme
    stranger = make_record(name="Other")
    with pytest.raises(services.DuplicateError, match="not part of"):
        candidate_merge(candidate=candidate, survivor=stranger, user=revops_user)
    with pytest.raises(services.DuplicateError, match="choose one of the merged records"):
        candidate_merge(candidate=candidate, survivor=survivor, user=revops_user,
                                 choices={"name": stranger.pk})
    assert Record.objects.get(pk=survivor.pk).values["name"] == "Acme Inc"  # nothing half-done


def test_survivorship_defaults_follow_the_system_of_record_then_recency(published, make_record):
    crm, erp = published["account"].crm_system, published["account"].erp_system
    erp_side = make_record(name="Acme Incorporated", credit_limit={"amount": "5000", "currency": "USD"},
                           industry="retail", system=erp, external_id="C-1")
    crm_side = make_record(name="Acme Inc", credit_limit={"amount": "9999", "currency": "USD"},
                           industry="software", system=crm, external_id="501")
    choices = survivorship.survivorship_defaults(records=[crm_side, erp_side], survivor=crm_side)
    assert (choices["credit_limit"].record_id, choices["credit_limit"].reason) == (erp_side.pk, "ERP owns it")
    assert (choices["industry"].record_id, choices["industry"].reason) == (crm_side.pk, "CRM owns it")
    assert choices["name"].reason == "most recent" and choices["name"].record_id == crm_side.pk  # shared field


def test_a_record_held_by_the_sync_is_merged_for_real_or_made_a_record_of_its_own(make_record, crm_system,
                                                                                   erp_system, revops_user):
    zeta = make_record(name="Zeta B.V.", domain="zeta.nl", system=crm_system)
    values = {"name": "Zeta", "shipping_city": "Utrecht"}
    decision = sync_match.match_for_sync("account", values, system=erp_system, external_id="C-77")
    held = sync_match.queue_for_review(entity_type="account", system=erp_system, external_id="C-77", values=values,
                                       decision=decision, remote_values={"companyName": "Zeta"})
    merge = candidate_merge(candidate=held, survivor=zeta, user=revops_user, choices={"name": zeta.pk})
    [absorbed] = merge.absorbed.all()
    assert absorbed.values == values and merge.survivor == zeta
    zeta.refresh_from_db()
    assert zeta.values == {"name": "Zeta B.V.", "domain": "zeta.nl", "shipping_city": "Utrecht"}
    link = RecordLink.objects.get(system=erp_system, external_id="C-77")
    assert link.record == zeta and link.status == "active"  # the ERP customer is the survivor's now
    assert merge.choices["shipping_city"] == {"record": absorbed.pk, "value": "Utrecht", "reason": "the only value"}

    merge_undo(merge=merge, user=revops_user)
    link.refresh_from_db()
    held.refresh_from_db()
    assert link.record == absorbed and held.status == CandidateStatus.OPEN
    again = candidate_merge(candidate=held, survivor=zeta, user=revops_user, choices={"name": services.INCOMING})
    assert list(again.absorbed.all()) == [absorbed]  # the same record the first merge made, merged again
    assert Record.objects.get(pk=zeta.pk).values["name"] == "Zeta"

    decision = sync_match.match_for_sync("account", values, system=erp_system, external_id="C-78")
    other = sync_match.queue_for_review(entity_type="account", system=erp_system, external_id="C-78",
                                        values=values, decision=decision)
    services.candidate_dismiss(candidate=other, user=revops_user)
    created = RecordLink.objects.get(system=erp_system, external_id="C-78")
    assert created.record != zeta and created.record.values == values and created.needs_merge
    assert sync_match.match_for_sync("account", values).action in ("review", "link")  # but never these two again
    assert scan.duplicates_scan(entity_type="account").clusters == 0


def test_merge_pushes_to_both_systems_and_undo_reverses_what_the_vendors_allow(published, emulators, revops_user):
    """HubSpot merges the two companies; NetSuite marks the absorbed customer inactive pointing at the
    survivor. Undo reactivates the NetSuite customer; HubSpot cannot undo a merge, and that is reported."""
    from connectors.services import connector_session

    hubspot, netsuite = emulators
    mapping = published["account"]
    crm, erp = mapping.crm_system, mapping.erp_system
    for system in (crm, erp):
        system.rollout_stage = "two_way"
        system.save()
    with connector_session(crm) as connector:
        created = connector.upsert_many("companies", [{"name": "Acme Inc", "domain": "acme.com"},
                                                      {"name": "ACME, Inc.", "domain": "acme.com"}], None)
    with connector_session(erp) as connector:
        customers = connector.upsert_many("customer", [{"companyName": "Acme Inc"}, {"companyName": "ACME Inc."}],
                                          None)
    (hs1, hs2), (ns1, ns2) = [r.external_id for r in created], [r.external_id for r in customers]
    from integration_hub.records import services as hub

    survivor = hub.record_create(entity_type="account", values={"name": "Acme Inc", "domain": "acme.com"})
    absorbed = hub.record_create(entity_type="account", values={"name": "ACME, Inc.", "domain": "acme.com"})
    for record, hs, ns in ((survivor, hs1, ns1), (absorbed, hs2, ns2)):
        hub.record_link(record=record, system=crm, external_id=hs, base_snapshot=dict(record.values))
        hub.record_link(record=record, system=erp, external_id=ns, base_snapshot=dict(record.values))
    merge = merge_records(survivor=survivor, absorbed=[absorbed], user=revops_user,
                                   choices={"name": survivor.pk})
    kinds = {(e.system.role, e.kind) for e in merge.effects.all()}
    assert kinds == {("crm", EffectKind.VENDOR_MERGE), ("erp", EffectKind.DEACTIVATE)}
    assert outbox.dispatch_all().sent == 2  # HubSpot's merge call and NetSuite's deactivation: one outbox
    companies = hubspot.store.table("companies")
    assert hs2 not in companies and hs2 in companies[hs1]["properties"]["hs_merged_object_ids"]
    customer = netsuite.store.table("customer")[ns2]
    assert customer["isInactive"] is True and f"customer {ns1}" in customer["comments"]
    assert RecordLink.objects.get(system=erp, external_id=ns2).status == "archived"

    merge = merge_undo(merge=merge, user=revops_user)
    assert outbox.dispatch_all().sent == 1
    assert netsuite.store.table("customer")[ns2]["isInactive"] is False
    assert RecordLink.objects.get(system=erp, external_id=ns2).status == "active"
    crm_link = RecordLink.objects.get(system=crm, external_id=hs2)
    assert crm_link.record == absorbed and crm_link.status == "archived"  # merged away in HubSpot for good
    assert any("cannot undo" in line["what"] for line in merge.undo_report)
    assert merge.effects.filter(undo=True, status=EffectStatus.NOT_REVERSIBLE).exists()


def test_nothing_is_sent_to_a_read_only_system_and_a_shadow_system_only_stores(published, revops_user, make_record):
    mapping = published["account"]
    crm, erp = mapping.crm_system, mapping.erp_system
    crm.rollout_stage, erp.rollout_stage = "read_only", "shadow"
    crm.save()
    erp.save()
    survivor = make_record(name="Acme", system=crm, external_id="1")
    RecordLink.objects.create(record=survivor, system=erp, entity_type="account", external_id="C-1")
    absorbed = make_record(name="Acme Inc", system=crm, external_id="2")
    RecordLink.objects.create(record=absorbed, system=erp, entity_type="account", external_id="C-2")
    merge = merge_records(survivor=survivor, absorbed=[absorbed], user=revops_user)
    statuses = {e.system.role: e.status for e in merge.effects.all()}
    assert statuses == {"crm": EffectStatus.SKIPPED, "erp": EffectStatus.SHADOW}
    assert set(OutboundChange.objects.values_list("status", flat=True)) == {OutboundStatus.SHADOW}
    assert outbox.dispatch_all().sent == 0


def test_a_child_linked_in_a_system_gets_its_reference_rewritten_there(published, revops_user):
    from integration_hub.records import services as hub

    mapping = published["account"]
    crm, erp = mapping.crm_system, mapping.erp_system
    for system in (crm, erp):
        system.rollout_stage = "two_way"
        system.save()
    survivor = hub.record_create(entity_type="account", values={"name": "Acme Inc"})
    hub.record_link(record=survivor, system=erp, external_id="C-1")
    absorbed = hub.record_create(entity_type="account", values={"name": "ACME Inc."})
    hub.record_link(record=absorbed, system=erp, external_id="C-2")
    contact = hub.record_create(entity_type="contact", values={"last_name": "Lee", "account": f"record:{absorbed.pk}"})
    hub.record_link(record=contact, system=erp, external_id="N-5")
    merge = merge_records(survivor=survivor, absorbed=[absorbed], user=revops_user)
    write = OutboundChange.objects.get(record=contact)
    # The sync's writer: the values a write carries hold the side's own ids, as the engine's writes do.
    assert write.values == {"account": "C-1"} and write.link.external_id == "N-5"
    assert "C-1" in str(write.payload) and "C-2" not in str(write.payload)
    assert merge.effects.filter(record=contact, kind=EffectKind.UPDATE).exists()


def test_revops_reads_candidates_and_merges_in_the_admin_and_cannot_change_them(acme, revops_user, viewer_user,
                                                                                  client):
    survivor, _, _, candidate = acme
    merge = candidate_merge(candidate=candidate, survivor=survivor, user=revops_user)
    client.force_login(revops_user)
    for url in ("/admin/duplicates/duplicatecandidate/", "/admin/duplicates/merge/", "/admin/duplicates/notduplicate/",
                f"/admin/duplicates/merge/{merge.pk}/change/",
                f"/admin/duplicates/duplicatecandidate/{candidate.pk}/change/"):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/admin/duplicates/merge/{merge.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # read-only: merges are undone on the merge page, through the service
    assert client.post(f"/admin/duplicates/merge/{merge.pk}/change/", {"status": "undone"}).status_code == 403
    assert client.post(f"/admin/duplicates/merge/{merge.pk}/delete/", {"post": "yes"}).status_code == 403
    merge.refresh_from_db()
    assert merge.status == MergeStatus.DONE
    client.force_login(viewer_user)
    assert client.get("/admin/duplicates/merge/").status_code == 403


def test_a_merge_never_empties_a_value_the_records_hold(acme, revops_user):
    survivor, absorbed, _, candidate = acme
    writes = OutboundChange.objects.count()
    # The absorbed record has no phone: choosing it for the phone would erase the survivor's systems' phone.
    with pytest.raises(services.DuplicateError, match="never empties a field"):
        candidate_merge(candidate=candidate, survivor=survivor, user=revops_user,
                                 choices={"phone": absorbed.pk})
    with pytest.raises(services.DuplicateError, match="never empties a field"):
        candidate_merge(candidate=candidate, survivor=survivor, user=revops_user,
                                 choices={"domain": {"value": "  "[:0]}})
    candidate.refresh_from_db()
    survivor.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN and survivor.values["phone"] == "(415) 555-0123"
    assert OutboundChange.objects.count() == writes
