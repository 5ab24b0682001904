"""Request budgets shared by every process: requests per window, and requests in flight, per key.

A budget is what a vendor allows one account, counted the way the vendor counts it: at most N requests in any
window of S seconds and, when the vendor caps them, at most C requests at once. Every process that uses the same
Redis (REDIS_URL) or, in the embedded default, the same DATA_DIR takes from one budget per key, so W workers share
the vendor's rate instead of each taking all of it. `acquire()` blocks until the window allows one more request;
`with slot():` holds one of the C requests in flight.

Where the counts live:
- Redis: the window is `limits`' moving window (its Lua script takes an entry atomically); a request in flight
  holds one of C expiring locks (integration_hub.kernel.locks), so the slot of a process killed mid-request
  frees itself after SLOT_SECONDS.
- Embedded default: files under DATA_DIR/budgets, each read and rewritten under an exclusive flock; a request in
  flight holds the flock of one of C slot files, which the OS drops the moment its process dies. Without Redis
  every process runs on one machine already (the Celery broker and the cache are files in DATA_DIR), so a file
  lock is shared by all of them. A file rather than a database table because a budget is taken before every
  vendor request: a flock costs microseconds, never joins or waits for a caller's transaction, and adds no
  write for SQLite's single writer. (`limits` has no storage shared between processes without a server.)

Windows are whole seconds, as `limits` counts them: a fraction of a second is rounded up, which never sends
faster than declared.
"""
from __future__ import annotations

import fcntl
import functools
import math
import random
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from integration_hub.kernel import locks

# Longer than any one request takes (vendor calls time out after 30 s by default): only a slot whose holder was
# killed is still held when it expires.
SLOT_SECONDS = 300
# A request waiting for a slot looks again within this, and one waiting for the window goes up to this long after
# it frees (at random: waiting processes do not all come back at the same instant).
POLL_SECONDS = 0.02


class Budget:
    """One key's shared allowance: `requests` per `per_seconds` (None: no window) and `concurrency` at once."""

    def __init__(self, key: str, *, requests: int | None = None, per_seconds: float = 1,
                 concurrency: int | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if requests is not None and (requests < 1 or per_seconds <= 0):
            raise ValueError(f"a budget needs at least 1 request per a positive window, got {requests}/{per_seconds}")
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"a budget's concurrency must be at least 1, got {concurrency}")
        self.key = key
        self.requests = requests
        self.window = max(1, math.ceil(per_seconds))
        self.concurrency = concurrency
        self._sleep = sleep
        self._store = _store()

    def acquire(self) -> float:
        """Block until the window allows one more request, and count it; the seconds waited."""
        waited = 0.0
        if self.requests is None:
            return waited
        while (wait := self._store.take(self.key, self.requests, self.window)) > 0:
            wait += random.uniform(0, POLL_SECONDS)
            self._sleep(wait)
            waited += wait
        return waited

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `concurrency` requests in flight while the block runs (waiting for one to free)."""
        if self.concurrency is None:
            yield
            return
        while (release := self._store.hold(self.key, self.concurrency)) is None:
            self._sleep(random.uniform(POLL_SECONDS / 2, POLL_SECONDS))
        try:
            yield
        finally:
            release()


class _Store(Protocol):
    def take(self, key: str, limit: int, window: int) -> float:
        """Count one request in the window: 0 when it was counted, else the seconds until one may be."""

    def hold(self, key: str, slots: int) -> Callable[[], None] | None:
        """Take one of `slots` at once, without waiting: the call that gives it back, or None when all are held."""


def _store() -> _Store:
    if settings.REDIS_URL:
        return _redis_store(settings.REDIS_URL)
    return _file_store(Path(settings.DATA_DIR) / "budgets")


@functools.cache
def _redis_store(url: str) -> _RedisStore:
    return _RedisStore(url)


@functools.cache
def _file_store(directory: Path) -> _FileStore:
    return _FileStore(directory)


class _RedisStore:
    def __init__(self, url: str) -> None:
        self._windows = MovingWindowRateLimiter(RedisStorage(url, key_prefix="hub:budget"))

    def take(self, key: str, limit: int, window: int) -> float:
        item = RateLimitItemPerSecond(limit, window)
        if self._windows.hit(item, key):
            return 0.0
        reset_at, _ = self._windows.get_window_stats(item, key)
        return max(reset_at - time.time(), 0.001)  # an entry left meanwhile: look again at once

    def hold(self, key: str, slots: int) -> Callable[[], None] | None:
        token = uuid.uuid4().hex
        for index in random.sample(range(slots), slots):
            name = f"budget:{key}:slot-{index}"
            if locks.acquire(name, token, ttl=SLOT_SECONDS):
                return functools.partial(locks.release, name, token)
        return None


class _FileStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str, suffix: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"{quote(key, safe='')}.{suffix}"

    def take(self, key: str, limit: int, window: int) -> float:
        with open(self._path(key, "window"), "a+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes
            file.seek(0)
            data = file.read()
            sent = array("d")
            sent.frombytes(data[:len(data) - len(data) % sent.itemsize])
            now = time.time()
            # Only what is inside the window counts; a time ahead of now means the clock was set back.
            recent = sorted(stamp for stamp in sent if now - window < stamp <= now)
            if len(recent) >= limit:
                return recent[len(recent) - limit] + window - now
            recent.append(now)
            file.seek(0)
            file.truncate()
            file.write(array("d", recent).tobytes())
            return 0.0

    def hold(self, key: str, slots: int) -> Callable[[], None] | None:
        for index in random.sample(range(slots), slots):
            file = open(self._path(key, f"slot-{index}"), "a")  # noqa: SIM115 - closed by the release it returns
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                continue
            return file.close  # closing the file releases its lock (and so does the process's death)
        return None
