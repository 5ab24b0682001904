"""Atomic, expiring locks: one holder at a time, in the database (the embedded default) or in Redis."""
from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings

from integration_hub.kernel import locks
from integration_hub.kernel.models import Lock
from tests.contenders import contend, run_setup
from tests.workers import test_database_url


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, settings):
    """Each test once on the database and once on Redis (REDIS_URL, when the run has it)."""
    if request.param == "database":
        settings.REDIS_URL = ""
    return request.param


@pytest.fixture
def name() -> str:
    return f"test-lock-{uuid.uuid4().hex[:8]}"


@pytest.mark.django_db
class TestOneLock:
    def test_a_free_lock_is_taken_and_a_held_one_is_not(self, backend, name):
        assert locks.acquire(name, "first", ttl=30)
        assert not locks.acquire(name, "second", ttl=30)

    def test_the_holder_takes_it_again(self, backend, name):
        assert locks.acquire(name, "run-7", ttl=30)

        assert locks.acquire(name, "run-7", ttl=30)

    def test_only_the_holder_releases_it(self, backend, name):
        locks.acquire(name, "first", ttl=30)

        assert not locks.release(name, "second")
        assert not locks.acquire(name, "second", ttl=30)
        assert locks.release(name, "first")
        assert locks.acquire(name, "second", ttl=30)

    def test_an_expired_lock_is_free(self, backend, name):
        locks.acquire(name, "gone", ttl=0.2)
        time.sleep(0.3)

        assert locks.acquire(name, "next", ttl=30)
        assert not locks.release(name, "gone")

    def test_the_context_manager_holds_it_for_the_block(self, backend, name):
        with locks.lock(name, ttl=30) as taken:
            assert taken
            with locks.lock(name, ttl=30) as again:
                assert not again
        with locks.lock(name, ttl=30) as after:
            assert after

    def test_a_lock_without_a_lifetime_is_refused(self, backend, name):
        with pytest.raises(ValueError):
            locks.acquire(name, "token", ttl=0)


def assert_one_of_many_takes_it(env: dict[str, str], name: str | None = None) -> None:
    results = contend("lock", {"name": name or f"race-{uuid.uuid4().hex[:8]}", "ttl": 60}, processes=4, env=env)

    assert sorted(results) == [False] * 3 + [True]


class TestManyProcesses:
    def test_one_of_many_processes_takes_it_in_sqlite(self, tmp_path):
        env = {"REDIS_URL": "", "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}"}
        run_setup("create-lock-table", {}, env=env)

        assert_one_of_many_takes_it(env)

    def test_an_expired_lock_is_taken_by_one_of_many_processes_in_sqlite(self, tmp_path):
        env = {"REDIS_URL": "", "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}"}
        run_setup("create-lock-table", {}, env=env)
        assert contend("lock", {"name": "expiring", "ttl": 0.1}, processes=1, env=env) == [True]
        time.sleep(0.2)

        assert_one_of_many_takes_it(env, "expiring")

    @pytest.mark.postgres
    @pytest.mark.django_db(transaction=True)
    def test_one_of_many_processes_takes_it_in_postgresql(self, tmp_path):
        assert_one_of_many_takes_it({"REDIS_URL": "", "DATA_DIR": str(tmp_path),
                                     "DATABASE_URL": test_database_url()})

    @pytest.mark.postgres
    @pytest.mark.django_db(transaction=True)
    def test_an_expired_lock_is_taken_by_one_of_many_processes_in_postgresql(self, tmp_path):
        Lock.objects.create(name="expiring", token="dead-worker", expires_at="2000-01-01T00:00:00Z")

        assert_one_of_many_takes_it({"REDIS_URL": "", "DATA_DIR": str(tmp_path),
                                     "DATABASE_URL": test_database_url()}, "expiring")

    @pytest.mark.redis
    def test_one_of_many_processes_takes_it_in_redis(self, tmp_path):
        assert_one_of_many_takes_it({"REDIS_URL": settings.REDIS_URL, "DATA_DIR": str(tmp_path)})
