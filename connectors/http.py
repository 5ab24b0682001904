"""The HTTP layer every connector shares: pooling, timeouts, the vendor's budget, retries, auth refresh."""
from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from connectors.base import ConnectorError, RateLimit

if TYPE_CHECKING:
    from integration_hub.kernel.rate_limits import Budget

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# 429 and 503 mean the vendor did not process the request, so even a non-idempotent call may repeat.
UNPROCESSED_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
# The environment variables `Session.merge_environment_settings` reads for an http(s) URL: proxies (urllib's
# getproxies/proxy_bypass, CGI guard included) and the CA bundle. Reading them all per request costs more than the
# rest of a request; their values key a cache instead, so a change still takes effect on the next request.
ENVIRONMENT_KEYS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                    "no_proxy", "NO_PROXY", "REQUEST_METHOD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class AuthStrategy(AuthBase):
    """Adds credentials to (or signs) each prepared request; `refresh()` renews them after a 401."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request

    def refresh(self) -> bool:
        """Obtain new credentials; True when a retry with them is worthwhile."""
        return False


class BearerToken(AuthStrategy):
    """`Authorization: Bearer <token>`; the token may be a callable so a refresh is picked up."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token() if callable(self._token) else self._token
        request.headers["Authorization"] = f"Bearer {token}"
        return request


class HttpClient:
    """A `requests.Session` with a connection pool, the vendor's budget, retries and a 401 refresh hook.

    `rate_limit` and `max_concurrency` are the vendor's limits as the connector declares them; `budget` keeps to
    them, shared by every process that talks to the same connected system (integration_hub.kernel.rate_limits).
    Whoever knows which system the client speaks for gives it one (connectors.services). Without a budget nothing
    is limited on our side; the vendor's 429 and Retry-After are honoured either way."""

    def __init__(self, base_url: str, *, auth: AuthStrategy | None = None, vendor: str = "",
                 rate_limit: RateLimit | None = None, max_concurrency: int | None = None,
                 budget: Budget | None = None, timeout: float = 30, connect_timeout: float = 10,
                 max_attempts: int = 5, backoff_base: float = 0.5, backoff_max: float = 30,
                 max_retry_wait: float = 60, session: requests.Session | None = None, pool_maxsize: int = 20,
                 headers: Mapping[str, str] | None = None,
                 url_guard: Callable[[str], str] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        # Why a URL may not be called with these credentials ("" when it may); see connectors.hosts.
        self.url_guard = url_guard
        self.auth = auth
        self.vendor = vendor
        self.rate_limit = rate_limit
        self.max_concurrency = max_concurrency
        self.budget = budget
        self.timeout = (min(connect_timeout, timeout), timeout)
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # A Retry-After longer than this is handed to the caller (e.g. a task that reschedules itself).
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._owns_session = session is None
        self.session = session or self._new_session(max(pool_maxsize, max_concurrency or 0, 10))
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._environment: dict[tuple, dict[str, Any]] = {}

    @staticmethod
    def _new_session(pool_maxsize: int) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def close(self) -> None:
        """Close pooled connections (only a session this client created)."""
        if self._owns_session:
            self.session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None, data: Any = None,
                headers: Mapping[str, str] | None = None, idempotent: bool | None = None,
                authenticate: bool = True, allow_status: frozenset[int] | set[int] = frozenset()) -> requests.Response:
        """Send with retries; return a 2xx (or allowed) response, else raise ConnectorError."""
        method = method.upper()
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self.url(path)
        if self.url_guard is not None and (refused := self.url_guard(url)):
            raise ConnectorError(refused, kind="config", permanent=True)
        auth = self.auth if authenticate else None
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(method, url, params=params, json=json, data=data, headers=headers, auth=auth)
            except requests.RequestException as exc:
                error = self._transport_error(method, url, exc)
                # A connect timeout never reached the vendor; anything later might have been processed.
                repeatable = safe_to_repeat or isinstance(exc, requests.ConnectTimeout)
                if repeatable and attempt < self.max_attempts:
                    self._backoff(attempt, None)
                    continue
                raise error from exc

            status = response.status_code
            if status < 300 or status in allow_status:
                return response
            if status == 401 and auth is not None:
                if refreshed:
                    raise ConnectorError(
                        f"{self.vendor} rejected the credentials again after refreshing them (HTTP 401); "
                        "reconnect the system", kind="auth", permanent=True, status=401)
                refreshed = True
                self._count("refreshes")
                if auth.refresh():
                    attempt -= 1  # the refresh retry is not a transient-failure attempt
                    continue
            error = ConnectorError.from_response(response, vendor=self.vendor)
            repeatable = status in UNPROCESSED_STATUSES or (safe_to_repeat and status in RETRYABLE_STATUSES)
            if not repeatable or attempt >= self.max_attempts:
                raise error
            if error.retry_after is not None and error.retry_after > self.max_retry_wait:
                raise error
            self._backoff(attempt, error.retry_after)

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request`, then decode the JSON body (None for an empty one); bad JSON is a permanent error."""
        response = self.request(method, path, **kwargs)
        return self.decode(response)

    def decode(self, response: requests.Response) -> Any:
        """The JSON body of a response; a non-JSON body raises ConnectorError(kind="malformed")."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            snippet = " ".join(response.text.split())[:200]
            raise ConnectorError.malformed(
                f"{self.vendor} {response.request.method} {response.url}: HTTP {response.status_code} "
                f"with a body that is not JSON: {snippet!r}", status=response.status_code) from None

    def _send(self, method: str, url: str, *, auth: AuthStrategy | None, **kwargs: Any) -> requests.Response:
        budget = self.budget
        if budget is not None:
            budget.acquire()
        # Prepared (and so signed, or refreshed by the auth hook) before taking a concurrency slot: an auth
        # hook that makes its own request must never wait for a slot its caller holds.
        prepared = self.session.prepare_request(requests.Request(method, url, auth=auth, **kwargs))
        settings = self._environment_settings(prepared.url or url)
        self._count("requests")
        if budget is None:
            return self.session.send(prepared, timeout=self.timeout, **settings)
        with budget.slot():
            return self.session.send(prepared, timeout=self.timeout, **settings)

    def _environment_settings(self, url: str) -> dict[str, Any]:
        """`session.merge_environment_settings` for the URL's origin, cached while what it reads is unchanged."""
        session = self.session
        scheme_end = url.find("://") + 3
        path_start = url.find("/", scheme_end)
        origin = url if path_start < 0 else url[:path_start]
        key = (origin, tuple(map(os.environ.get, ENVIRONMENT_KEYS)), session.trust_env, tuple(session.proxies.items()),
               session.stream, session.verify, session.cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = session.merge_environment_settings(origin + "/", {}, None, None, None)
            if len(self._environment) > 64:
                self._environment.clear()
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}  # send() may not share our cached dicts

    def _transport_error(self, method: str, url: str, exc: requests.RequestException) -> ConnectorError:
        kind = "timeout" if isinstance(exc, requests.Timeout) else "server"
        return ConnectorError(f"{self.vendor} {method} {url}: {type(exc).__name__}: {exc}", kind=kind,
                              permanent=False)

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        """Exponential backoff with jitter; a vendor's Retry-After wins when it says longer."""
        self._count("retries")
        cap = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        delay = random.uniform(cap / 2, cap)
        if retry_after is not None:
            delay = max(delay, retry_after + random.uniform(0, self.backoff_base))
        self._sleep(delay)
