"""The shared HTTP layer: the budget, retries and backoff, Retry-After, concurrency cap, auth hooks."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from connectors.base import ConnectorError, RateLimit, parse_retry_after
from connectors.http import AuthStrategy, BearerToken, HttpClient
from connectors.sandbox.server import Emulator, Request, Response, json_response, route, serve_in_background
from integration_hub.kernel.rate_limits import Budget


class ProbeEmulator(Emulator):
    """A minimal vendor: one read and one write endpoint."""

    vendor = "probe"

    @route("GET", r"/things/(?P<id>\w+)")
    def get_thing(self, request: Request) -> Response:
        return json_response(200, {"id": request.group("id")})

    @route("POST", r"/things")
    def create_thing(self, request: Request) -> Response:
        things = self.store.table("things")
        things[str(len(things) + 1)] = request.json()
        return json_response(201, {"id": str(len(things))})


@pytest.fixture
def budgets(settings, tmp_path):
    """Budgets in files under a fresh DATA_DIR (the embedded default)."""
    settings.REDIS_URL = ""
    settings.DATA_DIR = tmp_path


@pytest.fixture
def probe() -> Iterator:
    running = serve_in_background(ProbeEmulator())
    yield running
    running.stop()


class Sleeps(list):
    """Records backoff delays instead of sleeping; an optional hook runs after each."""

    def __init__(self, hook=None) -> None:
        super().__init__()
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook:
            self.hook()


def client(url: str, **options) -> HttpClient:
    return HttpClient(url, **{"auth": BearerToken("sandbox-token"), "vendor": "probe", "backoff_base": 0.01,
                              "timeout": 2, **options})


class CountingAuth(AuthStrategy):
    """Signs each attempt with a bearer token; refresh() swaps in `next_token`."""

    def __init__(self, token: str, next_token: str | None = None) -> None:
        self.token, self.next_token = token, next_token
        self.signed = 0
        self.refreshes = 0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self.signed += 1
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def refresh(self) -> bool:
        self.refreshes += 1
        if self.next_token is None:
            return False
        self.token = self.next_token
        return True


class CountingBudget:
    """Counts what is taken from it and never makes anyone wait."""

    def __init__(self) -> None:
        self.taken = self.held = 0

    def acquire(self) -> float:
        self.taken += 1
        return 0.0

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.held += 1
        yield


class TestBudget:
    def test_rate_limit_parses_n_per_seconds(self):
        assert RateLimit.parse("190/10") == RateLimit(190, 10.0)
        with pytest.raises(ValueError):
            RateLimit.parse("lots")

    def test_every_attempt_is_taken_from_the_budget_retries_included(self, probe):
        probe.set_faults(fail_next=2)
        budget = CountingBudget()

        assert client(probe.url, budget=budget).request_json("GET", "/things/a") == {"id": "a"}
        assert budget.taken == 3 and budget.held == 3

    def test_without_a_budget_nothing_is_limited_on_our_side(self, probe):
        http = client(probe.url, rate_limit=RateLimit(1, 60))

        assert [http.request_json("GET", f"/things/{i}") for i in "ab"] == [{"id": "a"}, {"id": "b"}]


class TestRetries:
    def test_retry_after_accepts_seconds_and_http_dates(self):
        in_five = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)

        assert parse_retry_after("7") == 7.0
        assert 3.5 < parse_retry_after(in_five) <= 5.0
        assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
        assert parse_retry_after("soon") is None and parse_retry_after(None) is None

    def test_it_waits_at_least_as_long_as_retry_after_says(self, probe):
        probe.set_faults(rate_limit={"requests": 1, "per_seconds": 3})
        sleeps = Sleeps(hook=lambda: probe.set_faults(rate_limit=None))
        http = client(probe.url, sleep=sleeps)
        http.request_json("GET", "/things/a")

        assert http.request_json("GET", "/things/b") == {"id": "b"}
        assert len(sleeps) == 1 and sleeps[0] >= 3

    def test_backoff_grows_exponentially_with_jitter(self, probe):
        probe.set_faults(fail_next=3)
        sleeps = Sleeps()
        http = client(probe.url, sleep=sleeps, backoff_base=0.1)

        assert http.request_json("GET", "/things/x") == {"id": "x"}
        assert len(sleeps) == 3
        for attempt, delay in enumerate(sleeps, start=1):
            cap = 0.1 * 2 ** (attempt - 1)
            assert cap / 2 <= delay <= cap

    def test_it_stops_after_max_attempts(self, probe):
        probe.set_faults(fail_next=10)
        http = client(probe.url, max_attempts=3, sleep=Sleeps())

        with pytest.raises(ConnectorError) as caught:
            http.request_json("GET", "/things/x")

        assert caught.value.kind == "server" and caught.value.status == 503 and not caught.value.permanent
        assert len(probe.emulator.request_log) == 3

    def test_a_post_is_not_repeated_after_a_500_unless_it_is_idempotent(self, probe):
        probe.set_faults(fail_next=1, fail_status=500)
        with pytest.raises(ConnectorError):
            client(probe.url).request_json("POST", "/things", json={"n": 1})

        probe.set_faults(fail_next=1, fail_status=500)
        assert client(probe.url).request_json("POST", "/things", json={"n": 2}, idempotent=True) == {"id": "1"}

    def test_a_post_is_repeated_after_a_503_because_the_vendor_did_not_process_it(self, probe):
        probe.set_faults(fail_next=1, fail_status=503)

        assert client(probe.url).request_json("POST", "/things", json={"n": 1}) == {"id": "1"}

    def test_a_refused_connection_is_a_transient_error(self, probe):
        url = probe.url
        probe.stop()

        with pytest.raises(ConnectorError) as caught:
            client(url, max_attempts=2).request_json("GET", "/things/x")

        assert caught.value.kind == "server" and not caught.value.permanent

    def test_a_4xx_is_permanent_and_not_retried(self, probe):
        with pytest.raises(ConnectorError) as caught:
            client(probe.url).request_json("GET", "/nowhere")

        assert caught.value.kind == "not_found" and caught.value.permanent
        assert len(probe.emulator.request_log) == 1


class TestAuthHooks:
    def test_the_auth_hook_signs_every_attempt(self, probe):
        probe.set_faults(fail_next=1)
        auth = CountingAuth("sandbox-token")

        client(probe.url, auth=auth).request_json("GET", "/things/x")

        assert auth.signed == 2

    def test_a_401_refreshes_once_and_retries_once(self, probe):
        auth = CountingAuth("expired", next_token="sandbox-token")

        assert client(probe.url, auth=auth).request_json("GET", "/things/x") == {"id": "x"}
        assert auth.refreshes == 1 and [s for *_, s in probe.emulator.request_log] == [401, 200]

    def test_a_second_401_is_permanent_with_no_retry_storm(self, probe):
        auth = CountingAuth("bad", next_token="still-bad")

        with pytest.raises(ConnectorError) as caught:
            client(probe.url, auth=auth).request_json("GET", "/things/x")

        assert caught.value.kind == "auth" and caught.value.permanent
        assert auth.refreshes == 1 and len(probe.emulator.request_log) == 2

    def test_a_401_without_a_way_to_refresh_fails_after_one_request(self, probe):
        auth = CountingAuth("bad")

        with pytest.raises(ConnectorError) as caught:
            client(probe.url, auth=auth).request_json("GET", "/things/x")

        assert caught.value.kind == "auth" and len(probe.emulator.request_log) == 1


    def test_an_auth_hook_may_make_its_own_request_under_a_concurrency_cap(self, probe, budgets):
        http = client(probe.url, budget=Budget("probe", concurrency=1))

        class FetchesAToken(AuthStrategy):
            def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
                if not request.url.endswith("/things/token"):
                    http.request_json("GET", "/things/token")  # e.g. a proactive OAuth refresh
                request.headers["Authorization"] = "Bearer sandbox-token"
                return request

        http.auth = FetchesAToken()
        result: list = []
        worker = threading.Thread(target=lambda: result.append(http.request_json("GET", "/things/x")), daemon=True)
        worker.start()
        worker.join(timeout=5)

        assert result == [{"id": "x"}], "deadlocked waiting for the concurrency slot"


class TestPoolAndConcurrency:
    def test_the_pool_keeps_at_least_10_connections(self, probe):
        adapter = client(probe.url).session.get_adapter(probe.url)

        assert adapter._pool_maxsize >= 10

    def test_the_concurrency_cap_bounds_requests_in_flight(self, probe, budgets):
        probe.set_faults(latency_ms=50)
        in_flight, peak, lock = [0], [0], threading.Lock()

        class CountingSession(requests.Session):
            def send(self, *args, **kwargs):
                with lock:
                    in_flight[0] += 1
                    peak[0] = max(peak[0], in_flight[0])
                try:
                    return super().send(*args, **kwargs)
                finally:
                    with lock:
                        in_flight[0] -= 1

        http = client(probe.url, budget=Budget("probe", concurrency=2), session=CountingSession())
        threads = [threading.Thread(target=http.request_json, args=("GET", f"/things/{i}")) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert peak[0] == 2
        assert len(probe.emulator.request_log) == 6


@pytest.mark.parametrize(("status", "kind", "permanent"), [
    (400, "validation", True), (401, "auth", True), (403, "auth", True), (404, "not_found", True),
    (409, "validation", True), (408, "timeout", False), (429, "rate_limit", False), (500, "server", False),
    (503, "server", False),
])
def test_statuses_map_to_kinds(status, kind, permanent):
    error = ConnectorError.for_status(status, "x")

    assert (error.kind, error.permanent, error.status) == (kind, permanent, status)
