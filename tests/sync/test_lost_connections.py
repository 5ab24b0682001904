"""A real Celery worker (tests/workers.py) loses its database connection, or dies, in the middle of a sync.

1. PostgreSQL cuts the worker's connections (as a restart or a failover does): the task hits OperationalError, is
   retried with backoff, resumes the same run and finishes it; every ERP customer arrives in the CRM once.
2. `kill -9` of the worker: Redis would hand its task to another worker only after the visibility timeout (longer
   than the tasks' hard time limit, so 35 minutes); the stale-run sweep resumes the run as soon as its heartbeat
   is older than SYNC_STALE_RUN_SECONDS (3 s here, 3 minutes by default).
"""
from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from django.db import connection

from integration_hub.records.models import Record
from integration_hub.sync import engine, tasks
from integration_hub.sync.models import SyncRun, SyncStatus
from tests.sync import test_kill_worker
from tests.sync.test_kill_worker import crm_companies, seed_customers, unsent, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

# The kill test's fixtures: emulators holding only the test's records, the account mapping creating CRM companies.
emulators, accounts = test_kill_worker.emulators, test_kill_worker.accounts

RECORDS = 3000  # three pages of ERP customers: the connection is lost after the first is stored


def send_outbox(celery_workers) -> None:
    """What beat's every-minute dispatch does, one after the other until every write is sent."""
    for _ in range(20):
        if not unsent():
            return
        tasks.dispatch_outbox.apply_async(queue=celery_workers.queue).get(timeout=120)


def assert_every_customer_arrived_once(hubspot, prefix: str) -> None:
    numbers = Counter(c.get("erp_customer_number") for c in crm_companies(hubspot))
    arrived = {n: k for n, k in numbers.items() if n and n.startswith(prefix)}
    assert len(arrived) == RECORDS, f"{RECORDS - len(arrived)} of {RECORDS} customers never arrived in the CRM"
    assert [n for n, k in arrived.items() if k > 1] == [], "customers written twice to the CRM"
    assert Record.objects.filter(entity_type="account", values__customer_number__startswith=prefix).count() == RECORDS


def cut_connections(application_name: str) -> int:
    """Terminate the server side of every connection the worker opened (and only those): what the worker sees
    when PostgreSQL restarts or fails over."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                       [application_name])
        return sum(1 for (ended,) in cursor.fetchall() if ended)


@pytest.mark.timeout(300)
def test_a_sync_whose_database_connection_is_lost_is_retried_and_finishes(accounts, emulators, celery_workers):
    hubspot, netsuite = emulators
    seed_customers(netsuite, RECORDS, prefix="L-")
    name = f"hub-worker-{uuid.uuid4().hex[:8]}"
    celery_workers.env["DATABASE_URL"] += f"?application_name={name}"
    netsuite.set_faults(latency_ms=300)  # each page waits on the ERP a little: the cut lands mid-pull
    run = engine.sync_run_create(mapping=accounts)
    celery_workers.start()
    task = tasks.sync_mapping.apply_async(kwargs={"mapping_id": accounts.pk, "run_id": run.pk},
                                          queue=celery_workers.queue)

    wait_for(lambda: SyncRun.objects.get(pk=run.pk).processed >= 1000, "the first page to be stored", celery_workers)
    assert cut_connections(name) >= 1
    assert SyncRun.objects.get(pk=run.pk).processed < RECORDS, "the cut should land in the middle of the pull"

    assert task.get(timeout=180) == run.pk  # the same task, retried
    netsuite.set_faults(latency_ms=0)
    send_outbox(celery_workers)
    log = celery_workers.logs()
    assert "retry: Retry in" in log and "OperationalError" in log, log

    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED, (run.status, run.error)
    assert run.resumes == 0 and run.finished_at is not None  # the retry resumed it, not the sweep
    assert SyncRun.objects.filter(mapping=accounts).count() == 1  # no second run was made for it
    assert_every_customer_arrived_once(hubspot, "L-")


@pytest.mark.timeout(300)
def test_a_killed_workers_run_is_resumed_by_the_sweep_within_seconds(accounts, emulators, celery_workers):
    hubspot, netsuite = emulators
    seed_customers(netsuite, RECORDS, prefix="Z-")
    celery_workers.env["SYNC_STALE_RUN_SECONDS"] = "3"  # and the default visibility timeout: 35 minutes
    netsuite.set_faults(latency_ms=300)
    run = engine.sync_run_create(mapping=accounts)
    worker = celery_workers.start()
    tasks.sync_mapping.apply_async(kwargs={"mapping_id": accounts.pk, "run_id": run.pk}, queue=celery_workers.queue)

    wait_for(lambda: SyncRun.objects.get(pk=run.pk).processed >= 1000, "the first page to be stored", celery_workers)
    worker.kill()
    killed_at = time.monotonic()
    killed = SyncRun.objects.get(pk=run.pk)
    assert killed.status == SyncStatus.RUNNING and killed.processed < RECORDS
    celery_workers.start()

    # Beat's every-minute sweep, sent now: nothing to resume while the heartbeat is fresh, then the run, once.
    def sweep() -> list[int]:
        return tasks.resume_stale_runs.apply_async(queue=celery_workers.queue).get(timeout=60)

    first = sweep()
    time.sleep(max(0.0, killed_at + 3.5 - time.monotonic()))
    assert first + sweep() == [run.pk]
    assert sweep() == []
    wait_for(lambda: SyncRun.objects.get(pk=run.pk).finished_at is not None, "the resumed run to finish",
             celery_workers, timeout=120, every=0.2)
    assert time.monotonic() - killed_at < 90  # minutes at most in production, not the visibility timeout
    netsuite.set_faults(latency_ms=0)
    send_outbox(celery_workers)

    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED and run.resumes == 1, (run.status, run.error)
    assert SyncRun.objects.filter(mapping=accounts).count() == 1
    assert_every_customer_arrived_once(hubspot, "Z-")
