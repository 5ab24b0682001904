"""A real Celery worker process, on Redis, writes to PostgreSQL with its own actor in history."""
from __future__ import annotations

import pytest
from django.db import connection

from integration_hub import services, tasks
from integration_hub.models import Record

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def test_a_real_worker_applies_a_task_and_history_names_its_actor(celery_workers):
    celery_workers.start()
    record = services.record_create(entity_type="account", values={"name": "Acme Inc", "city": "Leeds"})
    async_result = tasks.record_apply_values.apply_async(
        args=(record.pk, {"city": "York"}, "sync-run:42", "shipping address from the CRM", "crm", 42),
        queue=celery_workers.queue,
    )
    assert async_result.get(timeout=60) == ["city"]

    record = Record.objects.get(pk=record.pk)  # read back from PostgreSQL
    assert record.values["city"] == "York"
    assert record.provenance["city"]["sync_run"] == 42
    latest = record.history.latest()
    assert latest.history_actor == "sync-run:42"
    assert latest.history_change_reason == "shipping address from the CRM"
    assert connection.vendor == "postgresql"
