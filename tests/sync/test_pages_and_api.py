"""Sync run pages and API: progress, events, "Sync now" and "Replay" for RevOps only."""
from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from integration_hub.sync import engine, tasks
from integration_hub.sync.models import SyncEvent, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(monkeypatch):
    """Tasks sent to the broker run in-process instead (the worker itself is tested in tests/sync/test_worker.py)."""
    for task in (tasks.sync_mapping, tasks.replay_sync_run, tasks.dispatch_outbox):
        monkeypatch.setattr(task, "delay", lambda *args, _task=task, **kwargs: _task.apply(args, kwargs, throw=True))


@pytest.fixture
def item_run(published):
    from connectors.models import ConnectedSystem

    item = published["item"]
    ConnectedSystem.objects.update(rollout_stage="shadow")
    return engine.sync_run_execute(run=engine.sync_run_create(mapping=item))


def test_the_run_page_shows_counts_progress_and_events(client, viewer_user, item_run):
    client.force_login(viewer_user)
    html = client.get(f"/sync-runs/{item_run.pk}/").content.decode()
    assert f"sync-run:{item_run.pk}" in html and "Succeeded" in html
    assert "read 10" in html and "Blocked edit" in html
    assert 'id="replay"' not in html  # viewers cannot replay
    progress = client.get(f"/sync-runs/{item_run.pk}/progress/").json()
    assert progress["finished"] is True and progress["counts"]["read"] == 10
    listing = client.get("/sync-runs/").content.decode()
    assert f'href="/sync-runs/{item_run.pk}/"' in listing


def test_revops_syncs_now_from_the_mapping_page(client, revops_user, published, eager,
                                                 django_capture_on_commit_callbacks):
    item = published["item"]
    client.force_login(revops_user)
    assert 'id="sync-now"' in client.get(f"/mappings/{item.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/mappings/{item.pk}/sync-now/")
    run = SyncRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sync-runs/{run.pk}/"
    run.refresh_from_db()
    assert run.status == "succeeded" and run.requested_by == revops_user and run.counts["read"] == 10


def test_viewers_and_finance_cannot_start_or_replay_syncs(client, viewer_user, finance_user, item_run):
    for user in (viewer_user, finance_user):
        client.force_login(user)
        assert client.post(f"/mappings/{item_run.mapping_id}/sync-now/").status_code == 403
        assert client.post(f"/sync-runs/{item_run.pk}/replay/").status_code == 403
    assert SyncRun.objects.count() == 1


def test_replay_from_the_run_page(client, revops_user, item_run, eager, django_capture_on_commit_callbacks):
    SyncEvent.objects.create(run=item_run, kind="failed", side="crm", external_id="1017", message="held: test")
    client.force_login(revops_user)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/sync-runs/{item_run.pk}/replay/", follow=True).content.decode()
    replay = SyncRun.objects.get(trigger="replay")
    assert f"sync-run:{replay.pk} queued" in page and replay.counts["read"] == 1  # run by the (eager) worker


def test_the_api_starts_a_run_and_reports_progress(client, revops_user, viewer_user, published, eager,
                                                  django_capture_on_commit_callbacks):
    item = published["item"]
    revops = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=revops_user).key}"}
    viewer = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=viewer_user).key}"}
    assert client.post("/api/v1/sync-runs/", {"mapping": item.pk}, content_type="application/json",
                       **viewer).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/sync-runs/", {"mapping": item.pk, "mode": "shadow"},
                              content_type="application/json", **revops)
    assert created.status_code == 201
    run = client.get(f"/api/v1/sync-runs/{created.json()['id']}/", **viewer).json()
    assert run["status"] == "succeeded" and run["mode"] == "shadow" and run["counts"]["read"] == 10
    assert run["rule_version"] == item.published_version.number
