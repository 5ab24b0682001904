"""NetSuite SuiteTalk REST web services connector (record API + SuiteQL), see shared/contracts/netsuite.

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

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from connectors.base import (
    AuthCheck,
    Connector,
    ConnectorError,
    FieldInfo,
    Page,
    RecordError,
    RemoteRecord,
    WriteResult,
    error_message,
    format_timestamp,
    parse_timestamp,
)
from connectors.http import AuthStrategy, HttpClient
from connectors.registry import register

RECORD_PATH = "/services/rest/record/v1"
ASYNC_JOB_PATH = "/services/rest/async/v1/job"
# Batch writes: at most 100 records of one type per request, answered 202 with the async job's Location.
BATCH_MAX = 100
COLLECTION_CONTENT_TYPE = "application/vnd.oracle.resource+json; type=collection"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_CONCURRENCY = 5
SUITEQL_MAX_LIMIT = 1000
# SuiteQL prints dates in the user's date format (often date-only), so the cursor column is read with TO_CHAR,
# and literals are written with TO_TIMESTAMP, both in this format.
SUITEQL_TIME_FORMAT = "YYYY-MM-DD HH24:MI:SS"
WEBHOOK_TOLERANCE_SECONDS = 300

# Record type -> (SuiteQL table, extra condition selecting that type in a shared table).
SUITEQL_TABLES: dict[str, tuple[str, str | None]] = {
    "customer": ("customer", None),
    "contact": ("contact", None),
    "employee": ("employee", None),
    "priceLevel": ("pricelevel", None),
    "inventoryItem": ("item", "itemtype = 'InvtPart'"),
    "estimate": ("transaction", "type = 'Estimate'"),
    "salesOrder": ("transaction", "type = 'SalesOrd'"),
    "invoice": ("transaction", "type = 'CustInvc'"),
    "customerPayment": ("transaction", "type = 'CustPymt'"),
}
_JSON_SCHEMA_TYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean"}
# Record types whose changes() reads full records (sublists expanded) unless told otherwise: their lines matter.
SUBLISTS_BY_DEFAULT = frozenset({"estimate", "salesOrder", "invoice"})
# The address subrecord's SuiteQL columns (customerAddressbookEntityAddress) -> the record API's field names.
ADDRESS_COLUMNS = {"addressee": "addressee", "attention": "attention", "addr1": "addr1", "addr2": "addr2",
                   "addr3": "addr3", "city": "city", "state": "state", "zip": "zip", "country": "country",
                   "addrphone": "addrPhone", "addrtext": "addrText"}
# How SuiteQL prints dates and date-times when asked with TO_CHAR, matching the record API's strings.
SUITEQL_DATE_FORMAT = "YYYY-MM-DD"
SUITEQL_DATETIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
_COLUMN = re.compile(r"[a-z_][a-z0-9_]*")
_UNKNOWN_COLUMN = re.compile(r"Field '([^']+)' for record '[^']*' was not found", re.IGNORECASE)


# -- OAuth 1.0a (RFC 5849) -----------------------------------------------------------------------


def _pct(value: str) -> str:
    """RFC 3986 percent-encoding as RFC 5849 requires (only unreserved characters stay)."""
    return quote(value, safe="~")


def oauth1_base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """The RFC 5849 signature base string: method, base URL, and the URL's query plus `params`, normalised."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    pairs = sorted((_pct(k), _pct(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True) + params)
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), _pct(f"{scheme}://{netloc}{parts.path or '/'}"), _pct(normalized)))


def oauth1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """HMAC-SHA256 of the base string with key `consumerSecret&tokenSecret`, base64."""
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha256).digest()).decode()


def realm(account_id: str) -> str:
    """The TBA realm: the account id upper-case with underscores ("1234567-sb1" -> "1234567_SB1")."""
    return account_id.strip().upper().replace("-", "_")


class TbaSigner:
    """OAuth 1.0a (HMAC-SHA256) signing with the per-credential parts encoded once, not per request."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self._key = f"{_pct(credentials['consumer_secret'])}&{_pct(credentials['token_secret'])}".encode()
        consumer, token = _pct(credentials["consumer_key"]), _pct(credentials["token_id"])
        self._pairs = (("oauth_consumer_key", consumer), ("oauth_signature_method", "HMAC-SHA256"),
                       ("oauth_token", token), ("oauth_version", "1.0"))
        self._prefix = (f'OAuth realm="{_pct(realm(credentials["account_id"]))}", oauth_consumer_key="{consumer}", '
                        f'oauth_token="{token}", oauth_signature_method="HMAC-SHA256", ')
        self._bases: dict[str, str] = {}

    def _base_url(self, url: str) -> tuple[str, str]:
        """(percent-encoded normalised base URL, query) of a request URL; the origin's part is cached."""
        base, _, query = url.partition("?")
        base = base.partition("#")[0]
        path_start = base.find("/", base.find("://") + 3)
        origin, path = (base, "/") if path_start < 0 else (base[:path_start], base[path_start:])
        encoded = self._bases.get(origin)
        if encoded is None:
            parts = urlsplit(origin)
            scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
            netloc = host if port in (None, {"http": 80, "https": 443}.get(scheme)) else f"{host}:{port}"
            encoded = self._bases[origin] = _pct(f"{scheme}://{netloc}")
        return encoded + _pct(path), query.partition("#")[0]

    def header(self, method: str, url: str, *, timestamp: int | None = None, nonce: str | None = None) -> str:
        """The `Authorization: OAuth ...` header value for one request."""
        stamp = _pct(str(timestamp if timestamp is not None else int(time.time())))
        nonce = _pct(nonce) if nonce else secrets.token_hex(16)
        base, query = self._base_url(url)
        pairs = [*self._pairs, ("oauth_nonce", nonce), ("oauth_timestamp", stamp)]
        if query:
            pairs += [(_pct(k), _pct(v)) for k, v in parse_qsl(query, keep_blank_values=True)]
        pairs.sort()
        # Names and values are percent-encoded already, so encoding the joined string again only has to encode
        # "%", "=" and "&": the same result as _pct(), without its per-character slow path.
        normalized = "&".join(f"{k}={v}" for k, v in pairs).replace("%", "%25").replace("=", "%3D").replace("&", "%26")
        digest = hmac.new(self._key, f"{method.upper()}&{base}&{normalized}".encode(), hashlib.sha256).digest()
        signature = _pct(base64.b64encode(digest).decode())
        return f'{self._prefix}oauth_timestamp="{stamp}", oauth_nonce="{nonce}", oauth_version="1.0", ' \
               f'oauth_signature="{signature}"'


def tba_header(method: str, url: str, credentials: Mapping[str, str], *, timestamp: int | None = None,
               nonce: str | None = None) -> str:
    """The `Authorization: OAuth ...` header value for one request."""
    return TbaSigner(credentials).header(method, url, timestamp=timestamp, nonce=nonce)


class TokenBasedAuth(AuthStrategy):
    """Signs every request with OAuth 1.0a; a 401 cannot be fixed by refreshing, so `refresh` says no."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self.credentials = credentials
        self.signer = TbaSigner(credentials)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.signer.header(request.method or "GET", request.url or "")
        return request


# -- OAuth 2.0 client credentials ------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_assertion(client_id: str, certificate_id: str, private_key_pem: str, audience: str, *,
                     scope: str = "rest_webservices", now: float | None = None, lifetime: int = 300) -> str:
    """The signed JWT NetSuite's M2M token endpoint expects (ES256/384/512 for EC keys, PS256 for RSA)."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConnectorError(f"netsuite: private_key is not an unencrypted PEM key: {exc}", kind="config",
                             permanent=True) from None
    issued = int(now if now is not None else time.time())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        bits = key.curve.key_size
        alg, digest = {256: ("ES256", hashes.SHA256()), 384: ("ES384", hashes.SHA384())}.get(
            bits, ("ES512", hashes.SHA512()))
    elif isinstance(key, rsa.RSAPrivateKey):
        alg, digest = "PS256", hashes.SHA256()
    else:
        raise ConnectorError("netsuite: private_key must be an EC or RSA key", kind="config", permanent=True)
    header = {"typ": "JWT", "alg": alg, "kid": certificate_id}
    payload = {"iss": client_id, "scope": scope.split(","), "aud": audience, "iat": issued, "exp": issued + lifetime}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}".encode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")  # JWS wants raw r||s, not DER
    else:
        signature = key.sign(signing_input, padding.PSS(padding.MGF1(digest), digest.digest_size), digest)
    return f"{signing_input.decode()}.{b64url(signature)}"


class ClientCredentialsAuth(AuthStrategy):
    """Bearer tokens from the M2M token endpoint: fetched lazily, renewed before expiry and once on a 401."""

    def __init__(self, connector: NetSuiteConnector) -> None:
        self.connector = connector
        self._lock = threading.Lock()
        self._used = threading.local()
        creds = connector.credentials
        self._token_http: HttpClient | None = None
        self._token: str | None = creds.get("access_token")
        self._expires_at = float(creds.get("access_token_expires_at") or 0)
        self._margin = 60.0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            if not self._token or time.time() > self._expires_at - self._margin:
                self._fetch()
            token = self._token
        self._used.token = token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def refresh(self) -> bool:
        """Fetch a new token unless another thread already replaced the one that was refused."""
        with self._lock:
            if self._token == getattr(self._used, "token", None):
                self._fetch()
        return True

    @property
    def token_http(self) -> HttpClient:
        """A client for the token endpoint on the connector's session, without its concurrency cap.

        The auth hook runs while its request already holds a slot; fetching through the capped client could wait
        forever for slots held by requests that are themselves waiting for this token.
        """
        if self._token_http is None:
            http = self.connector.http
            self._token_http = HttpClient(http.base_url, vendor=http.vendor, timeout=http.timeout[1],
                                          max_attempts=http.max_attempts, backoff_base=http.backoff_base,
                                          session=http.session, url_guard=http.url_guard)
        return self._token_http

    def _fetch(self) -> None:
        creds = self.connector.credentials
        token_url = self.token_http.url(TOKEN_PATH)
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion(creds["client_id"], creds["certificate_id"], creds["private_key"],
                                                 token_url, scope=creds.get("scope", "rest_webservices")),
        }
        try:
            body = self.token_http.request_json("POST", TOKEN_PATH, data=form, authenticate=False)
        except ConnectorError as exc:
            if not exc.permanent:
                raise
            raise ConnectorError(f"netsuite: the token endpoint refused the client assertion: {exc.message}",
                                 kind="auth", permanent=True, status=exc.status, details=exc.details) from exc
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ConnectorError.malformed("netsuite: token response without access_token", details=body)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token, self._expires_at = body["access_token"], time.time() + lifetime
        self._margin = min(60.0, lifetime / 10)  # renew a little early, never so early a short token is useless
        self.connector.credentials_refreshed(
            {**creds, "access_token": self._token, "access_token_expires_at": self._expires_at})


# -- record shapes ---------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """Drop `links`, and turn expanded sublists ({items: [...]}) into plain lists of lines."""
    if isinstance(value, dict):
        if "items" in value and isinstance(value["items"], list):
            return [_clean(line) for line in value["items"]]
        return {k: _clean(v) for k, v in value.items() if k != "links"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _to_body(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A caller's record -> NetSuite request body; lists become sublists, which are replaced, not merged."""
    body: dict[str, Any] = {}
    sublists = []
    for name, value in record.items():
        if isinstance(value, list):
            body[name] = {"items": value}
            sublists.append(name)
        else:
            body[name] = value
    return body, sublists


def _location_id(response: requests.Response) -> str | None:
    """The internal id at the end of a `Location` header (".../customer/107" -> "107")."""
    location = response.headers.get("Location", "")
    last = urlsplit(location).path.rstrip("/").rpartition("/")[2]
    return last if last and not last.startswith("eid:") else None


def _write_key(index: int, record: Any, id_field: str | None) -> str:
    """The caller's match key of a record: its id_field value, else its position."""
    if isinstance(record, dict) and id_field and record.get(id_field):
        return str(record[id_field])
    return str(index)


def _job_id(response: requests.Response) -> str | None:
    """The async job id at the end of a `Location` header ("/services/rest/async/v1/job/42" -> "42")."""
    location = urlsplit(response.headers.get("Location", "")).path.rstrip("/")
    head, _, last = location.rpartition("/")
    return last if last and head.endswith("/job") else None


def _idempotency_conflict(response: requests.Response) -> bool:
    """A 400 saying the idempotency key was used already (the Location header names that request's job)."""
    try:
        body = response.json()
    except ValueError:
        return False
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    return isinstance(details, list) and any(isinstance(d, dict) and d.get("o:errorCode") == "IDEMPOTENCY_ERROR"
                                             for d in details) and _job_id(response) is not None


def _self_link_id(body: dict[str, Any]) -> str | None:
    """The last path segment of a body's `self` link."""
    for link in body.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
            return urlsplit(str(link["href"])).path.rstrip("/").rpartition("/")[2] or None
    return None


def _suiteql_literal(moment: datetime) -> str:
    """A UTC datetime as a SuiteQL TO_TIMESTAMP literal (whole seconds: NetSuite keeps no finer)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive means UTC, never the host's zone
    return f"TO_TIMESTAMP('{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}', '{SUITEQL_TIME_FORMAT}')"


# -- the connector ---------------------------------------------------------------------------------


# A sales order's customer is fixed once the order is fulfilled (in part), billed, closed or cancelled: NetSuite
# disables the field (the fulfilments and invoices are the customer's). Status as the REST record API reads it.
CUSTOMER_FIXED_STATUSES = frozenset({"Partially Fulfilled", "Pending Billing/Partially Fulfilled", "Pending Billing",
                                     "Billed", "Closed", "Cancelled"})


@register("netsuite")
class NetSuiteConnector(Connector):
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
        self._columns: dict[str, list[_Column]] = {}
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

    def totals(self, object: str, sums: Iterable[str], group_by: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Sums of number columns per group, added up by NetSuite: `SELECT <group>, SUM(<column>) AS sum_<column>
        FROM <table> [WHERE <type>] GROUP BY <group> ORDER BY <group>` -- one row per group comes back (paged by
        1000), not the records. Columns are SuiteQL column names (record field names in lower case). Each row:
        the group columns, and `sum_<column>` per summed column (absent when every value in the group is empty).
        """
        record_type = self.record_type(object)
        table, condition = SUITEQL_TABLES[record_type]
        sums, group_by = [c.lower() for c in sums], [c.lower() for c in group_by]
        bad = [c for c in [*sums, *group_by] if not _COLUMN.fullmatch(c)]
        if bad or not sums:
            raise self.config_error(f"cannot total {record_type} by columns {', '.join(bad) or '(none)'}")
        select = ", ".join([*group_by, *(f"SUM({column}) AS sum_{column}" for column in sums)])
        query = f"SELECT {select} FROM {table}" + (f" WHERE {condition}" if condition else "")
        if group_by:
            query += f" GROUP BY {', '.join(group_by)} ORDER BY {', '.join(group_by)}"  # ordered: stable pages
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page, has_more = self.suiteql(query, limit=SUITEQL_MAX_LIMIT, offset=offset)
            rows += [{k: v for k, v in row.items() if k != "links"} for row in page if isinstance(row, dict)]
            if not has_more or not page:
                return rows
            offset += len(page)

    def _get(self, record_type: str, ref: str) -> dict[str, Any]:
        """One record with its sublists expanded; raises ConnectorError (not_found, malformed, ...)."""
        body = self.http.request_json("GET", f"{RECORD_PATH}/{record_type}/{quote(ref, safe=':')}",
                                      params={"expandSubResources": "true"})
        if not isinstance(body, dict):
            raise ConnectorError.malformed(f"netsuite: {record_type} {ref} is not a JSON object", details=body)
        return body

    def _remote(self, record_type: str, body: dict[str, Any], fallback_time: datetime | None = None) -> RemoteRecord:
        """Record JSON -> RemoteRecord; a body without id or modification time is malformed."""
        record_id = body.get("id")
        if not isinstance(record_id, str | int) or isinstance(record_id, bool) or str(record_id) == "":
            raise ConnectorError.malformed(f"netsuite: {record_type} record without an id", details=body)
        try:
            updated = parse_timestamp(body.get("lastModifiedDate"))
        except ValueError:
            if fallback_time is None:
                raise ConnectorError.malformed(f"netsuite: {record_type} {record_id} has no lastModifiedDate",
                                               details=body) from None
            updated = fallback_time
        fields = _clean(body)
        refs = {name: [str(value["id"])] for name, value in fields.items()
                if isinstance(value, dict) and "id" in value and "refName" in value}
        return RemoteRecord(str(record_id), updated, fields, archived=fields.get("isInactive") is True,
                            associations=refs)

    def _fetch_many(self, record_type: str, ids: list[str],
                    times: Mapping[str, datetime] | None = None) -> tuple[list[RemoteRecord], list[RecordError]]:
        """GET records concurrently (within the concurrency cap); per-record problems become RecordErrors."""
        times = times or {}

        def one(record_id: str) -> RemoteRecord | RecordError:
            try:
                return self._remote(record_type, self._get(record_type, record_id), times.get(record_id))
            except ConnectorError as exc:
                if exc.kind in ("not_found", "malformed"):
                    return RecordError(record_id, vendor_error(exc).message, exc.details, kind=exc.kind)
                raise

        results = self._map(one, ids)
        records = [r for r in results if isinstance(r, RemoteRecord)]
        return records, [r for r in results if isinstance(r, RecordError)]

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
            fields.append(FieldInfo(name, str(prop.get("title") or name), _field_type(prop), name in required,
                                    [str(option) for option in prop.get("enum") or ()]))
        return fields

    def changes(self, object: str, since: datetime | None, page_size: int = 100,
                sublists: bool | list[str] | None = None) -> Iterator[Page]:
        """Records modified at or after `since`, oldest first, one page per SuiteQL page.

        SuiteQL finds the changed rows ordered by (lastmodifieddate, id). Without sublists (the default for
        customer, contact, employee, inventoryItem and priceLevel) the body fields come from those rows: one request
        per page of up to 1000 records. With sublists (`sublists=True` or a list of names such as ["addressBook"];
        the default for estimate, salesOrder and invoice, whose lines matter) each record is read from the record API
        with its sublists expanded: one GET per record (NetSuite expands every sublist, so a list of names only says
        that some are needed). The constructor's `sublists={type: bool}` changes a type's default. A customer's
        addressBook alone (`sublists=["addressBook"]`) is read from SuiteQL's address book tables instead: three
        queries per page (see `_address_books`), not a GET per customer.
        Both give `RemoteRecord.fields` the record API's shape (see `_Column`); the SuiteQL one leaves out sublists
        and fields SuiteQL does not expose.

        Pages are keyset-paged (each query starts after the last row seen, `hasMore` says whether to go on) instead
        of offset-paged: rows modified while we page move to the end of an offset-paged result and would shift
        unseen rows into pages already read.
        """
        record_type = self.record_type(object)
        table, condition = SUITEQL_TABLES[record_type]
        if sublists is None:
            full = self.sublists.get(record_type, record_type in SUBLISTS_BY_DEFAULT)
        else:
            full = bool(sublists)
        # A customer's address book has SuiteQL tables of its own: two queries a page instead of a GET a record.
        addresses = full and record_type == "customer" and isinstance(sublists, list) and set(sublists) == {
            "addressBook"}
        full = full and not addresses
        limit = max(1, min(int(page_size), SUITEQL_MAX_LIMIT))
        last: tuple[datetime, int] | None = None
        while True:
            where = [condition] if condition else []
            if last is not None:
                moment = _suiteql_literal(last[0])
                where.append(f"(lastmodifieddate > {moment} OR (lastmodifieddate = {moment} AND id > {last[1]}))")
            elif since is not None:
                where.append(f"lastmodifieddate >= {_suiteql_literal(since)}")
            tail = f" FROM {table}" + (f" WHERE {' AND '.join(where)}" if where else "") + \
                " ORDER BY lastmodifieddate, id"
            head = f"SELECT id, TO_CHAR(lastmodifieddate, '{SUITEQL_TIME_FORMAT}') AS modified"
            if full:
                rows, has_more = self.suiteql(head + tail, limit=limit)
            else:
                rows, has_more = self._suiteql_bodies(record_type, head, tail, limit)
            keyed, errors = _row_keys(rows)
            if full:
                times = {str(record_id): modified for modified, record_id, _ in keyed}
                records, fetch_errors = self._fetch_many(record_type, list(times), times)
                errors += fetch_errors
            else:
                records = []
                columns = self._columns[record_type]
                for modified, record_id, row in keyed:
                    try:
                        records.append(_row_record(record_id, modified, row, columns))
                    except (TypeError, ValueError) as exc:
                        errors.append(RecordError(str(record_id), f"netsuite: unreadable SuiteQL row: {exc}", row))
                if addresses and records:
                    books = self._address_books([int(r.external_id) for r in records])
                    for record in records:
                        record.fields["addressBook"] = books.get(int(record.external_id), [])
            page_last = max((modified, record_id) for modified, record_id, _ in keyed) if keyed else last
            if has_more and (page_last is None or (last is not None and page_last <= last)):
                raise ConnectorError.malformed(f"netsuite: SuiteQL paging of {record_type} made no progress")
            last = page_last
            yield Page(records, errors, format_timestamp(last[0]) if last else None)
            if not has_more:
                return

    def _suiteql_all(self, query: str) -> list[dict]:
        """Every row of a (small) SuiteQL query, page by page."""
        rows, offset = [], 0
        while True:
            page, has_more = self.suiteql(query, offset=offset)
            rows += page
            if not has_more or not page:
                return rows
            offset += len(page)

    def _address_books(self, customer_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """The addressBook sublist of each customer, in the record API's shape, from SuiteQL's address book
        tables: customerAddressbook (a customer's lines: default flags, label, the address's key) and
        customerAddressbookEntityAddress (the addresses by key)."""
        books: dict[int, list[dict[str, Any]]] = {}
        lines: dict[int, dict[str, Any]] = {}
        for start in range(0, len(customer_ids), SUITEQL_MAX_LIMIT):  # an IN list holds at most 1000 values
            ids = ", ".join(str(i) for i in customer_ids[start:start + SUITEQL_MAX_LIMIT])
            for row in self._suiteql_all(
                    "SELECT entity, internalid, addressbookaddress, defaultbilling, defaultshipping, label "
                    f"FROM customerAddressbook WHERE entity IN ({ids}) ORDER BY entity, internalid"):
                try:
                    entity, key = int(row["entity"]), int(row["addressbookaddress"])
                    line = {"line": int(row["internalid"]),
                            "defaultBilling": row.get("defaultbilling") == "T",
                            "defaultShipping": row.get("defaultshipping") == "T"}
                except (KeyError, TypeError, ValueError):
                    raise ConnectorError.malformed("netsuite: unreadable customerAddressbook row",
                                                   details=row) from None
                if row.get("label") is not None:
                    line["label"] = row["label"]
                books.setdefault(entity, []).append(line)
                lines[key] = line
        keys = list(lines)
        for start in range(0, len(keys), SUITEQL_MAX_LIMIT):
            chunk = ", ".join(str(k) for k in keys[start:start + SUITEQL_MAX_LIMIT])
            columns = ", ".join(ADDRESS_COLUMNS)
            for row in self._suiteql_all(f"SELECT nkey, {columns} FROM customerAddressbookEntityAddress "
                                         f"WHERE nkey IN ({chunk}) ORDER BY nkey"):
                line = lines.get(int(row.get("nkey") or 0))
                if line is not None:
                    line["addressBookAddress"] = {name: row[column] for column, name in ADDRESS_COLUMNS.items()
                                                  if row.get(column) is not None}
        return books

    def _body_columns(self, record_type: str) -> list[_Column]:
        """The record type's body fields as SuiteQL columns, from the metadata catalog (cached per connector)."""
        columns = self._columns.get(record_type)
        if columns is None:
            columns, seen = [], {"id"}
            for info in self.describe(record_type):
                column = info.name.lower()
                if info.type in ("sublist", "object") or column in seen or not _COLUMN.fullmatch(column):
                    continue
                seen.add(column)
                columns.append(_Column(info.name, column, info.type, f"c{len(columns)}"))
            self._columns[record_type] = columns
        return columns

    def _suiteql_bodies(self, record_type: str, head: str, tail: str, limit: int) -> tuple[list[dict], bool]:
        """One SuiteQL page with the body columns; a column SuiteQL does not know is dropped and the page re-read."""
        columns = self._body_columns(record_type)
        while True:
            select = ", ".join(column.select for column in columns)
            try:
                return self.suiteql(f"{head}, {select}{tail}" if select else head + tail, limit=limit)
            except ConnectorError as exc:
                unknown = _UNKNOWN_COLUMN.search(exc.message) if exc.kind == "validation" else None
                kept = [c for c in columns if unknown is None or c.column != unknown.group(1).lower()]
                if len(kept) == len(columns):
                    raise
                columns = self._columns[record_type] = kept

    def get_many(self, object: str, ids: list[str], sublists: bool | list[str] | None = None) -> list[RemoteRecord]:
        """Records by internal id (or "eid:<externalId>"); missing or unreadable ones are left out.

        Each is a full record GET, sublists included (`sublists` is accepted for symmetry with changes())."""
        records, _ = self._fetch_many(self.record_type(object), [str(i) for i in ids])
        return records

    def upsert_many(self, object: str, records: list[dict], id_field: str | None) -> list[WriteResult]:
        """Write the records with NetSuite's batch operations (one request per up to 100 records).

        `id_field="externalId"`: upsert (PUT, items carry externalId; NetSuite does not say whether it created, so
        `created` is None). `id_field="id"` (or None): update (PATCH, items carry id) when the record has an internal
        id, else create (POST). List values are sublists and replace the record's lines (`replace=<sublist>`), so
        records are batched by operation and by the sublists they replace. Batches run concurrently up to the
        account's limit; each is one async job (see `_write_batch`). A single record is written with one
        synchronous request instead (cheaper than submitting and polling a job).
        A problem with one record, or with its whole batch, becomes that record's `WriteResult.error`.
        """
        record_type = self.record_type(object)
        if id_field not in (None, "id", "externalId"):
            raise self.config_error(f"id_field must be 'id' or 'externalId' (or None), not {id_field!r}")
        if len(records) == 1:
            return [self._write_single(record_type, 0, records[0], id_field)]
        results: list[WriteResult | None] = [None] * len(records)
        groups: dict[tuple[str, tuple[str, ...]], list[tuple[int, str, dict[str, Any]]]] = {}
        for index, record in enumerate(records):
            key = _write_key(index, record, id_field)
            if not isinstance(record, dict):
                results[index] = WriteResult(False, None, key, error=ConnectorError(
                    "record must be a JSON object", kind="validation", permanent=True))
                continue
            fields = {k: v for k, v in record.items() if k not in ("id", "links")}
            if id_field == "externalId":
                if not fields.get("externalId"):
                    results[index] = WriteResult(False, None, key, error=ConnectorError(
                        "externalId is required for an upsert", kind="validation", permanent=True))
                    continue
                method = "PUT"
            elif record.get("id"):
                method = "PATCH"
                fields["id"] = str(record["id"])
            else:
                method = "POST"
            body, sublists = _to_body(fields)
            groups.setdefault((method, tuple(sublists) if method != "POST" else ()), []).append((index, key, body))
        batches = [(method, replace, entries[start:start + self.batch_size])
                   for (method, replace), entries in groups.items()
                   for start in range(0, len(entries), self.batch_size)]

        def run(method: str, replace: tuple[str, ...], entries: list[tuple[int, str, dict]]) -> list[WriteResult]:
            try:
                return self._write_batch(record_type, method, list(replace), entries)
            except ConnectorError as exc:
                error = vendor_error(exc)
                return [WriteResult(False, None, key, error=error) for _, key, _ in entries]

        for (_, _, entries), written in zip(batches, self._map(run, *zip(*batches, strict=True)) if batches else [],
                                            strict=True):
            for (index, _, _), result in zip(entries, written, strict=True):
                results[index] = result
        return [r for r in results if r is not None]

    def _write_single(self, record_type: str, index: int, record: Any, id_field: str | None) -> WriteResult:
        key = _write_key(index, record, id_field)
        try:
            if not isinstance(record, dict):
                raise ConnectorError("record must be a JSON object", kind="validation", permanent=True)
            return self._write_one(record_type, record, id_field, key)
        except ConnectorError as exc:
            return WriteResult(False, None, key, error=vendor_error(exc))

    def _write_batch(self, record_type: str, method: str, replace: list[str],
                     entries: list[tuple[int, str, dict[str, Any]]]) -> list[WriteResult]:
        """One batch request (POST create / PATCH update / PUT upsert), its async job awaited, one result per entry.

        The request carries `Prefer: respond-async`, the collection content type and an idempotency key made for
        this batch; the HTTP layer may repeat it (after a 5xx, a lost answer or a timeout) with the same key, and
        NetSuite then answers 400 IDEMPOTENCY_ERROR with the first job's Location, which is used: a retried batch is
        never written twice. The job is polled (at once, then with a doubling delay) until `completed`, then its
        tasks are read in one request with their results inlined (`expandSubResources=true`); task N is item N.
        Raises ConnectorError for a batch-level failure, kind "timeout" (transient) when the job does not complete
        within `poll_timeout`.
        """
        key = str(uuid.uuid4())
        headers = {"Prefer": "respond-async", "Content-Type": COLLECTION_CONTENT_TYPE,
                   "X-NetSuite-Idempotency-Key": key}
        response = self.http.request(method, f"{RECORD_PATH}/{record_type}", json={"items": [e[2] for e in entries]},
                                     headers=headers, params=_replace(replace), idempotent=True,
                                     allow_status=frozenset({400}))
        if response.status_code == 400 and not _idempotency_conflict(response):
            raise ConnectorError.from_response(response, vendor=self.vendor)
        job_id = _job_id(response)
        if job_id is None:
            raise ConnectorError.malformed(
                f"netsuite: batch {method} of {len(entries)} {record_type} records was accepted (HTTP "
                f"{response.status_code}) without a Location naming its job; idempotency key {key}",
                status=response.status_code)
        self._await_job(job_id, f"batch {method} of {len(entries)} {record_type} records", key)
        tasks = self._job_tasks(job_id)
        results = []
        for position, (_, match_key, item) in enumerate(entries, start=1):
            task = tasks.get(str(position))
            try:
                if task is None:
                    raise ConnectorError.malformed(f"netsuite: async job {job_id} has no task {position} for this "
                                                   "record", details={"job": job_id})
                results.append(self._task_result(job_id, method, record_type, match_key, item, task))
            except ConnectorError as exc:
                results.append(WriteResult(False, None, match_key, error=vendor_error(exc)))
        return results

    def _await_job(self, job_id: str, what: str, key: str) -> None:
        """Poll the job until it reports `completed`; a transient timeout error naming the job after poll_timeout."""
        deadline = time.monotonic() + self.poll_timeout
        delay = self.poll_interval
        while True:
            status = self.http.request_json("GET", f"{ASYNC_JOB_PATH}/{job_id}")
            if not isinstance(status, dict):
                raise ConnectorError.malformed(f"netsuite: async job {job_id} status is not a JSON object",
                                               details=status)
            if status.get("completed") is True:
                return
            if time.monotonic() + delay > deadline:
                raise ConnectorError(
                    f"netsuite: async job {job_id} ({what}) did not complete within {self.poll_timeout:g}s "
                    f"(progress {status.get('progress')!r}); it may still write them, look at "
                    f"{ASYNC_JOB_PATH}/{job_id} before writing them again", kind="timeout", permanent=False,
                    details={"job": job_id, "idempotency_key": key, "status": status})
            time.sleep(delay)
            delay = min(delay * 2, self.poll_max_interval)

    def _job_tasks(self, job_id: str) -> dict[str, dict[str, Any]]:
        """The completed job's tasks by id, with results inlined (one request per 1000 tasks)."""
        tasks: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            envelope = self.http.request_json("GET", f"{ASYNC_JOB_PATH}/{job_id}/task", params={
                "expandSubResources": "true", "limit": SUITEQL_MAX_LIMIT, "offset": offset})
            items = envelope.get("items") if isinstance(envelope, dict) else None
            if not isinstance(items, list):
                raise ConnectorError.malformed(f"netsuite: the task list of async job {job_id} is not a collection",
                                               details=envelope)
            for task in items:
                if isinstance(task, dict) and task.get("id") is not None:
                    tasks[str(task["id"])] = task
            if not envelope.get("hasMore") or not items:
                return tasks
            offset += len(items)

    def _task_result(self, job_id: str, method: str, record_type: str, key: str, item: dict[str, Any],
                     task: dict[str, Any]) -> WriteResult:
        """One record's outcome from its task: the written record's id, or the vendor's error."""
        result = task.get("result")
        if result is None:  # not inlined: read the task's result resource
            result = self.http.request_json("GET", f"{ASYNC_JOB_PATH}/{job_id}/task/{task['id']}/result")
        if not isinstance(result, dict):
            raise ConnectorError.malformed(f"netsuite: async job {job_id} task {task.get('id')} has no result",
                                           details=task)
        if task.get("progress") != "succeeded":
            status = result.get("status") if isinstance(result.get("status"), int) else 400
            raise ConnectorError.for_status(status, f"netsuite HTTP {status}: {error_message(result)}",
                                            details=result)
        internal_id = result.get("id") or _self_link_id(result) or (item.get("id") if method == "PATCH" else None)
        if not internal_id:
            raise ConnectorError.malformed(f"netsuite: async job {job_id} wrote {record_type} {key} but its result "
                                           "has no id; do not retry blindly", details=result)
        return WriteResult(True, str(internal_id), key, created={"POST": True, "PATCH": False}.get(method))

    def _write_one(self, record_type: str, record: dict, id_field: str | None, key: str) -> WriteResult:
        path = f"{RECORD_PATH}/{record_type}"
        fields = {k: v for k, v in record.items() if k not in ("id", "links")}
        if id_field == "externalId":
            external = fields.pop("externalId", None)
            if not external:
                raise ConnectorError("externalId is required for an upsert", kind="validation", permanent=True)
            body, sublists = _to_body(fields)
            ref = f"eid:{external}"
            response = self.http.request("PUT", f"{path}/{quote(ref, safe=':')}", json=body,
                                         params=_replace(sublists))
            internal_id = _location_id(response) or self._internal_id(record_type, ref)
            return WriteResult(True, internal_id, key, created=None)
        body, sublists = _to_body(fields)
        if record.get("id"):
            self.http.request("PATCH", f"{path}/{record['id']}", json=body, params=_replace(sublists))
            return WriteResult(True, str(record["id"]), key, created=False)
        response = self.http.request("POST", path, json=body)
        internal_id = _location_id(response)
        if internal_id is None:
            raise ConnectorError.malformed(
                f"netsuite: created {record_type} but the response has no Location with its id; "
                "do not retry blindly (it may duplicate the record)", status=response.status_code)
        return WriteResult(True, internal_id, key, created=True)

    def _internal_id(self, record_type: str, ref: str) -> str:
        """Look up the internal id of a record addressed by eid: (when a response omitted Location)."""
        body = self.http.request_json("GET", f"{RECORD_PATH}/{record_type}/{quote(ref, safe=':')}",
                                      params={"fields": "id"})
        if not isinstance(body, dict) or not body.get("id"):
            raise ConnectorError.malformed(f"netsuite: {record_type} {ref} has no id", details=body)
        return str(body["id"])

    def webhook_records(self, payload: Any) -> list[tuple[str, str]]:
        """Our signed notifications: {"recordType": "customer", "id": "100"} or a list of them."""
        events = payload if isinstance(payload, list) else [payload]
        return [(str(e["recordType"]), str(e["id"])) for e in events
                if isinstance(e, dict) and e.get("recordType") and e.get("id") not in (None, "")]

    def verify_webhook(self, method: str, uri: str, body: bytes, headers: Mapping[str, str],
                       now: float | None = None) -> bool:
        """Our own scheme for NetSuite-side scripts (NetSuite has no signed webhooks).

        The script sends `X-NetSuite-Timestamp: <unix seconds>` and
        `X-NetSuite-Signature: v1=<hex HMAC-SHA256(webhook_secret, "<timestamp>.<METHOD>.<uri>.<body>")>`;
        calls older or newer than 5 minutes, unsigned, or signed with another secret are rejected.
        """
        secret = self.credentials.get("webhook_secret")
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp, signature = lower.get("x-netsuite-timestamp", ""), lower.get("x-netsuite-signature", "")
        if not secret or not timestamp.isdigit() or not signature.startswith("v1="):
            return False
        current = time.time() if now is None else now
        if abs(current - int(timestamp)) > WEBHOOK_TOLERANCE_SECONDS:
            return False
        expected = webhook_signature(secret, timestamp, method, uri, body)
        return hmac.compare_digest(signature[3:], expected)


def vendor_error(exc: ConnectorError) -> ConnectorError:
    """The error with every o:errorDetails entry (code, pointer, text) in its message, for the held-record view."""
    details = exc.details.get("o:errorDetails") if isinstance(exc.details, dict) else None
    if not isinstance(details, list) or not details:
        return exc
    parts = []
    for item in details:
        if isinstance(item, dict):
            where = item.get("o:errorPath") or item.get("o:errorQueryParam") or item.get("o:errorHeader")
            parts.append(f"{item.get('o:errorCode', 'ERROR')}{f' at {where}' if where else ''}: {item.get('detail')}")
    return ConnectorError(f"netsuite HTTP {exc.status}: {'; '.join(parts)}", kind=exc.kind, permanent=exc.permanent,
                          status=exc.status, retry_after=exc.retry_after, details=exc.details)


def webhook_signature(secret: str, timestamp: str, method: str, uri: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over "<timestamp>.<METHOD>.<uri>.<body>" (what a NetSuite script must send)."""
    message = f"{timestamp}.{method.upper()}.{uri}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _replace(sublists: list[str]) -> dict[str, str] | None:
    """The `replace` query parameter that makes the given sublists exactly the lines we send."""
    return {"replace": ",".join(sublists)} if sublists else None


def _row_keys(rows: list[Any]) -> tuple[list[tuple[datetime, int, dict]], list[RecordError]]:
    """(modified, id, row) of each SuiteQL row; rows without a numeric id or a readable time are errors."""
    keyed, errors = [], []
    for row in rows:
        raw_id = row.get("id") if isinstance(row, dict) else None
        try:
            record_id = int(str(raw_id))
            modified = parse_timestamp(row["modified"])
        except (KeyError, TypeError, ValueError):
            errors.append(RecordError(str(raw_id) if raw_id is not None else None,
                                      "netsuite: SuiteQL row without a numeric id or modification time", row))
            continue
        keyed.append((modified, record_id, row))
    return keyed, errors


class _Column:
    """One body field read through SuiteQL, and how its text becomes the record API's value.

    SuiteQL names columns in lower case and prints values as text; the record API's shape is restored from the
    metadata catalog: booleans 'T'/'F' -> True/False, integers -> int, numbers -> int when printed without a
    fraction else float, dates and date-times read with TO_CHAR as "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM:SSZ", and
    references (the internal id) -> {"id", "refName"} with the name from BUILTIN.DF. Null columns are absent, as
    null fields are on a record GET.
    """

    __slots__ = ("name", "column", "kind", "alias", "select", "key")

    def __init__(self, name: str, column: str, kind: str, alias: str) -> None:
        self.name, self.column, self.kind, self.alias = name, column, kind, alias
        self.key = column
        if kind in ("date", "datetime"):
            fmt = SUITEQL_DATE_FORMAT if kind == "date" else SUITEQL_DATETIME_FORMAT
            self.select, self.key = f"TO_CHAR({column}, '{fmt}') AS {alias}", alias
        elif kind == "reference":
            self.select = f"{column}, BUILTIN.DF({column}) AS {alias}"
        else:
            self.select = column


def _number(text: Any) -> int | float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return text
    text = str(text)
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _row_record(record_id: int, modified: datetime, row: dict[str, Any], columns: list[_Column]) -> RemoteRecord:
    """A SuiteQL row (body columns) -> RemoteRecord with the record API's field names and types."""
    fields: dict[str, Any] = {"id": str(record_id)}
    refs: dict[str, list[str]] = {}
    for column in columns:
        value = row.get(column.key)
        if value is None:
            continue
        kind = column.kind
        if kind == "string" or kind == "date" or kind == "datetime":
            fields[column.name] = value
        elif kind == "boolean":
            fields[column.name] = value in ("T", "t", "true", True)
        elif kind == "number":
            fields[column.name] = _number(value)
        elif kind == "integer":
            fields[column.name] = int(value)
        elif kind == "reference":
            ref_id = str(value)
            fields[column.name] = {"id": ref_id, "refName": str(row.get(column.alias) or ref_id)}
            refs[column.name] = [ref_id]
        else:
            fields[column.name] = value
    return RemoteRecord(str(record_id), modified, fields, archived=fields.get("isInactive") is True,
                        associations=refs)


def _field_type(prop: Mapping[str, Any]) -> str:
    """JSON Schema property -> our field type name."""
    ref = str(prop.get("$ref") or "")
    if ref:
        return "sublist" if ref.endswith("Collection") else "reference"
    kind = prop.get("type")
    if kind == "string" and prop.get("format") in ("date", "date-time"):
        return "date" if prop["format"] == "date" else "datetime"
    return _JSON_SCHEMA_TYPES.get(str(kind), str(kind or "object"))
