"""End to end with the emulators: a sync holds bad values; the data-quality page groups them by cause; after the
rule is fixed, replaying one cause from the page reads those records again and their held fields clear, while
another cause stays held."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from connectors.models import ConnectedSystem
from integration_hub.records.models import RecordLink
from integration_hub.sync import engine, outbox, tasks
from integration_hub.sync.models import HeldField, SyncRun, SyncStatus
from mapping import services

pytestmark = pytest.mark.django_db

LOGISTICS = ("LOG-1", "LOG-2", "LOG-3")  # NetSuite's new category, unknown to the rules
NET_45 = "TERMS-1"  # payment terms the rules do not know


@pytest.fixture
def emulators():
    """Both emulators holding only this test's records."""
    from connectors.sandbox import start_emulator

    hubspot, netsuite = start_emulator("hubspot"), start_emulator("netsuite")
    yield hubspot, netsuite
    hubspot.stop()
    netsuite.stop()


@pytest.fixture
def eager(monkeypatch):
    """Tasks sent to the broker run in-process instead (the worker itself is tested in tests/sync/test_worker.py)."""
    for task in (tasks.sync_records, tasks.dispatch_outbox):
        monkeypatch.setattr(task, "delay", lambda *args, _task=task, **kwargs: _task.apply(args, kwargs, throw=True))


def customer(external_id: str, i: int, **fields) -> dict:
    return {"externalId": external_id, "entityId": external_id, "companyName": f"Company {i}",
            "phone": f"+1 217 555 {i:04d}", "terms": "Net 30", "currency": "USD", "category": "Retail",
            "entityStatus": "CUSTOMER-Closed Won", "isInactive": False, **fields}


@pytest.fixture
def held_page(published, emulators):
    """Five ERP customers: three in a category the rules do not know, one with unknown terms, one clean."""
    _, netsuite = emulators
    account = published["account"]
    account.erp_creates = "always"
    account.save()
    ConnectedSystem.objects.update(rollout_stage="two_way")
    rows = [customer(eid, n, category="Logistics") for n, eid in enumerate(LOGISTICS)]
    rows += [customer(NET_45, 10, terms="Net 45"), customer("CLEAN-1", 11)]
    start = datetime.now(UTC) - timedelta(hours=1)
    with netsuite.store.lock:
        ids = {row["externalId"]: netsuite.emulator.put_seed(
            "customer", row, modified=(start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"))
            for n, row in enumerate(rows)}
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=account))
    outbox.dispatch_all()
    run.refresh_from_db()
    return account, ids, run


def causes(html: str) -> dict[str, tuple[int, str]]:
    found = re.findall(r'<tr data-cause="([^"]*)"><td><a href="\?([^"]*)">.*?<td class="count">(\d+)</td>', html,
                       re.S)
    return {unescape(label): (int(count), unescape(query)) for label, query, count in found}


def test_a_cause_replayed_after_the_rule_is_fixed_clears_and_the_others_stay(
        client, viewer_user, revops_user, finance_user, held_page, eager, django_capture_on_commit_callbacks):
    account, ids, run = held_page
    assert run.counts["held"] == 4, (run.status, run.counts)
    client.force_login(viewer_user)

    # The page: one line per cause, with its count; the run's page and a record's page say the same.
    summary = causes(client.get("/data-quality/").content.decode())
    industry = next(label for label in summary if label.startswith("industry: "))
    terms = next(label for label in summary if label.startswith("payment_terms: "))
    assert "Logistics" not in industry and summary[industry][0] == 3 and summary[terms][0] == 1
    assert re.search(r'id="run-held-count">4<', client.get(f"/sync-runs/{run.pk}/").content.decode())
    logistic = RecordLink.objects.get(system=account.erp_system, external_id=ids["LOG-1"]).record
    record_page = unescape(client.get(f"/records/{logistic.pk}/").content.decode())
    assert 'id="record-held-fields"' in record_page and "Logistics" in record_page

    # RevOps maps the new category, then replays that cause from the page: confirmation first, then one run.
    draft = services.version_create_draft(mapping=account, user=revops_user, note="Logistics is services")
    rule = draft.rules.get(field="industry")
    picklist = rule.erp_transforms[0]["params"]
    picklist["map"]["Logistics"] = "services"
    picklist["preferred"] = {**picklist.get("preferred", {}), "services": "Services"}  # what the ERP gets back
    rule.save()
    if draft.needs_finance_signoff:
        services.version_sign_off(version=draft, user=finance_user)
    services.version_publish(version=draft, user=revops_user)
    client.force_login(revops_user)
    query = summary[industry][1]
    confirm = unescape(client.post(f"/data-quality/replay/?{query}", {"all": "1"}).content.decode())
    assert "reads <strong>3</strong> vendor records again" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/data-quality/replay/start/?{query}", {"all": "1"})

    replay = SyncRun.objects.get(trigger="replay")
    assert response["Location"] == f"/sync-runs/{replay.pk}/"
    replay.refresh_from_db()
    assert replay.status == SyncStatus.SUCCEEDED and replay.counts["read"] == 3 and replay.counts["held"] == 0
    still = HeldField.objects.filter(mapping=account, cleared_at__isnull=True)
    assert list(still.values_list("external_id", "field")) == [(ids[NET_45], "payment_terms")]
    assert HeldField.objects.filter(mapping=account, field="industry", cleared_at__isnull=False).count() == 3
    after = causes(client.get("/data-quality/").content.decode())
    assert list(after) == [terms]
    assert 'id="record-held-fields"' not in client.get(f"/records/{logistic.pk}/").content.decode()
    cleared = unescape(client.get(f"/data-quality/?{query}&status=cleared").content.decode())
    assert cleared.count('class="badge badge-green">cleared') == 3
