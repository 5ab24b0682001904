"""API calls made to each connected system, counted per minute (in the shared cache) for the health page.

`connector_session` records what a session's HTTP client sent when the session ends; the health metrics
compare the busiest minute of the last hour with the system's rate limit.
"""
from __future__ import annotations

import logging
import time

from django.core.cache import cache

KEEP_SECONDS = 2 * 60 * 60
logger = logging.getLogger(__name__)


def _key(system_id: int, minute: int) -> str:
    return f"api-calls:{system_id}:{minute}"


def record_calls(system_id: int, calls: int, *, now: float | None = None) -> None:
    """Add `calls` to this minute's count for the system (never fails the caller's work)."""
    if calls <= 0:
        return
    key = _key(system_id, int((now or time.time()) // 60))
    try:
        if not cache.add(key, calls, KEEP_SECONDS):
            cache.incr(key, calls)
    except Exception:  # the count is a health figure: losing one is better than failing a sync
        logger.warning("could not count %s API calls for system %s", calls, system_id, exc_info=True)


def calls_per_minute(system_id: int, minutes: int = 60, *, now: float | None = None) -> list[int]:
    """Calls in each of the last `minutes` minutes, oldest first."""
    current = int((now or time.time()) // 60)
    keys = [_key(system_id, m) for m in range(current - minutes + 1, current + 1)]
    try:
        found = cache.get_many(keys)
    except Exception:
        found = {}
    return [int(found.get(k) or 0) for k in keys]
