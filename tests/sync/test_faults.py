"""A sync through flaky vendors (5xx, 429 with Retry-After, timeouts) ends exactly where a clean one does."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import Record
from integration_hub.sync import engine, outbox
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncStatus

pytestmark = pytest.mark.django_db
ITEMS = 2000


@pytest.fixture
def fast_retries(settings):
    settings.SYNC_CONNECTOR_OPTIONS = {"timeout": 1, "backoff_base": 0.01, "max_attempts": 12}


def seed_erp_items(erp) -> None:
    items = [{"externalId": f"BULK-{i:05d}", "itemId": f"BULK-{i:05d}", "displayName": f"Bulk item {i}",
              "salesDescription": f"Bulk item {i}", "basePrice": 10 + i % 50, "isInactive": False}
             for i in range(ITEMS)]
    with connector_session(erp) as connector:
        results = connector.upsert_many("inventoryItem", items, "externalId")
    assert all(r.ok for r in results)


def crm_products(hubspot) -> dict[str, tuple]:
    return {p["properties"].get("hs_sku"): (p["properties"].get("name"), p["properties"].get("erp_inactive"))
            for p in hubspot.store.table("products").values() if not p.get("archived")}


def sync_until_settled(item) -> None:
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=item))
    assert run.status == SyncStatus.SUCCEEDED, run.error
    for _ in range(10):  # the dispatcher retries what failed transiently, as beat would every minute
        outbox.dispatch_all()
        if not OutboundChange.objects.exclude(status__in=[OutboundStatus.SENT, OutboundStatus.DEAD]).exists():
            break
        # Let the backoff elapse now rather than waiting minutes.
        OutboundChange.objects.filter(status=OutboundStatus.FAILED).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_2000_record_sync_through_faults_ends_like_a_clean_one(published, emulators, fast_retries):
    hubspot, netsuite = emulators
    item = published["item"]
    ConnectedSystem.objects.update(rollout_stage="two_way")
    seed_erp_items(item.erp_system)

    for emulator in (hubspot, netsuite):
        # 10 % 5xx (and one for certain: a fast sync makes few requests); a rate limit the sync's bursts exceed
        # (429 with Retry-After); occasional timeouts, and two for certain at the start (the client gives up on a
        # request after 1 s, the emulator hangs 1.5 s).
        emulator.set_faults(error_rate=0.1, fail_next=1, fail_status=503, timeout_rate=0.02, hang_seconds=1.5,
                            timeout_next=2, rate_limit={"requests": 2, "per_seconds": 1})
    sync_until_settled(item)
    for emulator in (hubspot, netsuite):
        emulator.set_faults(error_rate=0, timeout_rate=0, rate_limit=None)

    # Every kind of fault really happened (else this test proves nothing about them).
    statuses = {e.emulator.vendor: Counter(status for _, _, status in e.emulator.request_log) for e in emulators}
    assert all(s[500] + s[503] > 0 for s in statuses.values()), statuses
    assert sum(s[429] for s in statuses.values()) > 0, statuses
    assert all(e.emulator.knobs["timeout_next"] == 0 for e in emulators)  # both hung requests were made

    products = crm_products(hubspot)
    assert Record.objects.filter(entity_type="item").count() == ITEMS + 5
    assert not OutboundChange.objects.filter(status=OutboundStatus.DEAD).exists()
    # Every ERP item arrived in the CRM exactly once, with the ERP's name: the same end state as a clean run.
    bulk = {sku: v for sku, v in products.items() if sku and sku.startswith("BULK-")}
    assert len(bulk) == ITEMS
    assert bulk["BULK-00042"] == ("Bulk item 42", "false")
    assert sum(1 for p in hubspot.store.table("products").values()
               if p["properties"].get("hs_sku", "").startswith("BULK-")) == ITEMS  # no duplicates
    # And a second sync has nothing left to write.
    again = engine.sync_run_execute(run=engine.sync_run_create(mapping=item))
    assert again.counts["written"] == 0
