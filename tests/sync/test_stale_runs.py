"""A run whose worker died or lost its database stops beating: the sweep hands it to a new task, once.

The sweep is `engine.sync_runs_resume_stale` (beat runs it every minute through `tasks.resume_stale_runs`); here
its `resume` callback records the task it would queue, and the test then runs that task in-process, as a worker
would."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from connectors.models import ConnectedSystem
from integration_hub.sync import engine, merge_step, tasks
from integration_hub.sync.models import OutboundChange, SyncRun, SyncStatus

pytestmark = pytest.mark.django_db


def stopped_beating(run: SyncRun, *, owner: str, ago: timedelta, status: str = SyncStatus.RUNNING) -> SyncRun:
    """A run as a worker left it: running under its task, last heartbeat `ago`."""
    SyncRun.objects.filter(pk=run.pk).update(status=status, owner=owner, heartbeat_at=timezone.now() - ago,
                                             started_at=timezone.now() - ago)
    run.refresh_from_db()
    return run


def sweep() -> list[tuple[int, str]]:
    queued: list[tuple[int, str]] = []
    engine.sync_runs_resume_stale(resume=lambda run, task_id: queued.append((run.pk, task_id)))
    return queued


def run_task(run: SyncRun, task_id: str) -> None:
    """The task the sweep queued (or any other delivery of one), run as a worker runs it."""
    tasks.sync_mapping.apply(kwargs={"mapping_id": run.mapping_id, "run_id": run.pk}, task_id=task_id, throw=True)


def test_the_sweep_resumes_a_stale_run_exactly_once_and_leaves_a_live_one_alone(published):
    ConnectedSystem.objects.update(rollout_stage="two_way")
    stale = stopped_beating(engine.sync_run_create(mapping=published["item"]), owner="dead-worker",
                            ago=timedelta(minutes=10))
    live = stopped_beating(engine.sync_run_create(mapping=published["account"]), owner="live-worker",
                           ago=timedelta(seconds=5))
    never_started = engine.sync_run_create(mapping=published["contact"])  # its task was lost with the broker
    SyncRun.objects.filter(pk=never_started.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    queued = sweep()
    assert [pk for pk, _ in queued] == [stale.pk, never_started.pk]
    assert sweep() == []  # the next minute's sweep: each was resumed once, not once a minute

    stale.refresh_from_db()
    assert stale.status == SyncStatus.RUNNING and stale.owner == queued[0][1] and stale.resumes == 1
    assert stale.heartbeat_at > timezone.now() - timedelta(seconds=30)
    never_started.refresh_from_db()
    assert never_started.status == SyncStatus.QUEUED and never_started.resumes == 0  # waiting is not dying

    # The live run is untouched, and a second delivery of it (another task id) does not run it twice.
    run_task(live, "a-duplicate-delivery")
    live.refresh_from_db()
    assert (live.status, live.owner, live.resumes, live.processed) == (SyncStatus.RUNNING, "live-worker", 0, 0)

    for pk, task_id in queued:  # a worker takes the queued tasks: both runs finish
        run_task(SyncRun.objects.get(pk=pk), task_id)
    stale.refresh_from_db()
    never_started.refresh_from_db()
    assert stale.status == never_started.status == SyncStatus.SUCCEEDED
    assert stale.counts["read"] == 10 and stale.finished_at is not None

    # The dead worker's own task, redelivered late by the broker, finds the run finished and leaves it so.
    finished = (stale.status, stale.processed, stale.finished_at)
    run_task(stale, "dead-worker")
    stale.refresh_from_db()
    assert (stale.status, stale.processed, stale.finished_at) == finished
    assert sweep() == []


def test_a_worker_thought_dead_stops_at_its_next_page_and_the_resumed_run_writes_everything_once(published,
                                                                                                 monkeypatch):
    """A worker whose heartbeat was late (not dead) finds at its next page that the sweep gave its run to another
    task: it stops without storing that page, and the new task finishes the run."""
    item = published["item"]
    ConnectedSystem.objects.update(rollout_stage="two_way")
    monkeypatch.setattr(merge_step, "MERGE_CHUNK", 2)  # several chunks: the run is taken over between two of them
    run = engine.sync_run_create(mapping=item)
    handed: list[tuple[int, str]] = []

    def late_heartbeat(current: SyncRun) -> None:
        if not handed:
            SyncRun.objects.filter(pk=current.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
            handed.extend(sweep())

    slow = engine.sync_run_execute(run=run, progress=late_heartbeat, owner="slow-worker")
    assert [pk for pk, _ in handed] == [run.pk]
    assert slow.status == SyncStatus.RUNNING and slow.finished_at is None and slow.owner == handed[0][1]

    run_task(slow, handed[0][1])
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED and run.resumes == 1
    per_record = OutboundChange.objects.filter(run=run).values("record", "side").annotate(n=Count("pk"))
    assert per_record and max(row["n"] for row in per_record) == 1  # no write queued twice
    assert run.counts["written"] == OutboundChange.objects.filter(run=run).count()


def test_a_run_that_keeps_dying_or_cannot_be_resumed_is_failed_with_the_reason(published, settings):
    settings.SYNC_STALE_RUN_MAX_RESUMES = 2
    died_often = stopped_beating(engine.sync_run_create(mapping=published["item"]), owner="third-worker",
                                 ago=timedelta(minutes=10))
    SyncRun.objects.filter(pk=died_often.pk).update(resumes=2)
    webhook = engine.sync_run_create(mapping=published["account"], trigger="webhook", targeted=True)
    stopped_beating(webhook, owner="process-x", ago=timedelta(minutes=10))
    waiting_replay = engine.sync_run_create(mapping=published["contact"], trigger="replay", targeted=True)
    SyncRun.objects.filter(pk=waiting_replay.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    assert sweep() == []
    died_often.refresh_from_db()
    webhook.refresh_from_db()
    assert died_often.status == webhook.status == SyncStatus.FAILED
    assert died_often.error.startswith("Stopped 3 times before it finished")
    assert "continues from where it stopped" in died_often.error
    assert webhook.error.startswith("Stopped before it finished: the worker running it was lost")
    waiting_replay.refresh_from_db()
    assert waiting_replay.status == SyncStatus.QUEUED  # its task (which knows what to re-read) is still to come


@pytest.mark.postgres
def test_two_sweeps_at_the_same_moment_resume_a_stale_run_once(published, transactional_db):
    """Two workers run the sweep at once (a slow one overlaps the next minute's): the conditional UPDATE lets one
    of them claim the run; the other waits for its row, then finds it beating again."""
    stale = stopped_beating(engine.sync_run_create(mapping=published["item"]), owner="dead-worker",
                            ago=timedelta(minutes=10))
    claimed, release = threading.Event(), threading.Event()
    results: dict[str, list] = {"first": [], "second": []}

    def first_resume(run, task_id):
        results["first"].append(task_id)
        claimed.set()
        release.wait(10)  # holds its claim (uncommitted) while the second sweep runs

    def in_thread(name, resume):
        try:
            engine.sync_runs_resume_stale(resume=resume)
        finally:
            connection.close()

    first = threading.Thread(target=in_thread, args=("first", first_resume))
    second = threading.Thread(target=in_thread, args=("second", lambda run, task_id: results["second"].append(
        task_id)))
    first.start()
    assert claimed.wait(10)
    second.start()
    second.join(1)  # blocked on the row the first sweep holds
    release.set()
    first.join(10)
    second.join(10)
    assert len(results["first"]) == 1 and results["second"] == []
    stale.refresh_from_db()
    assert stale.resumes == 1 and stale.owner == results["first"][0]


def test_beat_runs_the_sweep_every_minute():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from integration_hub.celery import app

    sweep_task = PeriodicTask.objects.get(name="stale sync runs")
    assert sweep_task.enabled and sweep_task.task == "integration_hub.sync.tasks.resume_stale_runs" in app.tasks
    assert (sweep_task.interval.every, sweep_task.interval.period) == (1, IntervalSchedule.MINUTES)
