"""PostgreSQL crashes (`pg_ctl stop -m immediate`) in the middle of a sync on a real worker, then comes back.

The crash is a PostgreSQL cluster of the test's own (initdb in a temporary directory, on a free port, as
.ci/services.sh starts the shared one), so stopping it touches nobody else's tests; the test and the worker are
pointed at it. The worker's task fails with OperationalError while the server is down, is retried with backoff
(integration_hub/kernel/task_policy.py), resumes the same run once the server is back and finishes it: every ERP
customer arrives in the CRM exactly once, and the run is "succeeded", not left "running".

Needs PostgreSQL's server programs: CI_PG_BIN (exported by .ci/services.sh). Without it the test is skipped with
the reason; under CI=true that is a failure, as for the other service markers.
"""
from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from integration_hub.sync import engine, tasks
from integration_hub.sync.models import SyncRun, SyncStatus
from tests.conftest import CI
from tests.sync import test_kill_worker
from tests.sync.test_kill_worker import wait_for
from tests.sync.test_lost_connections import RECORDS, assert_every_customer_arrived_once, send_outbox

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

# The kill test's fixtures: emulators holding only the test's records, the account mapping creating CRM companies.
emulators, accounts = test_kill_worker.emulators, test_kill_worker.accounts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throw-away PostgreSQL cluster: the server programs of CI_PG_BIN, run as `postgres` when we are root."""

    def __init__(self, bin_dir: str, root: Path) -> None:
        self.bin_dir, self.root, self.data, self.port = bin_dir, root, root / "data", _free_port()

    def _run(self, program: str, *args: str) -> None:
        command = [str(Path(self.bin_dir, program)), *args]
        if os.getuid() == 0:  # PostgreSQL refuses to run as root
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode:
            pytest.fail(f"{program} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n{self.server_log()}")

    def server_log(self) -> str:
        try:
            return (self.root / "server.log").read_text()[-3000:]
        except OSError:
            return ""

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "hub")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-o", options, "start")

    def crash(self) -> None:
        """What a power cut or an OOM kill looks like to clients: every connection drops, no clean shutdown."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")


@pytest.fixture
def private_postgres():
    bin_dir = os.environ.get("CI_PG_BIN", "")
    if not bin_dir or not Path(bin_dir, "initdb").exists():
        reason = "needs PostgreSQL's server programs to crash a server of its own: set CI_PG_BIN (.ci/services.sh)"
        if CI:
            pytest.fail(f"CI=true and a service test cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="hub-crash-pg-"))
    root.chmod(0o755)
    if os.getuid() == 0:
        shutil.chown(root, "postgres")
    cluster = Cluster(bin_dir, root)
    try:
        cluster.create()
        yield cluster
    finally:
        try:
            cluster.crash()
        except BaseException:  # noqa: BLE001 - stopped already, or never started: nothing to stop
            pass
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def on_private_postgres(private_postgres, transactional_db):
    """This test's database connection (and so the workers it starts) on the private cluster, migrated."""
    settings_dict = connection.settings_dict
    saved = dict(settings_dict)
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT=private_postgres.port, NAME="hub", USER="postgres", PASSWORD="")
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield private_postgres
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)


@pytest.mark.timeout(240)
def test_postgres_crashes_mid_sync_and_the_run_resumes_and_finishes_once_it_is_back(on_private_postgres, emulators,
                                                                                    accounts, celery_workers):
    cluster = on_private_postgres
    hubspot, netsuite = emulators
    assert celery_workers.env["DATABASE_URL"].endswith(f":{cluster.port}/hub")  # the worker uses the private one
    test_kill_worker.seed_customers(netsuite, RECORDS, prefix="P-")
    netsuite.set_faults(latency_ms=300)  # each page waits on the ERP a little: the crash lands mid-pull
    run = engine.sync_run_create(mapping=accounts)
    celery_workers.start()
    task = tasks.sync_mapping.apply_async(kwargs={"mapping_id": accounts.pk, "run_id": run.pk},
                                          queue=celery_workers.queue)
    wait_for(lambda: SyncRun.objects.get(pk=run.pk).processed >= 1000, "the first page to be stored", celery_workers)

    cluster.crash()
    connection.close()  # the test's own connection died with the server
    time.sleep(3)  # the worker's task fails on its next query, and its retries fail while the server is down
    cluster.start()

    assert task.get(timeout=150) == run.pk, celery_workers.logs()
    netsuite.set_faults(latency_ms=0)
    send_outbox(celery_workers)
    log = celery_workers.logs()
    assert "retry: Retry in" in log and "OperationalError" in log, log

    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED, (run.status, run.error)
    assert run.processed >= RECORDS and run.finished_at is not None  # a page read again after the crash counts twice
    assert SyncRun.objects.filter(mapping=accounts).count() == 1  # the same run resumed; no second run
    assert_every_customer_arrived_once(hubspot, "P-")
