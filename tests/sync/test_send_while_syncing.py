"""A sync run by the worker has its queued writes sent while it is still running, not only after it."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from integration_hub.records.models import RecordLink
from integration_hub.sync import tasks
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncRun, SyncStatus

# Committed for real (no test transaction): a dispatch asked for while the run goes on runs at once.
pytestmark = pytest.mark.django_db(transaction=True)


def test_writes_go_out_while_the_sync_that_queued_them_runs(published, monkeypatch):
    item = published["item"]
    ConnectedSystem.objects.update(rollout_stage="two_way")
    seen = []

    def dispatch_now():  # the worker's other process taking the dispatch task
        status = SyncRun.objects.get(mapping=item).status
        seen.append((status, tasks.dispatch_outbox.apply(throw=True).result["sent"]))

    monkeypatch.setattr(tasks.dispatch_outbox, "delay", dispatch_now)
    tasks.sync_mapping.apply(kwargs={"mapping_id": item.pk}, throw=True)

    assert seen[0][0] == SyncStatus.RUNNING and seen[0][1] > 0, seen  # sent before the run had finished
    assert SyncRun.objects.get(mapping=item).status == SyncStatus.SUCCEEDED
    assert not OutboundChange.objects.exclude(status=OutboundStatus.SENT).exists()
    assert RecordLink.objects.filter(entity_type="item").count() == 10  # every item linked on both sides
