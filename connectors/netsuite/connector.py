"""NetSuite SuiteTalk REST web services connector (record API + SuiteQL), see shared/contracts/netsuite: the
class the registry serves, its auth choice, worker pool, SuiteQL and schema; reading, writing, webhooks and counts
are its mixins (one module each).

Credentials (one of two schemes; `account_id` is always the account, e.g. "1234567_SB1"):
- token-based auth (OAuth 1.0a, HMAC-SHA256): account_id, consumer_key, consumer_secret, token_id, token_secret;
- OAuth 2.0 client credentials (M2M): client_id, certificate_id, private_key (PEM, EC P-256/384/521 or RSA),
  optional scope (default "rest_webservices"); the connector caches access_token + access_token_expires_at and
  hands them to `on_credentials_refreshed`.
Optional: webhook_secret (see `verify_webhook`), concurrency_limit (the account's concurrent-request limit, default 5).
Option `sublists={record type: bool}`: whether `changes()` reads full records with sublists (one GET per record)
instead of body fields from SuiteQL rows (one request per page); by default only transactions do.
Writes of more than one record use NetSuite's batch operations (async jobs): options `batch_size` (1-100),
`poll_interval`, `poll_max_interval` and `poll_timeout` (seconds) say how the jobs are polled; see `upsert_many`.

The integration user's time zone must be UTC: SuiteQL reads and prints dates in the user's zone.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import requests

from connectors.base import AuthCheck, Connector, ConnectorError, Deactivation, FieldInfo
from connectors.http import AuthStrategy
from connectors.netsuite.auth import ClientCredentialsAuth, TokenBasedAuth
from connectors.netsuite.counts import NetSuiteCounts
from connectors.netsuite.reading import NetSuiteReads
from connectors.netsuite.records import (
    CUSTOMER_FIXED_STATUSES,
    INACTIVE_FIELD,
    RECORD_PATH,
    SUITEQL_TABLES,
    field_type,
)
from connectors.netsuite.suiteql import SUITEQL_MAX_LIMIT, SUITEQL_PATH, Column
from connectors.netsuite.webhooks import NetSuiteWebhooks
from connectors.netsuite.writing import BATCH_MAX, NetSuiteWrites
from connectors.registry import register

DEFAULT_CONCURRENCY = 5


@register("netsuite")
class NetSuiteConnector(NetSuiteReads, NetSuiteWrites, NetSuiteWebhooks, NetSuiteCounts, Connector):
    """SuiteTalk REST: SuiteQL for change detection, the record API for bodies and writes."""

    max_concurrency = DEFAULT_CONCURRENCY
    # <account>.suitetalk.api.netsuite.com (REST and SuiteQL, token endpoint included).
    vendor_hosts = (".suitetalk.api.netsuite.com",)

    @classmethod
    def write_locks(cls, object: str, current: Mapping[str, Any]) -> dict[str, str]:
        """A fulfilled, billed, closed or cancelled sales order keeps its customer (`entity`)."""
        status = current.get("status")
        if isinstance(status, dict):  # {"id": "G", "refName": "Billed"} in some accounts' payloads
            status = status.get("refName")
        if object == "salesOrder" and status in CUSTOMER_FIXED_STATUSES:
            return {"entity": f"NetSuite does not let the customer of a {str(status).lower()} sales order change; "
                              "cancel it and place a new order for the new customer, or move the deal back"}
        return {}

    # Creates go through an upsert by externalId: a retried create updates instead of duplicating.
    create_key = ("externalId", "externalId")
    # NetSuite merges no record through REST: a duplicate is marked inactive, and its comments say where it went.
    deactivation = Deactivation(INACTIVE_FIELD, inactive=True, active=False)
    note_field = "comments"

    def __init__(self, base_url: str, credentials: Mapping[str, Any], *, concurrency: int | None = None,
                 sublists: Mapping[str, bool] | None = None, batch_size: int = BATCH_MAX,
                 poll_interval: float = 0.2, poll_max_interval: float = 5.0, poll_timeout: float = 600.0,
                 **options: Any) -> None:
        # Batch writes: records per request (1-100), and how the async job is polled: first at once, then after
        # poll_interval seconds, doubling up to poll_max_interval, giving up after poll_timeout seconds.
        self.batch_size = max(1, min(int(batch_size), BATCH_MAX))
        self.poll_interval, self.poll_max_interval = float(poll_interval), float(poll_max_interval)
        self.poll_timeout = float(poll_timeout)
        # The account's concurrent-request limit caps our parallel requests (more would only earn 429s).
        self.max_concurrency = int(concurrency or credentials.get("concurrency_limit") or DEFAULT_CONCURRENCY)
        # record type -> whether changes() reads full records with sublists (default: transactions only).
        self.sublists = {self.record_type(name): bool(on) for name, on in (sublists or {}).items()}
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._columns: dict[str, list[Column]] = {}
        root = base_url.rstrip("/").removesuffix("/services/rest")
        super().__init__(root, credentials, **options)

    def close(self) -> None:
        """Stop the worker threads and release pooled connections."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        super().close()

    def build_auth(self) -> AuthStrategy:
        """TBA when token credentials are given, else OAuth 2.0 client credentials."""
        creds = self.credentials
        tba = ("account_id", "consumer_key", "consumer_secret", "token_id", "token_secret")
        m2m = ("client_id", "certificate_id", "private_key")
        if all(creds.get(key) for key in tba):
            return TokenBasedAuth(creds)
        if all(creds.get(key) for key in m2m):
            return ClientCredentialsAuth(self)
        raise self.config_error(f"credentials need either {', '.join(tba)} (token-based auth) "
                                f"or {', '.join(m2m)} (OAuth 2.0 client credentials)")

    # -- helpers ---------------------------------------------------------------------------

    def record_type(self, object: str) -> str:
        """Canonical record type name (case-insensitive); unknown types are a config error."""
        for name in SUITEQL_TABLES:
            if name.lower() == object.lower():
                return name
        raise self.config_error(f"unsupported record type {object!r}; supported: {', '.join(SUITEQL_TABLES)}")

    def _map(self, func: Callable[..., Any], *iterables: Any) -> list[Any]:
        """`func` over the inputs, up to `max_concurrency` at a time, results in input order.

        Each of at most `max_concurrency` workers (threads of one pool kept per connector) takes the next input
        until none is left, so the caller waits once per worker, not once per input: a thread hand-off per record
        cost more CPU than the rest of our per-record work. One input, or a concurrency of 1, runs inline.
        An exception stops the other workers from taking more inputs and is raised here.
        """
        jobs = list(zip(*iterables, strict=True))
        workers = min(self.max_concurrency or 1, len(jobs))
        if workers <= 1:
            return [func(*job) for job in jobs]
        results: list[Any] = [None] * len(jobs)
        indexes = iter(range(len(jobs)))  # next() on a range iterator is atomic: no lock needed
        failed = threading.Event()

        def work() -> None:
            for index in indexes:
                if failed.is_set():
                    return
                try:
                    results[index] = func(*jobs[index])
                except BaseException:
                    failed.set()
                    raise

        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.max_concurrency or 1,
                                                    thread_name_prefix="netsuite")
            executor = self._executor
        futures = [executor.submit(work) for _ in range(workers)]
        wait(futures)  # every worker has stopped before an error is raised: no request outlives this call
        for future in futures:
            future.result()
        return results

    def _decode(self, response: requests.Response) -> Any:
        return self.http.decode(response)

    def suiteql(self, query: str, *, limit: int = SUITEQL_MAX_LIMIT, offset: int = 0) -> tuple[list[dict], bool]:
        """One page of a SuiteQL query: (rows, hasMore)."""
        envelope = self.http.request_json(
            "POST", SUITEQL_PATH, params={"limit": limit, "offset": offset}, json={"q": query},
            headers={"Prefer": "transient"}, idempotent=True)  # a query changes nothing: safe to repeat
        if not isinstance(envelope, dict) or not isinstance(envelope.get("items"), list):
            raise ConnectorError.malformed("netsuite: SuiteQL answer is not a collection envelope", details=envelope)
        return envelope["items"], bool(envelope.get("hasMore"))

    # -- Connector API ---------------------------------------------------------------------

    def check_auth(self) -> AuthCheck:
        """A one-row SuiteQL query proves the credentials and the REST web services permission."""
        try:
            self.suiteql("SELECT id FROM customer", limit=1)
        except ConnectorError as exc:
            return AuthCheck(False, exc.message)
        return AuthCheck(True, "NetSuite accepted the credentials")

    def read_options(self, object: str, paths: Iterable[str]) -> dict[str, Any]:
        """Ask for sublists (one GET per record) only when a path reaches into one."""
        roots = {path.split(".", 1)[0] for path in paths}
        sublists = sorted(f.name for f in self.describe(object) if f.type == "sublist" and f.name in roots)
        return {"sublists": sublists} if sublists else {}

    def describe(self, object: str) -> list[FieldInfo]:
        """Fields and types from the metadata catalog's JSON Schema."""
        record_type = self.record_type(object)
        response = self.http.request("GET", f"{RECORD_PATH}/metadata-catalog/{record_type}",
                                     headers={"Accept": "application/schema+json"})
        schema = self._decode(response)
        if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
            raise ConnectorError.malformed(f"netsuite: metadata for {record_type} has no properties", details=schema)
        required = set(schema.get("required") or ())
        fields = []
        for name, prop in schema["properties"].items():
            if not isinstance(prop, dict):
                continue
            fields.append(FieldInfo(name, str(prop.get("title") or name), field_type(prop), name in required,
                                    [str(option) for option in prop.get("enum") or ()]))
        return fields
