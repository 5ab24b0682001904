"""Fixtures for the sync tests."""
from __future__ import annotations

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def no_sync_locks_left_behind():
    """Start without the mapping locks an earlier session may have left in Redis.

    A run whose worker was killed keeps its mapping's lock for an hour, and a fresh test database numbers its
    mappings from 1 again, so the next session's mapping would find the lock taken and its syncs "coalesced".
    The test Redis database (REDIS_URL) belongs to the test run: it is emptied, broker queues included.
    """
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        from django.core.cache import cache

        cache.clear()
    yield
