"""A connected system's budget with its vendor: the connector's declared limits, shared by every process."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings

from connectors.models import ConnectedSystem
from connectors.sandbox.netsuite import DEMO_TBA
from connectors.sandbox.server import Emulator, Request, Response, json_response, route, serve_in_background
from connectors.services import connector_for
from tests.contenders import contend

# Two requests the budget granted a second apart may arrive a little closer together.
ARRIVAL_SLACK = 0.05


class StampingEmulator(Emulator):
    """A vendor that notes when each request arrived."""

    vendor = "stamping"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.arrived: list[float] = []

    @route("GET", r"/stamps/(?P<id>\w+)")
    def stamp(self, request: Request) -> Response:
        self.arrived.append(time.monotonic())
        return json_response(200, {"id": request.group("id")})


@pytest.fixture
def stamping() -> Iterator:
    running = serve_in_background(StampingEmulator())
    yield running
    running.stop()


@pytest.fixture
def embedded(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.DATA_DIR = tmp_path
    return {"REDIS_URL": "", "DATA_DIR": str(tmp_path)}


def system(**fields) -> ConnectedSystem:
    return ConnectedSystem(**{"pk": 41, "slug": "crm", "vendor": "hubspot", "base_url": "http://127.0.0.1:8101",
                              "credentials": {"access_token": "sandbox-token"}, **fields})


class TestTheSystemsBudget:
    def test_a_system_takes_the_vendors_declared_limit_under_its_own_key(self, embedded):
        budget = connector_for(system()).http.budget

        assert budget.key == "connected-system-41"
        assert (budget.requests, budget.window, budget.concurrency) == (100, 10, None)

    def test_the_systems_own_rate_limit_wins(self, embedded):
        budget = connector_for(system(rate_limit="190/10")).http.budget

        assert (budget.requests, budget.window) == (190, 10)

    def test_a_system_with_its_limit_off_and_no_concurrency_cap_has_no_budget(self, embedded):
        assert connector_for(system(rate_limit="off")).http.budget is None

    def test_a_concurrency_cap_the_connector_declares_is_shared_too(self, embedded):
        erp = system(pk=42, vendor="netsuite", base_url="http://127.0.0.1:8102",
                     credentials={**DEMO_TBA, "concurrency_limit": 3})
        budget = connector_for(erp).http.budget

        assert (budget.key, budget.requests, budget.concurrency) == ("connected-system-42", None, 3)


def assert_two_processes_share_the_systems_budget(stamping, env: dict[str, str]) -> None:
    # Two processes send 6 requests each for one system allowed 4 a second: the vendor sees at most 4 in any
    # second, and the 12 take three seconds' windows. Each with the whole budget would be done within two.
    system_id = int(uuid.uuid4().int % 1_000_000) + 1000
    sent = contend("session", {"url": stamping.url, "system_id": system_id, "rate_limit": "4/1", "count": 6},
                   processes=2, env=env)
    arrived = sorted(stamping.emulator.arrived)

    assert sent == [6, 6] and len(arrived) == 12
    assert all(later - earlier >= 1 - ARRIVAL_SLACK for earlier, later in zip(arrived, arrived[4:], strict=False))
    assert arrived[-1] - arrived[0] >= 2 - ARRIVAL_SLACK


def test_two_processes_share_a_systems_budget_on_files(stamping, embedded):
    assert_two_processes_share_the_systems_budget(stamping, embedded)


@pytest.mark.redis
def test_two_processes_share_a_systems_budget_on_redis(stamping, tmp_path):
    assert_two_processes_share_the_systems_budget(stamping, {"REDIS_URL": settings.REDIS_URL,
                                                             "DATA_DIR": str(tmp_path)})
