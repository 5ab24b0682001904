"""Bulk decisions: the ticked conflicts or all matching the filter, confirmed, performed as a background job."""
from __future__ import annotations

import pytest

from integration_hub.records.models import Record
from reconciliation.conflicts.models import BulkDecision, Conflict
from tests.conflicts.conftest import edit, external_id, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def names(live):
    """A second name both teams changed (Initech), next to Globex's and the finance price conflict."""
    initech = Record.objects.get(entity_type="account", values__name="Initech LLC")
    edit(live.account.crm_system, "companies", external_id(initech, live.account.crm_system),
         {"name": "Initech (Sales)"})
    edit(live.account.erp_system, "customer", external_id(initech, live.account.erp_system),
         {"companyName": "Initech L.L.C."})
    sync(live.account)
    live.initech = Conflict.objects.get(record=initech, field="name")
    return live


def test_all_matching_a_filter_are_decided_in_the_background(client, revops_user, names,
                                                             django_capture_on_commit_callbacks):
    client.force_login(revops_user)
    confirm = client.post("/conflicts/bulk/?approver_role=revops", {"all": "1", "choice": "crm"})
    html = confirm.content.decode()
    assert "Decide 2 open conflicts (all matching the filter)" in html
    assert "2 approved by RevOps admins" in html and "You will decide <strong>2</strong>" in html
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/conflicts/bulk/start/?approver_role=revops",
                              {"all": "1", "choice": "crm", "comment": "sales names win"})
    job = BulkDecision.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/conflicts/bulk/{job.pk}/"
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.decided, job.refused, job.stale) == ("done", 2, 2, 2, 0, 0)
    for conflict, name in ((names.name, "Globex (Sales East)"), (names.initech, "Initech (Sales)")):
        conflict.refresh_from_db()
        assert conflict.status == "resolved" and conflict.comment == "sales names win"
        assert names.customer(conflict.record)["companyName"] == name  # reached NetSuite
    assert Conflict.objects.get(pk=names.price_conflict.pk).status == "open"  # outside the filter
    progress = client.get(f"/conflicts/bulk/{job.pk}/progress/").json()
    assert progress["finished"] and progress["percent"] == 100 and progress["decided"] == 2
    assert "Decided</dt><dd id=\"bulk-decided\">2" in client.get(f"/conflicts/bulk/{job.pk}/").content.decode()


def test_conflicts_for_another_role_stay_open_and_changed_ones_are_refreshed(client, revops_user, names,
                                                                            django_capture_on_commit_callbacks):
    globex = names.name.record
    edit(names.account.crm_system, "companies", external_id(globex, names.account.crm_system),
         {"name": "Globex (renamed again)"})
    client.force_login(revops_user)
    html = client.post("/conflicts/bulk/", {"all": "1", "choice": "erp"}).content.decode()
    assert "1 approved by Finance approvers — <strong>not yours to decide: they stay open</strong>" in html
    assert "You will decide <strong>2</strong> of them" in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/conflicts/bulk/start/", {"all": "1", "choice": "erp"})
    job = BulkDecision.objects.get()
    assert (job.total, job.decided, job.refused, job.stale) == (3, 1, 1, 1)
    stale = Conflict.objects.get(pk=names.name.pk)
    assert stale.status == "open" and stale.crm_value == "Globex (renamed again)"
    assert Conflict.objects.get(pk=names.initech.pk).status == "resolved"
    assert Conflict.objects.get(pk=names.price_conflict.pk).status == "open"


def test_ticked_conflicts_and_a_required_comment(client, finance_user, rows):
    client.force_login(finance_user)
    html = client.post("/conflicts/bulk/", {"select": [rows.name.pk, rows.price_conflict.pk],
                                            "choice": "erp"}).content.decode()
    assert "Decide 2 open conflicts" in html and "required: the selection includes finance fields" in html
    refused = client.post("/conflicts/bulk/start/", {"select": [rows.price_conflict.pk], "choice": "erp"})
    assert refused.status_code == 400 and "A comment is required" in refused.content.decode()
    assert not BulkDecision.objects.exists()


def test_nothing_to_decide_says_so(client, viewer_user, revops_user, finance_user, rows):
    client.force_login(revops_user)
    empty = client.post("/conflicts/bulk/", {"choice": "erp"}, follow=True).content.decode()
    assert "Tick the conflicts to decide" in empty
    client.force_login(finance_user)  # an approver, but these are RevOps' conflicts
    html = client.post("/conflicts/bulk/?approver_role=revops", {"all": "1", "choice": "erp"}).content.decode()
    assert "None of these is yours to decide" in html
    client.force_login(viewer_user)  # a viewer decides nothing: neither step is theirs
    assert client.post("/conflicts/bulk/", {"all": "1", "choice": "erp"}).status_code == 403
    assert client.post("/conflicts/bulk/start/", {"all": "1", "choice": "erp"}).status_code == 403
    assert not BulkDecision.objects.exists()
