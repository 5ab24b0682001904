"""Real `celery worker` processes for tests: started on a private queue, stopped, or killed with SIGKILL.

A worker runs the app's own settings against the test database (DATABASE_URL is pointed at it) and the
REDIS_URL broker. Its log goes to a file, not a pipe, so a chatty worker never blocks on a full pipe.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database), for another process."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Worker:
    """One `celery worker --pool solo` process: one task at a time, in the process itself (so SIGKILL kills
    the task where it stands: no `finally`, no acknowledgement)."""

    def __init__(self, queue: str, env: dict[str, str], log_dir: str) -> None:
        self.queue = queue
        self.log_path = Path(log_dir) / f"worker-{uuid.uuid4().hex[:6]}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()/kill()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "integration_hub", "worker", "--pool", "solo",
             "--queues", queue, "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT, text=True,
        )
        self.ready_at: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log():
                self.ready_at = time.monotonic()
                return self
            if self.process.poll() is not None:
                pytest.fail("Celery worker exited:\n" + self.log())
            time.sleep(0.05)
        self.kill()
        pytest.fail("Celery worker did not start:\n" + self.log())

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """`kill -9`: the process dies at once, whatever it is doing."""
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Workers:
    """Starts workers that share one private queue (a task a killed worker held is redelivered to the next)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.log_dir = tempfile.mkdtemp(prefix="celery-worker-")
        # The tasks a worker queues itself (e.g. the outbox dispatch a sync queues) stay on this queue.
        self.env = {"DATABASE_URL": test_database_url(), "CELERY_TASK_DEFAULT_QUEUE": self.queue, **(env or {})}
        self.started: list[Worker] = []

    def start(self) -> Worker:
        worker = Worker(self.queue, self.env, self.log_dir).wait_ready()
        self.started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- worker {w.pid} ---\n{w.log()[-4000:]}" for w in self.started)

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()
        connection.close()
