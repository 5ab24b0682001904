"""Atomic, expiring locks shared by every process: in Redis when REDIS_URL is set, in the database otherwise.

`acquire(name, token, ttl=...)` takes the lock for `ttl` seconds unless another token holds it; the holder taking
it again renews it (a resumed task goes on with its own lock). `release(name, token)` frees it for its holder
only. A holder that dies without releasing stops nobody for longer than `ttl`. `with lock(name, ttl=...) as
taken:` holds a lock for the length of a block.

- Redis: SET NX PX, and a token-checked renew and release (redis-py's Lock scripts): each one atomic command.
- Database (the embedded default): a row per held lock (`kernel.Lock`, the name its primary key). A held but
  expired lock, or one the token holds already, is taken by one UPDATE ... WHERE expired or own token
  (PostgreSQL re-checks the condition on a row another transaction just changed; SQLite has one writer at a
  time); a free one by an INSERT the primary key lets only one process make.

Take and release a lock outside a transaction: inside one, other processes see the lock only once it commits.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock as RedisLock

from integration_hub.kernel.models import Lock

REDIS_PREFIX = "hub:lock:"


def acquire(name: str, token: str, *, ttl: float) -> bool:
    """Whether `token` holds the lock `name` now, for the next `ttl` seconds (it was free, expired or its own)."""
    if ttl <= 0:
        raise ValueError(f"a lock needs a positive ttl, got {ttl}")
    if settings.REDIS_URL:
        return _redis_acquire(name, token, ttl)
    return _database_acquire(name, token, ttl)


def release(name: str, token: str) -> bool:
    """Free the lock `name` if `token` holds it; whether it did."""
    if settings.REDIS_URL:
        return _redis_release(name, token)
    # One DELETE ... WHERE name AND token: a lock row has no relations or signals for Django to read it first.
    return bool(Lock.objects.filter(name=name, token=token).delete()[0])


@contextmanager
def lock(name: str, *, ttl: float) -> Iterator[bool]:
    """Hold the lock `name` while the block runs, if it is free: yields whether it was taken."""
    token = uuid.uuid4().hex
    taken = acquire(name, token, ttl=ttl)
    try:
        yield taken
    finally:
        if taken:
            release(name, token)


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _redis_lock(name: str, ttl: float | None = None) -> RedisLock:
    # Not thread-local: the token is the caller's, passed in on every call.
    return _redis(settings.REDIS_URL).lock(REDIS_PREFIX + name, timeout=ttl, thread_local=False)


def _redis_acquire(name: str, token: str, ttl: float) -> bool:
    held = _redis_lock(name, ttl)
    if held.acquire(blocking=False, token=token):
        return True
    held.local.token = token
    try:
        return held.reacquire()  # renews the TTL only if the stored token is this one
    except LockNotOwnedError:
        return False


def _redis_release(name: str, token: str) -> bool:
    try:
        _redis_lock(name).do_release(token)
    except LockNotOwnedError:
        return False
    return True


def _database_acquire(name: str, token: str, ttl: float) -> bool:
    now = timezone.now()
    expires_at = now + timedelta(seconds=ttl)
    if Lock.objects.filter(Q(expires_at__lte=now) | Q(token=token), name=name).update(token=token,
                                                                                      expires_at=expires_at):
        return True
    try:
        with transaction.atomic():
            Lock.objects.create(name=name, token=token, expires_at=expires_at)
    except IntegrityError:  # held: another process inserted it first (or holds it unexpired)
        return False
    return True
