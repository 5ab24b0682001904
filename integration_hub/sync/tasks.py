"""Celery entry points for the hub core: thin, load by id, call a service."""
from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import transaction

from connectors.models import ConnectedSystem, WebhookDelivery
from connectors.services import connector_for
from integration_hub.kernel.task_policy import RETRY_POLICY
from integration_hub.sync import engine, outbox
from integration_hub.sync.models import SyncRun
from mapping.models import ObjectMapping


@shared_task(bind=True, **RETRY_POLICY)
def sync_mapping(self, mapping_id: int, trigger: str = "schedule", mode: str = "live", full: bool = False,
                 run_id: int | None = None) -> int:
    """Run one sync of a mapping (a beat schedule, a webhook, "Sync now"), then send its outbox.

    A task redelivered after its worker died resumes the same run (found by the task's id), which takes its
    own lock back: a new run would only find the dead run's lock and coalesce into nothing. A task retried
    after a lost connection carries its run's id; one the stale-run sweep queued is given it. A delivery of a
    run that finished, or that a live worker runs, changes nothing (run_lifecycle._claim)."""
    task_id = self.request.id or ""
    if run_id is not None:
        run = SyncRun.objects.get(pk=run_id)
    elif task_id and (earlier := SyncRun.objects.filter(task_id=task_id).first()) is not None:
        run = earlier
    else:
        run = engine.sync_run_create(mapping=ObjectMapping.objects.get(pk=mapping_id), trigger=trigger, mode=mode,
                                     full=full, task_id=task_id)
    if isinstance(self.request.kwargs, dict):
        self.request.kwargs["run_id"] = run.pk  # what a retry is sent with (Task.retry reuses the request's kwargs)
    engine.sync_run_execute(run=run, progress=send_while_syncing, owner=task_id or None)
    transaction.on_commit(dispatch_outbox.delay)
    return run.pk


@shared_task(**RETRY_POLICY)
def resume_stale_runs() -> list[int]:
    """Every minute: resume the syncs whose worker died or lost its database (no heartbeat for
    SYNC_STALE_RUN_SECONDS), each once, in a task of its own."""
    def resume(run, task_id: str) -> None:
        sync_mapping.apply_async(kwargs={"mapping_id": run.mapping_id, "trigger": run.trigger, "mode": run.mode,
                                         "full": run.full, "run_id": run.pk}, task_id=task_id)

    return engine.sync_runs_resume_stale(resume=resume)


@shared_task(bind=True, **RETRY_POLICY)
def replay_sync_run(self, replay_id: int, run_id: int, event_ids: list[int] | None = None) -> int:
    """Carry out a replay the run page queued (its run recorded already): re-read the run's failed records (all,
    or the ticked events), merge, queue the writes, then send them."""
    replay = SyncRun.objects.get(pk=replay_id)
    engine.sync_run_replay(run=SyncRun.objects.get(pk=run_id), event_ids=event_ids, replay=replay,
                           owner=self.request.id or None)
    transaction.on_commit(dispatch_outbox.delay)
    return replay.pk


@shared_task(bind=True, **RETRY_POLICY)
def sync_records(self, run_id: int, ids: dict[str, list[str]]) -> int:
    """Carry out a targeted sync a page queued (its run recorded already; a replay of held fields): re-read the
    named vendor records by side, merge, queue the writes, then send them."""
    run = SyncRun.objects.select_related("mapping").get(pk=run_id)
    engine.sync_run_for_ids(mapping=run.mapping, ids=ids, run=run, owner=self.request.id or None)
    transaction.on_commit(dispatch_outbox.delay)
    return run.pk


SEND_WHILE_SYNCING_SECONDS = 2


def send_while_syncing(run) -> None:
    """A running sync's progress: writes it has queued (committed with each page or chunk) go out meanwhile,
    in another worker process, instead of after the whole run. At most one dispatch is asked for every few
    seconds; two dispatchers never send the same write (outbox._claim)."""
    # A throttle, not a lock: were two processes to ask at once, the outbox's claim still sends each write once.
    if run.counts.get("written") and cache.add("outbox:send-while-syncing", run.pk, SEND_WHILE_SYNCING_SECONDS):
        transaction.on_commit(dispatch_outbox.delay)


DISPATCH_BUDGET_SECONDS = 10 * 60  # then the next scheduled dispatch (every minute) goes on


@shared_task(**RETRY_POLICY)
def dispatch_outbox() -> dict:
    """Send every system's due writes (also runs every minute, to retry what failed)."""
    result = outbox.dispatch_all_until_empty(budget_seconds=DISPATCH_BUDGET_SECONDS)
    return {"sent": result.sent, "retrying": result.retrying, "dead": result.dead}


WEBHOOK_DEBOUNCE_SECONDS = 5


@shared_task(**RETRY_POLICY)
def process_webhooks(system_id: int) -> list[int]:
    """Targeted syncs for the records a system's pending webhooks named (debounced: the first task after a
    burst takes every pending delivery; the others find none)."""
    system = ConnectedSystem.objects.get(pk=system_id)
    with transaction.atomic():
        deliveries = list(WebhookDelivery.objects.select_for_update().filter(
            system=system, status=WebhookDelivery.Status.PENDING))
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            status=WebhookDelivery.Status.PROCESSED)
    connector = connector_for(system)
    try:
        named: dict[str, set[str]] = {}
        for delivery in deliveries:
            for vendor_object, external_id in connector.webhook_records(delivery.payload):
                named.setdefault(vendor_object.lower(), set()).add(external_id)
    finally:
        connector.close()
    side = system.role
    runs = []
    for mapping in ObjectMapping.objects.filter(**{f"{side}_system": system}, is_enabled=True,
                                                published_version__isnull=False):
        ids = named.get(getattr(mapping, f"{side}_object").lower())
        if ids:
            runs.append(engine.sync_run_for_ids(mapping=mapping, ids={side: sorted(ids)}).pk)
    if runs:
        transaction.on_commit(dispatch_outbox.delay)
    return runs
