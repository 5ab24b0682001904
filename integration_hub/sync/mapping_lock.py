"""One sync per mapping at a time: the lock a run holds while it executes.

A run that cannot take its mapping's lock joins the run holding it ("coalesced"). The run holding it may take it
again: a redelivered or resumed run goes on with its own lock. The lock is the kernel's atomic lock (Redis, or a
row in the database: two workers never both take it) and expires by itself after LOCK_SECONDS, so a lock whose
holder was killed (and never resumed) stops no sync for longer.
"""
from __future__ import annotations

import logging

from integration_hub.kernel import locks
from integration_hub.kernel.task_policy import TRANSIENT_ERRORS
from integration_hub.sync.models import SyncRun

logger = logging.getLogger(__name__)

LOCK_SECONDS = 60 * 60


def lock_key(mapping_id: int) -> str:
    return f"sync-lock:mapping:{mapping_id}"


def take(run: SyncRun) -> bool:
    """Whether `run` holds its mapping's lock now: it was free, or it is the run's own already."""
    return locks.acquire(lock_key(run.mapping_id), str(run.pk), ttl=LOCK_SECONDS)


def release(run: SyncRun) -> None:
    """Give the lock back if `run` holds it; a lock that cannot be reached now expires by itself."""
    try:
        locks.release(lock_key(run.mapping_id), str(run.pk))
    except TRANSIENT_ERRORS:
        logger.warning("sync run %s could not release its mapping's lock; it expires by itself", run.pk)
