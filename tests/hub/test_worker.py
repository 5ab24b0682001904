"""A real Celery worker process, on Redis, writes to PostgreSQL with its own actor in history."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from integration_hub import services, tasks
from integration_hub.models import Record

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_queue(transactional_db):
    """Start `celery worker` as a separate process on a private queue; stop it afterwards."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "integration_hub", "worker", "--pool", "solo",
         "--queues", queue, "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    log: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        log.append(line)
        if " ready." in line:
            break
    else:
        process.kill()
        pytest.fail("Celery worker did not start:\n" + "".join(log))
    if process.poll() is not None:
        pytest.fail("Celery worker exited:\n" + "".join(log))
    yield queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    connection.close()


def test_a_real_worker_applies_a_task_and_history_names_its_actor(worker_queue):
    record = services.record_create(entity_type="account", values={"name": "Acme Inc", "city": "Leeds"})
    async_result = tasks.record_apply_values.apply_async(
        args=(record.pk, {"city": "York"}, "sync-run:42", "shipping address from the CRM", "crm", 42),
        queue=worker_queue,
    )
    assert async_result.get(timeout=60) == ["city"]

    record = Record.objects.get(pk=record.pk)  # read back from PostgreSQL
    assert record.values["city"] == "York"
    assert record.provenance["city"]["sync_run"] == 42
    latest = record.history.latest()
    assert latest.history_actor == "sync-run:42"
    assert latest.history_change_reason == "shipping address from the CRM"
    assert connection.vendor == "postgresql"
