"""A run whose writes the outbox gave up on (dead letters) says so: never "Succeeded", on its page, in the list,
in the API, with each failed write and the system's last error."""
from __future__ import annotations

import pytest
from django.utils.html import escape
from rest_framework.authtoken.models import Token

from connectors.models import ConnectedSystem
from integration_hub.sync import engine, merge_step, outbox
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncRun, SyncStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(published):
    ConnectedSystem.objects.update(rollout_stage="two_way")
    return published["contact"]


def test_a_run_whose_writes_were_dead_lettered_after_it_ended_shows_them(client, viewer_user, contact, emulators):
    _, netsuite = emulators
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=contact))
    assert run.status == SyncStatus.SUCCEEDED and run.counts["written"] >= 1
    netsuite.set_faults(fail_next=50, fail_status=400)  # the ERP refuses the writes: permanent, dead at once
    result = outbox.dispatch_all()
    assert result.dead >= 1
    dead = list(OutboundChange.objects.filter(run=run, status=OutboundStatus.DEAD).select_related("record"))
    assert dead and all(write.last_error for write in dead)

    run.refresh_from_db()
    assert run.status == SyncStatus.WRITES_FAILED and run.dead_writes == len(dead) == result.dead

    client.force_login(viewer_user)
    page = client.get(f"/sync-runs/{run.pk}/").content.decode()
    assert '<span id="run-status">Completed with failed writes</span>' in page
    assert "Succeeded" not in page
    assert f"{len(dead)} write{'s' if len(dead) > 1 else ''} given up on" in page
    assert 'id="dead-writes"' in page
    for write in dead:  # each failed write: its record and the system's last error
        assert f'href="/records/{write.record_id}/"' in page and escape(write.last_error) in page
    listing = client.get("/sync-runs/").content.decode()
    assert "Completed with failed writes" in listing and f"failed writes {len(dead)}" in listing
    assert client.get(f"/sync-runs/{run.pk}/progress/").json()["dead_writes"] == len(dead)

    api = client.get(f"/api/v1/sync-runs/{run.pk}/",
                     HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=viewer_user).key}").json()
    assert api["status"] == "writes_failed"
    filtered = client.get("/api/v1/sync-runs/?status=writes_failed",
                          HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=viewer_user).key}").json()
    assert [row["id"] for row in filtered["results"]] == [run.pk]


def test_a_write_dead_lettered_while_its_run_still_runs_keeps_the_run_from_succeeding(contact, emulators,
                                                                                      monkeypatch):
    """A worker's sync has its writes sent while it runs: one refused meanwhile is counted on the run, and the
    run's own end does not overwrite that with "succeeded"."""
    _, netsuite = emulators
    monkeypatch.setattr(merge_step, "MERGE_CHUNK", 2)  # writes are queued chunk by chunk, sent between chunks
    seen = []

    def send_meanwhile(run: SyncRun) -> None:
        if not run.counts["written"]:
            return  # still reading: the ERP answers reads
        if not seen:
            netsuite.set_faults(fail_next=50, fail_status=400)  # then refuses the writes: dead at once
        outbox.dispatch_all()
        seen.append(SyncRun.objects.values_list("status", "dead_writes").get(pk=run.pk))

    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=contact), progress=send_meanwhile)
    assert any(status == SyncStatus.RUNNING and dead for status, dead in seen), seen  # died before the run ended
    assert run.status == SyncStatus.WRITES_FAILED
    assert run.dead_writes == OutboundChange.objects.filter(run=run, status=OutboundStatus.DEAD).count() >= 1
    run.refresh_from_db()
    assert run.status == SyncStatus.WRITES_FAILED


def test_a_run_with_held_records_and_dead_writes_stays_completed_with_errors_and_counts_them(contact, emulators):
    _, netsuite = emulators
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=contact))
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.COMPLETED_WITH_ERRORS)
    netsuite.set_faults(fail_next=50, fail_status=400)
    outbox.dispatch_all()
    run.refresh_from_db()
    assert run.status == SyncStatus.COMPLETED_WITH_ERRORS and run.dead_writes >= 1


def test_the_sync_command_exits_with_an_error_when_its_writes_were_given_up_on(contact, emulators):
    from io import StringIO

    from django.core.management import CommandError, call_command

    _, netsuite = emulators
    netsuite.set_faults(required_fields={"contact": ["custentity_badge"]})  # every contact write refused
    out = StringIO()
    with pytest.raises(CommandError, match=r"of the run's writes were given up on \(dead letters\)"):
        call_command("sync", "contact", stdout=out)
    assert "Completed with failed writes" in out.getvalue()
