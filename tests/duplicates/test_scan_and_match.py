"""The full scan (command, clusters, evidence, memory) and the sync's match step (thresholds, index)."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reconciliation.duplicates import scan, services, sync_match
from reconciliation.duplicates.models import BlockingKey, CandidateKind, CandidateStatus, DuplicateCandidate

pytestmark = pytest.mark.django_db

ACME = {"domain": "acme.com", "phone": "(415) 555-0123", "shipping_city": "San Francisco"}


@pytest.fixture
def acme_three(make_record, crm_system, erp_system):
    """The CRM has Acme three times; the ERP knows it once under its legal name."""
    return [
        make_record(name="Acme Inc", system=crm_system, external_id="101", **ACME),
        make_record(name="ACME, Inc.", system=crm_system, external_id="102", domain="www.acme.com",
                    phone="+1 415 555 0123"),
        make_record(name="Acme Incorporated", system=erp_system, external_id="C-9", **ACME),
        make_record(name="Nordwind Logistics GmbH", domain="nordwind.de"),
    ]


def test_find_duplicates_proposes_one_cluster_with_evidence_and_shows_progress(acme_three):
    out, err = StringIO(), StringIO()
    call_command("find_duplicates", "account", stdout=out, stderr=err)
    assert "account: 4 records" in out.getvalue() and "1 new" in out.getvalue()
    candidate = DuplicateCandidate.objects.get()
    assert sorted(candidate.records.values_list("pk", flat=True)) == sorted(r.pk for r in acme_three[:3])
    assert candidate.kind == CandidateKind.WITHIN  # two of them are linked in the same CRM
    assert candidate.score >= 0.97 and candidate.pairs.count() == 3
    evidence = {row["feature"]: row for row in candidate.pairs.first().evidence}
    assert evidence["name"]["similarity"] == 1.0 and evidence["domain"]["contribution"] > 0


def test_a_rescan_updates_instead_of_proposing_again_and_retires_what_it_no_longer_finds(acme_three):
    scan.duplicates_scan(entity_type="account")
    first = DuplicateCandidate.objects.get()
    again = scan.duplicates_scan(entity_type="account")
    assert (again.created, again.updated, DuplicateCandidate.objects.count()) == (0, 1, 1)
    for record in acme_three[1:3]:
        record.values = {"name": f"Something else {record.pk}"}
        record.save()
    third = scan.duplicates_scan(entity_type="account")
    first.refresh_from_db()
    assert third.stale == 1 and first.status == CandidateStatus.STALE


def test_not_a_duplicate_is_remembered_and_never_proposed_again(acme_three, revops_user):
    scan.duplicates_scan(entity_type="account")
    services.candidate_dismiss(candidate=DuplicateCandidate.objects.get(), user=revops_user)
    summary = scan.duplicates_scan(entity_type="account")
    assert summary.clusters == 0 and summary.created == 0
    assert not DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).exists()
    with pytest.raises(services.DuplicateError, match="already not a duplicate"):
        services.candidate_dismiss(candidate=DuplicateCandidate.objects.get(), user=revops_user)


def test_an_unknown_entity_is_a_clear_command_error(db):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("find_duplicates", "invoice")


def test_every_saved_record_is_in_the_blocking_index(make_record):
    record = make_record(name="Zentrix Labs Ltd", domain="zentrix.co.uk")
    keys = set(BlockingKey.objects.filter(record=record).values_list("key", flat=True))
    assert {"t:zentrix", "d:zentrix.co.uk"} <= keys
    record.values = {"name": "Zentrix Labs Ltd", "domain": "zentrix.com"}
    record.save()
    keys = set(BlockingKey.objects.filter(record=record).values_list("key", flat=True))
    assert "d:zentrix.com" in keys and "d:zentrix.co.uk" not in keys


def test_a_bulk_update_rekeys_only_records_whose_key_fields_changed(make_record):
    """The sync's bulk writes keep the index too; a change to a field no key reads leaves the keys alone
    (and costs no index query), a change to one that does moves them."""
    from integration_hub.records import services as hub

    records = [make_record(name=f"Zentrix Labs {i}", domain=f"zentrix{i}.com") for i in range(3)]
    source = hub.Source(system="hub")
    with CaptureQueriesContext(connection) as queries:
        hub.records_update_many([(record, {"payment_terms": "Net 60"}, source) for record in records])
    assert queries.captured_queries and not [q for q in queries.captured_queries
                                             if BlockingKey._meta.db_table in q["sql"]]
    hub.records_update_many([(records[0], {"domain": "zentrix.org"}, source)])
    keys = set(BlockingKey.objects.filter(record=records[0]).values_list("key", flat=True))
    assert "d:zentrix.org" in keys and "d:zentrix0.com" not in keys
    assert "d:zentrix1.com" in set(BlockingKey.objects.filter(record=records[1]).values_list("key", flat=True))


class TestMatchForSync:
    def test_a_near_certain_match_links(self, acme_three, erp_system):
        decision = sync_match.match_for_sync("account", {"name": "ACME INC.", "domain": "https://acme.com/",
                                                       "phone": "415-555-0123"})
        assert decision.action == "review"  # three near-certain golden records: a person decides
        decision = sync_match.match_for_sync("account", {"name": "Acme Inc", **ACME}, system=erp_system)
        assert decision.action == "review"  # the ERP's own Acme is a candidate too: a copy within the ERP
        linked = {c.record.pk: c.linked_here for c in decision.candidates}
        assert linked[acme_three[2].pk] == "C-9" and linked[acme_three[0].pk] == ""

    def test_one_near_certain_match_is_linked_and_explained(self, make_record, crm_system):
        zeta = make_record(name="Zeta B.V.", domain="zeta.nl", phone="+31 20 123 4567", system=crm_system)
        decision = sync_match.match_for_sync("account", {"name": "ZETA BV", "domain": "www.zeta.nl",
                                                       "phone": "020 123 4567", "shipping_country": "NL"})
        assert decision.action == "link" and decision.record == zeta
        assert "near-certain" in decision.message and decision.best.evidence

    def test_a_likely_match_goes_to_the_queue_and_is_held_there(self, make_record, crm_system, erp_system):
        zeta = make_record(name="Zeta B.V.", domain="zeta.nl", system=crm_system)
        values = {"name": "Zeta", "shipping_city": "Utrecht"}
        decision = sync_match.match_for_sync("account", values, system=erp_system, external_id="C-77")
        assert decision.action == "review" and decision.best.record == zeta
        assert services.profile("account").lower <= decision.best.score < services.profile("account").upper
        candidate = sync_match.queue_for_review(entity_type="account", system=erp_system, external_id="C-77",
                                              values=values, decision=decision)
        assert candidate.kind == CandidateKind.INCOMING and list(candidate.records.all()) == [zeta]
        again = sync_match.match_for_sync("account", values, system=erp_system, external_id="C-77")
        assert again.action == "held" and again.pending == candidate

    def test_nothing_alike_creates_a_new_record(self, make_record):
        make_record(name="Zeta B.V.", domain="zeta.nl")
        assert sync_match.match_for_sync("account", {"name": "Nordwind GmbH"}).action == "new"
        assert sync_match.match_for_sync("account", {}).action == "new"
        assert sync_match.match_for_sync("invoice", {"number": "1"}).action == "new"

    def test_a_copy_of_a_record_the_side_being_read_has_is_held_never_linked(self, make_record, crm_system,
                                                                            erp_system):
        zeta = make_record(name="Zeta B.V.", domain="zeta.nl", phone="+31 20 123 4567", system=crm_system,
                           external_id="501")
        copy = {"name": "Zeta BV", "domain": "zeta.nl", "phone": "+31 20 123 4567"}
        decision = sync_match.match_for_sync("account", copy, system=crm_system, external_id="502")
        assert decision.action == "review" and decision.best.record == zeta
        assert "already in Demo CRM as 501" in decision.message
        assert sync_match.match_for_sync("account", copy, system=erp_system).action == "link"  # the other system

    def test_a_copy_read_after_its_original_in_the_same_batch_is_held(self, crm_system):
        batch = {"601": {"name": "Zeta B.V.", "domain": "zeta.nl"}, "602": {"name": "Nordwind GmbH"},
                 "603": {"name": "Zeta BV", "domain": "zeta.nl"}}
        decisions = sync_match.match_many("account", batch, system=crm_system, creates=True)
        assert [decisions[i].action for i in batch] == ["new", "new", "review"]
        assert decisions["603"].copy_of == "601" and decisions["603"].evidence
        # a side whose new records are not created holds nothing for its neighbours
        assert {d.action for d in sync_match.match_many("account", batch, system=crm_system).values()} == {"new"}

    def test_the_look_up_uses_the_index_not_the_table(self, make_record, django_assert_max_num_queries):
        for i in range(30):
            make_record(name=f"Filler {i} Ltd", domain=f"filler{i}.com")
        make_record(name="Zeta B.V.", domain="zeta.nl")
        with django_assert_max_num_queries(4):
            decision = sync_match.match_for_sync("account", {"name": "Zeta", "domain": "zeta.nl"})
        assert [c.record.values["name"] for c in decision.candidates] == ["Zeta B.V."]
