"""Budgets shared by every process: a window of requests and the requests in flight, in files or in Redis."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.conf import settings

from integration_hub.kernel.rate_limits import Budget
from tests.contenders import contend

# A grant is stamped a moment after the budget counted it: windows are measured a little short.
STAMP_SLACK = 0.05


@pytest.fixture
def embedded(settings, tmp_path):
    """The embedded default: no Redis, budgets in files under a fresh DATA_DIR."""
    settings.REDIS_URL = ""
    settings.DATA_DIR = tmp_path
    return {"REDIS_URL": "", "DATA_DIR": str(tmp_path)}


@pytest.fixture
def redis_set_up(tmp_path):
    """REDIS_URL as the test run has it (the test is marked redis), for other processes too."""
    return {"REDIS_URL": settings.REDIS_URL, "DATA_DIR": str(tmp_path)}


def most_in_any_window(granted: list[float], window: float) -> int:
    granted = sorted(granted)
    return max(sum(1 for other in granted if start <= other < start + window) for start in granted)


def overlapping(held: list[tuple[float, float]]) -> int:
    """The most intervals held at one instant."""
    edges = sorted([(start, 1) for start, _ in held] + [(end, -1) for _, end in held])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


class TestInOneProcess:
    def test_it_never_grants_more_than_the_limit_in_any_window(self, embedded):
        budget = Budget("one-process", requests=3, per_seconds=1)
        granted = []
        for _ in range(7):
            budget.acquire()
            granted.append(time.time())

        assert most_in_any_window(granted, 1 - STAMP_SLACK) == 3
        assert granted[-1] - granted[0] >= 2 - STAMP_SLACK  # 7 at 3 a second: a third window

    def test_threads_wait_their_turn(self, embedded):
        budget = Budget("threads", requests=5, per_seconds=1)
        granted: list[float] = []

        def work() -> None:
            for _ in range(4):
                budget.acquire()
                granted.append(time.time())

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert len(granted) == 12 and most_in_any_window(granted, 1 - STAMP_SLACK) <= 5
        assert max(granted) - min(granted) >= 2 - STAMP_SLACK

    def test_a_fraction_of_a_second_is_rounded_up(self, embedded):
        assert Budget("fraction", requests=5, per_seconds=0.5).window == 1

    def test_a_budget_without_a_window_never_waits(self, embedded):
        budget = Budget("slots-only", concurrency=2)

        assert budget.acquire() == 0.0

    def test_the_slots_bound_what_is_held_at_once(self, embedded):
        budget = Budget("slots", concurrency=2)
        held: list[tuple[float, float]] = []

        def work() -> None:
            with budget.slot():
                start = time.time()
                time.sleep(0.05)
                held.append((start, time.time()))

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert len(held) == 6 and overlapping(held) == 2

    def test_a_slot_is_given_back_when_its_block_fails(self, embedded):
        budget = Budget("failing", concurrency=1)
        with pytest.raises(RuntimeError), budget.slot():
            raise RuntimeError("the request failed")

        with budget.slot():
            pass  # would wait for ever if the slot were still held

    def test_an_empty_or_negative_budget_is_refused(self, embedded):
        with pytest.raises(ValueError):
            Budget("bad", requests=0, per_seconds=10)
        with pytest.raises(ValueError):
            Budget("bad", requests=10, per_seconds=0)
        with pytest.raises(ValueError):
            Budget("bad", concurrency=0)


def assert_the_window_is_shared(env: dict[str, str]) -> None:
    # Two processes take 6 each from one budget of 4 a second: 12 grants need three windows between them. Each
    # with the whole budget to itself would be done within two.
    key = f"shared-{uuid.uuid4().hex[:8]}"
    results = contend("window", {"key": key, "requests": 4, "per_seconds": 1, "count": 6}, processes=2, env=env)
    granted = [stamp for result in results for stamp in result]

    assert len(granted) == 12
    assert most_in_any_window(granted, 1 - STAMP_SLACK) <= 4
    assert max(granted) - min(granted) >= 2 - STAMP_SLACK


def assert_the_slots_are_shared(env: dict[str, str]) -> None:
    # Two processes of 3 threads each hold a slot for 0.2 s from one budget of 2 at once: never more than 2 held,
    # so 6 holds take 3 rounds. With 2 slots each, 4 would be held at once and 2 rounds would do.
    key = f"shared-{uuid.uuid4().hex[:8]}"
    results = contend("slots", {"key": key, "concurrency": 2, "threads": 3, "hold": 0.2}, processes=2, env=env)
    held = [tuple(interval) for result in results for interval in result]

    assert len(held) == 6
    assert overlapping(held) <= 2
    assert max(end for _, end in held) - min(start for start, _ in held) >= 0.6 - STAMP_SLACK


class TestSharedByProcesses:
    def test_two_processes_take_one_window_together_on_files(self, embedded):
        assert_the_window_is_shared(embedded)

    def test_two_processes_share_the_slots_on_files(self, embedded):
        assert_the_slots_are_shared(embedded)

    @pytest.mark.redis
    def test_two_processes_take_one_window_together_on_redis(self, redis_set_up):
        assert_the_window_is_shared(redis_set_up)

    @pytest.mark.redis
    def test_two_processes_share_the_slots_on_redis(self, redis_set_up):
        assert_the_slots_are_shared(redis_set_up)
