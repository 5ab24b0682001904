"""How every Celery task of the product rides out a lost database or broker connection: one definition.

A PostgreSQL restart, a failover or a Redis blip fails whatever a task was doing with a connection error. Such a
task is retried with exponential backoff (jittered, so a fleet of workers does not reconnect at the same instant)
a bounded number of times, then fails. Retrying is safe because every task is idempotent: a sync resumes its own
run (`integration_hub.sync.tasks.sync_mapping`), the outbox claims rows before it sends them, reports and scans are
found again by id. What outlasts the retries (a database down for many minutes) is resumed by the stale-run sweep
(`integration_hub.sync.tasks.resume_stale_runs`) once the database is back.

Use: ``@shared_task(**RETRY_POLICY)`` (add ``bind=True`` where the task needs ``self``).
"""
from __future__ import annotations

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError, OperationalError

# Errors of a connection, not of the work: the same call succeeds once the service is back.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,  # PostgreSQL gone or restarting, a deadlock, SQLite's "database is locked"
    InterfaceError,  # a connection the server closed under us
    kombu.exceptions.OperationalError,  # the broker refused or dropped a publish
    redis.exceptions.ConnectionError,  # the cache (locks, budgets) or the broker unreachable
    redis.exceptions.TimeoutError,
)

RETRY_POLICY: dict = {
    "acks_late": True,  # acknowledged after it ran: a task whose worker died is handed out again
    "reject_on_worker_lost": True,  # ... also when the worker process was killed mid-task
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,  # up to 2, 4, 8 ... seconds (full jitter) ...
    "retry_backoff_max": 120,  # ... never more than two minutes apart ...
    "retry_jitter": True,
    "max_retries": 8,  # ... about six minutes at most in all, then the task fails (and the sweep takes over)
}
