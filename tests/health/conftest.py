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
    """The invoice mapping with its status mapped both ways (NetSuite "Open" is HubSpot "open"), published."""
    from mapping import services
    from mapping.models import VersionStatus

    invoice = published["invoice"]
    draft = services.version_create_draft(mapping=invoice, user=revops_user)
    status = draft.rules.get(field="status")
    status.erp_transforms = [{"name": "picklist", "params": {"map": {"Open": "open", "Paid In Full": "paid"},
                                                             "unknown": "reject"}}]
    status.save()
    services.version_sign_off(version=draft, user=finance_user)
    services.version_publish(version=draft, user=revops_user)
    invoice.refresh_from_db()
    assert invoice.published_version.status == VersionStatus.PUBLISHED
    return invoice
