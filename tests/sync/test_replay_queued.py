"""Replay from a run page queues the replay for a worker, as "Sync now" does: the web request reads nothing from
the vendors, and the user is taken to the new run's page, which shows it queued until a worker has run it."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from integration_hub.sync import engine, tasks
from integration_hub.sync.models import SyncEvent, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_run(published):
    ConnectedSystem.objects.update(rollout_stage="shadow")
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=published["item"]))
    SyncEvent.objects.create(run=run, kind="failed", side="crm", external_id="1017", message="held: test")
    return run


@pytest.fixture
def broker(monkeypatch):
    """What was queued for a worker (task, args, kwargs), instead of a broker."""
    sent = []
    for task in (tasks.replay_sync_run, tasks.sync_mapping, tasks.dispatch_outbox):
        monkeypatch.setattr(task, "delay", lambda *args, _task=task, **kwargs: sent.append((_task, args, kwargs)))
    return sent


def test_replay_is_queued_and_the_page_shows_the_new_run_queued(client, revops_user, failed_run, broker, emulators,
                                                                django_capture_on_commit_callbacks):
    hubspot, netsuite = emulators
    calls_before = len(hubspot.emulator.request_log) + len(netsuite.emulator.request_log)
    client.force_login(revops_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/sync-runs/{failed_run.pk}/replay/")
    replay = SyncRun.objects.get(trigger="replay")
    assert response.status_code == 302 and response["Location"] == f"/sync-runs/{replay.pk}/"
    assert replay.status == "queued" and replay.requested_by == revops_user and replay.counts.get("read", 0) == 0
    assert broker == [(tasks.replay_sync_run, (replay.pk, failed_run.pk), {"event_ids": None})]
    assert SyncEvent.objects.get(run=failed_run, kind="failed").replayed_by is None  # nothing ran in the request
    assert len(hubspot.emulator.request_log) + len(netsuite.emulator.request_log) == calls_before  # no vendor read
    page = client.get(response["Location"]).content.decode()
    assert f"sync-run:{replay.pk} queued" in page and 'id="run-status">Queued' in page
    assert 'data-poll="run"' in page  # the page follows the run live

    # The worker carries it out on the run the page shows.
    tasks.replay_sync_run.apply((replay.pk, failed_run.pk), {"event_ids": None}, throw=True)
    replay.refresh_from_db()
    assert replay.status == "succeeded" and replay.counts["read"] == 1
    assert SyncEvent.objects.get(run=failed_run, kind="failed").replayed_by == replay
    assert SyncRun.objects.filter(trigger="replay").count() == 1


def test_only_the_ticked_events_are_replayed(client, revops_user, failed_run, broker,
                                             django_capture_on_commit_callbacks):
    other = SyncEvent.objects.create(run=failed_run, kind="failed", side="crm", external_id="1018", message="held")
    client.force_login(revops_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/sync-runs/{failed_run.pk}/replay/", {"replay": [str(other.pk), "\u00b2", "9" * 40]})
    replay = SyncRun.objects.get(trigger="replay")
    assert broker == [(tasks.replay_sync_run, (replay.pk, failed_run.pk), {"event_ids": [other.pk]})]
