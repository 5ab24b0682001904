"""`kill -9` a real Celery worker in the middle of a 5,000-record sync, start a new one: nothing lost, nothing twice.

The workers are real `celery worker` processes on Redis and PostgreSQL (tests/workers.py); the emulators run in
this process on localhost ports. Redis hands a task a dead worker held to the next worker once its visibility
timeout passed (CELERY_VISIBILITY_TIMEOUT, seconds here instead of an hour). The test kills:

1. while the ERP's customers are being read (the run's `processed` is partway),
2. while the records are being merged (outbox rows are being queued),
3. while the outbox is being sent to the CRM,

and after each kill starts a fresh worker. At the end every ERP customer is exactly one CRM company, the run that
was killed three times finished, and its counts match what is in the hub, the outbox and the CRM.
"""
from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F

from connectors.models import ConnectedSystem
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine, outbox, tasks
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncRun, SyncStatus, SyncTrigger

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

RECORDS = 5000
VISIBILITY_TIMEOUT = 3  # seconds before Redis hands a dead worker's task to another worker
PREFIX = "K-"
# Grace period after which the outbox resends a write a dead worker was sending (minutes in production).
STALE_SENDING = getattr(outbox, "STALE_SENDING", timedelta(hours=1))


@pytest.fixture
def emulators():
    """Both emulators holding only the test's own records (the demo data's one-off fixes stay out of the counts)."""
    from connectors.sandbox import start_emulator

    hubspot, netsuite = start_emulator("hubspot"), start_emulator("netsuite")
    yield hubspot, netsuite
    hubspot.stop()
    netsuite.stop()


@pytest.fixture
def accounts(published):
    """The account mapping, creating a golden record and a CRM company from every ERP customer (as bench/sync.py)."""
    account = published["account"]
    account.erp_creates = "always"
    account.save()
    ConnectedSystem.objects.update(rollout_stage="two_way")
    return account


def seed_customers(netsuite, count: int, prefix: str = PREFIX) -> None:
    """ERP customers modified one per second over the last hours, as a live ERP's would be. (Had they all been
    modified in the same second, a resumed pull would read them all again: NetSuite cursors are whole seconds.)"""
    now = datetime.now(UTC).replace(microsecond=0)
    with netsuite.store.lock:
        for i in range(count):
            netsuite.emulator.put_seed("customer", {
                "externalId": f"{prefix}{i:05d}", "entityId": f"{prefix}{i:05d}", "companyName": f"Killtest {i}",
                "phone": f"+1 217 555 {i % 10000:04d}", "terms": "Net 30", "currency": "USD",
                "creditLimit": 1000 * (i % 50), "category": "Retail", "entityStatus": "CUSTOMER-Closed Won",
                "isInactive": False,
            }, modified=(now - timedelta(seconds=60 + count - i)).isoformat().replace("+00:00", "Z"))


def crm_companies(hubspot) -> list[dict]:
    """The CRM's live companies, read from the emulator's store (what a HubSpot user would see)."""
    with hubspot.store.lock:
        return [dict(c["properties"]) for c in hubspot.store.table("companies").values() if not c.get("archived")]


def erp_customers(netsuite) -> list[dict]:
    with netsuite.store.lock:
        return [dict(c) for c in netsuite.store.table("customer").values()]


def wait_for(condition: Callable[[], bool], what: str, workers, timeout: float = 300, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{workers.logs()}")
        time.sleep(every)


def run_state(run_id: int) -> SyncRun:
    return SyncRun.objects.get(pk=run_id)


def unsent() -> int:
    return OutboundChange.objects.exclude(status__in=[OutboundStatus.SENT, OutboundStatus.DEAD]).count()


def restart_after_redelivery(workers, delivered_by: float):
    """Start a fresh worker once Redis may hand it the dead worker's task (taken no later than `delivered_by`)."""
    time.sleep(max(0.0, delivered_by + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
    return workers.start()


@pytest.mark.timeout(900)
def test_kill_9_during_pull_merge_and_dispatch_every_record_arrives_exactly_once(accounts, emulators,
                                                                                 celery_workers):
    hubspot, netsuite = emulators
    seed_customers(netsuite, RECORDS)
    customers_before = len(erp_customers(netsuite))
    companies_before = len(crm_companies(hubspot))
    celery_workers.env["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY_TIMEOUT)
    # A little latency per API call keeps each phase long enough to be killed in, however fast the engine gets.
    for emulator in emulators:
        emulator.set_faults(latency_ms=20 if emulator is hubspot else 1)

    # "Sync now": the run is created, and a worker runs it (with its id) and then sends the outbox.
    run = engine.sync_run_create(mapping=accounts, trigger=SyncTrigger.MANUAL)
    worker = celery_workers.start()
    task = tasks.sync_mapping.apply_async(args=(accounts.pk,), kwargs={"run_id": run.pk}, queue=celery_workers.queue)

    # 1. Killed while reading the ERP's customers.
    wait_for(lambda: run_state(run.pk).processed >= 1500, "the pull to be partway", celery_workers)
    taken = time.monotonic()
    worker.kill()
    killed = run_state(run.pk)
    assert killed.status == SyncStatus.RUNNING and killed.finished_at is None
    assert 1500 <= killed.processed < RECORDS, "the kill should land in the middle of the pull"
    assert not OutboundChange.objects.exists()

    # 2. Killed again while the records are merged and their writes queued.
    worker = restart_after_redelivery(celery_workers, taken)
    wait_for(lambda: OutboundChange.objects.filter(run=run).exists() or run_state(run.pk).finished_at is not None,
             "the merge to start", celery_workers)
    taken = time.monotonic()
    killed_in_merge = run_state(run.pk).finished_at is None
    worker.kill()
    if killed_in_merge:
        assert OutboundChange.objects.filter(run=run).count() < RECORDS

    # 3. Killed while the outbox is being sent to the CRM.
    worker = restart_after_redelivery(celery_workers, taken)
    wait_for(lambda: OutboundChange.objects.filter(status=OutboundStatus.SENT).count() >= 150,
             "the outbox to be partly sent", celery_workers)
    taken = time.monotonic()
    worker.kill()
    sending = OutboundChange.objects.filter(status=OutboundStatus.SENDING).count()
    assert sending > 0, "the kill should land in the middle of sending (writes taken, their results not recorded)"

    # A write the dead worker was sending is resent after a grace period: let it elapse now rather than wait.
    OutboundChange.objects.filter(status=OutboundStatus.SENDING).update(
        next_attempt_at=F("next_attempt_at") - STALE_SENDING - timedelta(seconds=1))
    worker = restart_after_redelivery(celery_workers, taken)
    assert task.get(timeout=300) == run.pk  # the sync task itself completed (on the third worker)
    for _ in range(20):  # beat queues the dispatcher every minute; here, one after the other until all is sent
        if not unsent():
            break
        tasks.dispatch_outbox.apply_async(queue=celery_workers.queue).get(timeout=300)
    for emulator in emulators:
        emulator.set_faults(latency_ms=0)

    # Every ERP customer arrived in the CRM exactly once: no duplicates, none missing.
    numbers = Counter(c.get("erp_customer_number") for c in crm_companies(hubspot))
    bulk = {n: k for n, k in numbers.items() if n and n.startswith(PREFIX)}
    assert len(bulk) == RECORDS, f"{RECORDS - len(bulk)} customers missing in the CRM"
    assert [n for n, k in bulk.items() if k > 1] == [], "customers written twice to the CRM"
    names = {c["erp_customer_number"]: c.get("name") for c in crm_companies(hubspot)
             if (c.get("erp_customer_number") or "").startswith(PREFIX)}
    assert names[f"{PREFIX}00042"] == "Killtest 42" and names[f"{PREFIX}04999"] == "Killtest 4999"

    # ... and exactly one golden record each, linked on both sides.
    golden = Record.objects.filter(entity_type="account", values__customer_number__startswith=PREFIX)
    assert golden.count() == RECORDS
    for system in (accounts.crm_system, accounts.erp_system):
        assert RecordLink.objects.filter(record__in=golden, system=system).count() == RECORDS

    # The run that was killed three times finished (no run is left "running"), nothing is left to merge.
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED, (run.status, run.error)
    assert run.finished_at is not None and not RecordLink.objects.filter(needs_merge=True).exists()
    assert not SyncRun.objects.filter(mapping=accounts, status=SyncStatus.RUNNING).exists()
    if not killed_in_merge:
        warnings.warn("the run merged every record before the test could kill it mid-merge", stacklevel=1)

    # And the hub never echoes its own writes: the next sync reads the CRM's new companies and writes nothing.
    again = engine.sync_run_execute(run=engine.sync_run_create(mapping=accounts))
    assert again.status == SyncStatus.SUCCEEDED and again.counts["written"] == 0
    assert not OutboundChange.objects.filter(run=again).exists()

    # The run that was killed three times finished, and its counts add up: what the run page says it did is
    # what the hub, the outbox and the CRM hold. (Read counts re-reads: a resumed pull starts again at its
    # cursor's modification time, so it can read a record twice, never zero times.)
    run.refresh_from_db()
    assert run.counts["read"] == run.processed >= customers_before + companies_before
    assert run.counts["created"] == Record.objects.filter(entity_type="account").count()
    assert run.counts["failed"] == 0
    queued = OutboundChange.objects.filter(run=run)
    assert queued.filter(status=OutboundStatus.SENT).count() == queued.count()  # every queued write was sent
    creates = queued.filter(side="crm", link__isnull=True)
    assert creates.count() == creates.values("record").distinct().count() >= RECORDS  # one create per record
    assert run.counts["written"] == queued.count(), "writes queued by the run but missing from its counts"


SCHEDULED = 3000  # pages of 1,000: the kill lands after the first page is stored, before the last


@pytest.mark.timeout(600)
def test_a_scheduled_sync_killed_mid_pull_is_finished_by_the_redelivered_task(accounts, emulators, celery_workers):
    """What beat sends is the mapping's id only (no run yet): the task redelivered after a kill must still
    finish the sync, not leave the killed run "running" and its records unsynced until the lock expires."""
    hubspot, netsuite = emulators
    seed_customers(netsuite, SCHEDULED, prefix="S-")
    celery_workers.env["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY_TIMEOUT)
    worker = celery_workers.start()
    task = tasks.sync_mapping.apply_async(kwargs={"mapping_id": accounts.pk}, queue=celery_workers.queue)

    def processed() -> int:
        return sum(SyncRun.objects.filter(mapping=accounts).values_list("processed", flat=True))

    wait_for(lambda: processed() >= 300, "the scheduled run's pull to be partway", celery_workers)
    taken = time.monotonic()
    worker.kill()
    [killed] = SyncRun.objects.filter(mapping=accounts)
    assert killed.status == SyncStatus.RUNNING and killed.processed < SCHEDULED

    restart_after_redelivery(celery_workers, taken)
    task.get(timeout=300)  # the redelivered task ran to its end
    for _ in range(5):
        if not unsent():
            break
        tasks.dispatch_outbox.apply_async(queue=celery_workers.queue).get(timeout=300)

    numbers = Counter(c.get("erp_customer_number") for c in crm_companies(hubspot))
    arrived = {n: k for n, k in numbers.items() if n and n.startswith("S-")}
    runs = list(SyncRun.objects.filter(mapping=accounts).order_by("pk").values_list("pk", "status", "processed"))
    assert len(arrived) == SCHEDULED, f"{SCHEDULED - len(arrived)} of {SCHEDULED} customers never arrived; runs {runs}"
    assert max(arrived.values()) == 1
    assert not SyncRun.objects.filter(mapping=accounts, status=SyncStatus.RUNNING).exists(), runs
