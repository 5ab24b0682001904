"""The queue and cluster pages, the API and the readiness report, per role."""
from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from integration_hub.records.models import RecordLink
from reconciliation.duplicates import scan, sync_match
from reconciliation.duplicates.models import CandidateStatus, DuplicateCandidate, Merge, NotDuplicate

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster(make_record, crm_system, erp_system):
    survivor = make_record(name="Acme Inc", domain="acme.com", phone="(415) 555-0123", system=erp_system,
                           external_id="C-1")
    other = make_record(name="ACME, Inc.", domain="www.acme.com", shipping_city="Leeds", system=crm_system,
                        external_id="501")
    scan.duplicates_scan(entity_type="account")
    return DuplicateCandidate.objects.get(), survivor, other


def _login(client, user):
    client.force_login(user)
    return client


def test_the_queue_lists_open_clusters_best_first_with_pagination(client, viewer_user, make_record):
    for i in range(55):
        make_record(name=f"Firm{i:02d}x Ltd", domain=f"firm{i}.co.uk")
        make_record(name=f"FIRM{i:02d}X LIMITED", domain=f"https://firm{i}.co.uk")
    scan.duplicates_scan(entity_type="account")
    page = _login(client, viewer_user).get(reverse("duplicates:queue"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Page 1 of 2" in html and "Firm00x Ltd" in html
    assert 'id="scan-form"' not in html  # a viewer cannot start scans
    assert client.get(reverse("duplicates:queue")).status_code == 200  # the navigation entry


def test_the_cluster_page_shows_records_side_by_side_with_differences_evidence_and_ids(client, revops_user,
                                                                                       cluster):
    candidate, survivor, other = cluster
    html = _login(client, revops_user).get(reverse("duplicates:detail", args=[candidate.pk])).content.decode()
    assert "Acme Inc" in html and "ACME, Inc." in html
    assert 'class="differs" data-field="name"' in html and 'data-field="domain"' in html
    assert "C-1" in html and "501" in html  # linked external ids
    assert "Website domain" in html and "acme.com / acme.com" in html  # evidence, compared values
    assert 'id="merge-button"' in html


def test_a_viewer_reads_the_cluster_but_cannot_act(client, viewer_user, finance_user, cluster):
    candidate, survivor, _ = cluster
    for user in (viewer_user, finance_user):
        _login(client, user)
        html = client.get(reverse("duplicates:detail", args=[candidate.pk])).content.decode()
        assert 'id="merge-button"' not in html
        response = client.post(reverse("duplicates:detail", args=[candidate.pk]),
                               {"action": "merge", "survivor": survivor.pk})
        assert response.status_code == 403
        assert client.post(reverse("duplicates:scan"), {"entity": "account"}).status_code == 403
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN


def test_a_user_without_a_role_sees_nothing(client, roleless_user, cluster):
    candidate, _, _ = cluster
    _login(client, roleless_user)
    assert client.get(reverse("duplicates:queue")).status_code == 403
    assert client.get(reverse("duplicates:detail", args=[candidate.pk])).status_code == 403
    assert client.get("/api/v1/duplicates/").status_code == 403


def test_revops_merges_from_the_page_with_a_field_override(client, revops_user, cluster, crm_system):
    candidate, survivor, other = cluster
    _login(client, revops_user)
    response = client.post(reverse("duplicates:detail", args=[candidate.pk]),
                           {"action": "merge", "survivor": survivor.pk, "choice:name": survivor.pk,
                            "choice:domain": other.pk}, follow=True)
    merge = Merge.objects.get()
    assert response.redirect_chain[-1][0] == reverse("duplicates:merge", args=[merge.pk])
    assert "You can undo this merge until" in response.content.decode()
    survivor.refresh_from_db()
    assert survivor.values["name"] == "Acme Inc" and merge.choices["name"]["reason"] == "chosen"  # not the default
    assert survivor.values["domain"] == "www.acme.com" and survivor.values["shipping_city"] == "Leeds"
    assert RecordLink.objects.get(system=crm_system, external_id="501").record == survivor
    response = client.post(reverse("duplicates:undo", args=[merge.pk]), follow=True)
    assert "undone" in response.content.decode()
    survivor.refresh_from_db()
    assert survivor.values["domain"] == "acme.com" and survivor.values.get("shipping_city") is None


def test_not_a_duplicate_and_skip_from_the_page(client, revops_user, cluster):
    candidate, _, _ = cluster
    _login(client, revops_user)
    client.post(reverse("duplicates:detail", args=[candidate.pk]), {"action": "skip"})
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN and candidate.skipped_at is not None
    client.post(reverse("duplicates:detail", args=[candidate.pk]), {"action": "dismiss"})
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISMISSED and NotDuplicate.objects.count() == 1
    again = client.post(reverse("duplicates:detail", args=[candidate.pk]), {"action": "dismiss"}, follow=True)
    assert "already not a duplicate" in again.content.decode()


class TestApi:
    def test_list_and_detail_with_evidence_for_a_viewer(self, client, viewer_user, cluster):
        candidate, survivor, other = cluster
        _login(client, viewer_user)
        listing = client.get("/api/v1/duplicates/?status=open&entity_type=account").json()
        assert listing["count"] == 1 and listing["results"][0]["id"] == candidate.pk
        detail = client.get(f"/api/v1/duplicates/{candidate.pk}/").json()
        [pair] = detail["pairs"]
        assert {row["feature"] for row in pair["evidence"]} >= {"name", "domain", "phone"}
        assert {r["id"] for r in detail["records"]} == {survivor.pk, other.pk}
        assert any(link["external_id"] == "501" for r in detail["records"] for link in r["links"])
        assert detail["defaults"]["fields"]["shipping_city"]["record"] == other.pk
        assert client.post(f"/api/v1/duplicates/{candidate.pk}/merge/", {"survivor": survivor.pk},
                           content_type="application/json").status_code == 403
        assert client.post(f"/api/v1/duplicates/{candidate.pk}/dismiss/").status_code == 403

    def test_merge_and_undo_through_the_api(self, client, revops_user, cluster):
        candidate, survivor, other = cluster
        _login(client, revops_user)
        bad = client.post(f"/api/v1/duplicates/{candidate.pk}/merge/", {"survivor": 999999},
                          content_type="application/json")
        assert bad.status_code == 400 and "not part of" in bad.json()["detail"]
        response = client.post(f"/api/v1/duplicates/{candidate.pk}/merge/",
                               {"survivor": survivor.pk, "choices": {"name": {"value": "Acme Incorporated"}}},
                               content_type="application/json")
        assert response.status_code == 201
        merge = response.json()
        assert merge["survivor"] == survivor.pk and merge["absorbed"] == [other.pk]
        assert merge["choices"]["name"] == {"record": None, "value": "Acme Incorporated", "reason": "typed in"}
        undone = client.post(f"/api/v1/duplicate-merges/{merge['id']}/undo/")
        assert undone.status_code == 200 and undone.json()["status"] == "undone"

    def test_dismiss_through_the_api(self, client, revops_user, cluster):
        candidate, _, _ = cluster
        _login(client, revops_user)
        response = client.post(f"/api/v1/duplicates/{candidate.pk}/dismiss/")
        assert response.status_code == 200 and response.json()["status"] == "dismissed"
        assert client.post(f"/api/v1/duplicates/{candidate.pk}/dismiss/").status_code == 400


def test_readiness_report_lists_what_to_fix_and_exports_csv(client, published, emulators, revops_user,
                                                           viewer_user, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    from connectors.services import connector_session
    from reconciliation.duplicates import tasks

    asked = []
    monkeypatch.setattr(tasks.build_readiness_report, "delay", asked.append)  # the worker runs it below

    hubspot, _ = emulators
    mapping = published["account"]
    with connector_session(mapping.crm_system) as connector:
        written = connector.upsert_many("companies", [{"name": "Zentrix Labs Ltd", "domain": "zentrix.co.uk"},
                                                      {"name": "ZENTRIX LABS LIMITED", "domain": "www.zentrix.co.uk"},
                                                      {"name": "Orphan Co", "industry": "RETAIL"},
                                                      {"domain": "nameless.example"}], None)
    # A HubSpot admin added an industry option the mapping's picklist does not know yet.
    hubspot.store.table("companies")[written[2].external_id]["properties"]["industry"] = "AGRICULTURE"
    url = reverse("duplicates:readiness", args=[mapping.pk])
    _login(client, viewer_user)
    assert "No report yet" in client.get(url).content.decode()
    assert client.post(url).status_code == 403
    _login(client, revops_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
        client.post(url)  # asked twice: one build
    assert len(asked) == 1
    waiting = client.get(url).content.decode()
    assert 'id="building"' in waiting and 'http-equiv="refresh"' in waiting and 'id="build-button"' not in waiting
    assert tasks.build_readiness_report.apply(asked).result == "done"  # the worker's part
    html = client.get(url).content.decode()
    assert 'id="building"' not in html and 'id="build-button"' in html
    assert "Duplicates within one side" in html and "Zentrix Labs Ltd" in html
    assert "AGRICULTURE" in html and "is not in the picklist map" in html
    assert "Records the match keys cannot link" in html and "Orphan Co" in html
    assert "Missing a required field" in html and written[3].external_id in html
    rows = list(csv.DictReader(io.StringIO(client.get(url + "?format=csv").content.decode())))
    problems = {(row["problem"], row["name"]) for row in rows}
    assert ("Duplicates within one side", "ZENTRIX LABS LIMITED") in problems
    assert ("Values no picklist map covers", "Orphan Co") in problems
    assert all(row["external id"] for row in rows)


def test_a_record_held_by_the_sync_is_shown_beside_its_likely_matches(client, revops_user, make_record, erp_system,
                                                                      crm_system):
    zeta = make_record(name="Zeta B.V.", domain="zeta.nl", system=crm_system)
    values = {"name": "Zeta", "shipping_city": "Utrecht"}
    decision = sync_match.match_for_sync("account", values, system=erp_system, external_id="C-77")
    held = sync_match.queue_for_review(entity_type="account", system=erp_system, external_id="C-77", values=values,
                                     decision=decision)
    html = _login(client, revops_user).get(reverse("duplicates:detail", args=[held.pk])).content.decode()
    assert "held by the sync" in html and "C-77" in html and "Utrecht" in html and "Zeta B.V." in html
    # the held record's values can be chosen like any record's: its name differs, its city is the only one
    assert 'name="choice:name" value="incoming"' in html and f'name="choice:name" value="{zeta.pk}"' in html
    response = client.post(reverse("duplicates:detail", args=[held.pk]),
                           {"action": "merge", "survivor": zeta.pk, "choice:name": "incoming"}, follow=True)
    page = response.content.decode()
    assert "You can undo this merge until" in page and "Merged into Zeta (#" in page
    assert "Demo ERP <code>C-77</code>" in page  # its ERP identity moved to the survivor
    zeta.refresh_from_db()
    assert zeta.values["name"] == "Zeta" and zeta.values["shipping_city"] == "Utrecht"
    assert RecordLink.objects.get(system=erp_system, external_id="C-77").record == zeta
    assert "held as a likely duplicate" in client.get(zeta.get_absolute_url()).content.decode()


def test_a_readiness_build_that_cannot_read_a_system_says_why(client, published, emulators, revops_user,
                                                               monkeypatch, django_capture_on_commit_callbacks):
    from reconciliation.duplicates import tasks

    hubspot, _ = emulators
    mapping = published["account"]
    asked = []
    monkeypatch.setattr(tasks.build_readiness_report, "delay", asked.append)
    url = reverse("duplicates:readiness", args=[mapping.pk])
    _login(client, revops_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    hubspot.stop()  # HubSpot cannot be reached while the worker reads it
    assert tasks.build_readiness_report.apply(asked).result == "failed"
    html = client.get(url).content.decode()
    assert 'id="build-failed"' in html and "No report yet" in html and 'id="build-button"' in html
