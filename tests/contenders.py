"""OS processes that contend for one budget or one lock, for the tests that check every process shares it.

`contend(what, args, processes=N, env=...)` starts N `python -m tests.contenders` processes with the app's own
settings read from `env` (DATA_DIR, REDIS_URL, DATABASE_URL), waits until each has set Django up and says it is
ready, lets them all go at once, and returns what each one got (one JSON document per process).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def contend(what: str, args: dict[str, Any], *, processes: int, env: dict[str, str],
            timeout: float = 120) -> list[Any]:
    """Run `processes` contenders doing `what` with `args` at the same moment; their results."""
    children = [subprocess.Popen([sys.executable, "-m", "tests.contenders", what, json.dumps(args)], cwd=ROOT,
                                 env={**os.environ, "DJANGO_SETTINGS_MODULE": "integration_hub.settings", **env},
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(processes)]
    try:
        for child in children:
            line = child.stdout.readline()
            assert line.strip() == "ready", f"a contender did not start: {line!r}\n{child.stderr.read()}"
        for child in children:  # as close together as writing N pipes goes
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, err = child.communicate(timeout=timeout)
            assert child.returncode == 0, f"a contender failed:\n{err}"
            results.append(json.loads(out))
        return results
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def run_setup(what: str, args: dict[str, Any], *, env: dict[str, str]) -> None:
    """One process doing `what` (e.g. creating the lock table in a database the contenders will share)."""
    subprocess.run([sys.executable, "-m", "tests.contenders", what, json.dumps(args)], cwd=ROOT, check=True,
                   env={**os.environ, "DJANGO_SETTINGS_MODULE": "integration_hub.settings", **env},
                   capture_output=True, text=True, timeout=120)


# --- in the contender processes ------------------------------------------------------------------------------

def _window(key: str, requests: int, per_seconds: float, count: int) -> list[float]:
    """Take `count` requests from the budget: when each was granted."""
    from integration_hub.kernel.rate_limits import Budget

    budget = Budget(key, requests=requests, per_seconds=per_seconds)
    granted = []
    for _ in range(count):
        budget.acquire()
        granted.append(time.time())
    return granted


def _slots(key: str, concurrency: int, threads: int, hold: float) -> list[tuple[float, float]]:
    """`threads` threads each hold a slot for `hold` seconds: when each held one (inside the slot)."""
    from integration_hub.kernel.rate_limits import Budget

    budget = Budget(key, concurrency=concurrency)
    held: list[tuple[float, float]] = []

    def work() -> None:
        with budget.slot():
            start = time.time()
            time.sleep(hold)
            held.append((start, time.time()))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return held


def _lock(name: str, ttl: float) -> bool:
    """Try the lock once (and keep it if taken)."""
    from integration_hub.kernel import locks

    return locks.acquire(name, uuid.uuid4().hex, ttl=ttl)


def _session(url: str, system_id: int, rate_limit: str, count: int) -> int:
    """`count` requests to `url` through a connected system's connector session: how many were sent."""
    from connectors.models import ConnectedSystem
    from connectors.sandbox import DEFAULT_TOKEN
    from connectors.services import connector_session

    system = ConnectedSystem(pk=system_id, slug=f"contended-{system_id}", vendor="hubspot", base_url=url,
                             rate_limit=rate_limit, credentials={"access_token": DEFAULT_TOKEN})
    with connector_session(system, backoff_base=0.01) as connector:
        for index in range(count):
            connector.http.request_json("GET", f"/stamps/{index}")
        return connector.http.stats["requests"]


def _create_lock_table() -> None:
    from django.db import connection

    from integration_hub.kernel.models import Lock

    with connection.schema_editor() as editor:
        editor.create_model(Lock)


CONTENDERS = {"window": _window, "slots": _slots, "lock": _lock, "session": _session}


if __name__ == "__main__":
    import django

    django.setup()
    command, arguments = sys.argv[1], json.loads(sys.argv[2])
    if command == "create-lock-table":
        _create_lock_table()
        sys.exit(0)
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(CONTENDERS[command](**arguments)), flush=True)
