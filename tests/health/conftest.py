"""Fixtures for reconciliation and health: both sandboxes synced two-way, as a running integration would be."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from integration_hub.sync import engine, outbox


def sync(mapping):
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping))
    outbox.dispatch_all()
    run.refresh_from_db()
    return run


@pytest.fixture
def synced(published):
    """Accounts synced two-way and settled (the second sync reads its own writes back: nothing to do)."""
    ConnectedSystem.objects.update(rollout_stage="two_way")
    for _ in range(2):
        sync(published["account"])
    return published


def invoice_rules_fixed(published, revops_user, finance_user):
    """The invoice mapping as the template publishes it (NetSuite "Open" is HubSpot "open"; its lines point at
    items), with the items synced first so its invoices can be created in the CRM whole."""
    from integration_hub.sync import engine, outbox
    from mapping.models import VersionStatus

    invoice = published["invoice"]
    assert invoice.published_version.status == VersionStatus.PUBLISHED
    for entity in ("item", "account"):
        engine.sync_run_execute(run=engine.sync_run_create(mapping=published[entity]))
    outbox.dispatch_all_until_empty()
    return invoice
