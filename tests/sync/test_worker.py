"""A real Celery worker process, on Redis, syncs into PostgreSQL with its own run as the actor in history."""
from __future__ import annotations

import pytest
from django.db import connection

from integration_hub.records.models import Record
from integration_hub.sync import tasks
from integration_hub.sync.models import SyncRun, SyncStatus

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def test_a_real_worker_syncs_and_history_names_the_run(celery_workers, published):
    celery_workers.start()
    item = published["item"]
    async_result = tasks.sync_mapping.apply_async(args=(item.pk,), queue=celery_workers.queue)
    run_id = async_result.get(timeout=60)

    run = SyncRun.objects.get(pk=run_id)  # read back from PostgreSQL
    assert run.status == SyncStatus.SUCCEEDED, run.error
    record = Record.objects.get(entity_type="item", values__sku="WID-100")
    assert record.provenance["name"]["sync_run"] == run_id
    latest = record.history.latest()
    assert latest.history_actor == f"sync-run:{run_id}"
    assert latest.history_change_reason  # the sync says why (e.g. "new in NetSuite")
    assert latest.history_user is None
    assert connection.vendor == "postgresql"
