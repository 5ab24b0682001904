"""Real Celery worker processes, on Redis, syncing into PostgreSQL: a bad value holds its field and never its record,
nothing is erased in the other system, and a deal won by a company the ERP does not know makes exactly one
customer and one order at the deal's negotiated prices, however often the sync runs."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import Record
from integration_hub.sync import engine, outbox, tasks
from integration_hub.sync.models import HeldField, OutboundChange, OutboundStatus, SyncRun, SyncStatus

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def on_worker(workers, mapping) -> SyncRun:
    """A sync of the mapping carried out by a worker process, then its writes sent."""
    run_id = tasks.sync_mapping.apply_async(args=(mapping.pk,), queue=workers.queue).get(timeout=120)
    outbox.dispatch_all_until_empty()
    return SyncRun.objects.get(pk=run_id)


def edit(system, vendor_object: str, external_id: str, fields: dict) -> None:
    with connector_session(system) as connector:
        [result] = connector.upsert_many(vendor_object, [{"id": external_id, **fields}], None)
    assert result.ok, result.error


def test_a_real_worker_holds_a_blank_last_name_in_its_field_and_erases_nothing(celery_workers, published, emulators):
    celery_workers.start()
    _, netsuite = emulators
    ConnectedSystem.objects.update(rollout_stage="two_way")
    contact = published["contact"]
    on_worker(celery_workers, published["account"])
    edit(contact.crm_system, "contacts", "1011", {"lastname": "", "jobtitle": "Chief of Security"})
    run = on_worker(celery_workers, contact)
    assert run.status == SyncStatus.SUCCEEDED and run.counts["held"] == 1, (run.status, run.counts)
    hank = Record.objects.get(entity_type="contact", values__email="hank@globex.example")
    assert hank.values["last_name"] == "Scorpio" and hank.values["job_title"] == "Chief of Security"
    assert HeldField.objects.get(record=hank, cleared_at__isnull=True).field == "last_name"
    with netsuite.store.lock:
        ns = next(dict(c) for c in netsuite.store.table("contact").values() if c.get("email") == "hank@globex.example")
    assert ns["lastName"] == "Scorpio" and ns["title"] == "Chief of Security" and ns.get("company")
    assert not OutboundChange.objects.filter(status=OutboundStatus.DEAD).exists()


def test_a_real_worker_makes_a_won_deals_customer_then_one_order(celery_workers, published, emulators):
    celery_workers.start()
    hubspot, netsuite = emulators
    ConnectedSystem.objects.update(rollout_stage="two_way")
    for entity in ("item", "price", "account"):
        on_worker(celery_workers, published[entity])
    deal = published["deal"]
    runs = [on_worker(celery_workers, deal) for _ in range(2)]  # the second finds everything made already
    assert all(run.status == SyncStatus.SUCCEEDED for run in runs), [(r.status, r.error) for r in runs]
    wayne = Record.objects.get(entity_type="deal", values__name="Wayne spare parts")
    with netsuite.store.lock:
        customers = [key for key, c in netsuite.store.table("customer").items()
                     if c.get("companyName") == "Wayne Retail Group"]
        orders = [o for o in netsuite.store.table("salesOrder").values() if o.get("externalId") == f"hub-{wayne.pk}"]
    assert len(customers) == 1 and len(orders) == 1
    [order] = orders
    assert order["entity"] == customers[0] and order["total"] == 1259.0
    assert [(line["quantity"], line["rate"]) for line in order["item"]] == [(100, 7.25), (6, 89)]
    assert SyncRun.objects.filter(mapping=published["account"], trigger="chain").count() == 1
    engine.sync_run_execute(run=engine.sync_run_create(mapping=deal))  # and once more in this process
    outbox.dispatch_all_until_empty()
    with netsuite.store.lock:
        assert sum(c.get("companyName") == "Wayne Retail Group" for c in netsuite.store.table("customer").values()) == 1
