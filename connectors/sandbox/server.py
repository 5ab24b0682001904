"""Infrastructure shared by the vendor emulators: HTTP server, routing, store, auth and fault knobs.

Standard library only, so an emulator starts in milliseconds inside a test or as a subprocess.
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import secrets
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TOKEN = "sandbox-token"
ADMIN_PREFIX = "/__sandbox__/"

# Every emulator understands these knobs; a vendor may add its own in `Emulator.extra_knobs`.
BASE_KNOBS: dict[str, Any] = {
    "rate_limit": None,          # {"requests": N, "per_seconds": S} -> 429 with Retry-After beyond it
    "error_rate": 0.0,           # share of API requests answered 500/503
    "latency_ms": 0,             # added to every API request
    "timeout_rate": 0.0,         # share of API requests that hang `hang_seconds`, then drop the connection
    "hang_seconds": 5.0,
    "token_ttl_seconds": 1800,   # lifetime of access tokens the emulator issues (not the static token)
    "renamed_fields": {},        # {object: {old: new}}: a schema change
    "removed_fields": {},        # {object: [name, ...]}
    "fail_next": 0,              # the next N API requests fail with `fail_status` (deterministic 5xx)
    "fail_status": 503,
    "timeout_next": 0,           # the next N API requests hang (deterministic timeout)
    "garble_next": 0,            # the next N API responses are replaced by `garble_mode`:
    "garble_mode": "html_502",   # html_502 (a proxy's error page), html_200, invalid_json (200, cut short)
}

GARBLED = {
    "html_502": (502, b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
                 "text/html"),
    "html_200": (200, b"<!DOCTYPE html><html><body><h1>Scheduled maintenance</h1></body></html>", "text/html"),
    "invalid_json": (200, b'{"results": [{"id": "1", "properties": {"name": "Acm', "application/json"),
}


def now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds, the way vendors print it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def correlation_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class Request:
    """A parsed HTTP request; `match` holds the route's regex groups."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    match: re.Match | None = None

    def json(self) -> Any:
        """The JSON body; a malformed body is a 400 like the vendor would send."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise HttpError(400, "Invalid input JSON on line 1", category="VALIDATION_ERROR") from None

    def form(self) -> dict[str, str]:
        """A form-encoded body as a flat dict."""
        return {key: values[-1] for key, values in parse_qs(self.body.decode()).items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """A repeated or comma-separated query parameter, flattened."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]

    def group(self, name: str) -> str:
        """A path segment captured by the route, percent-decoded (ids may be emails)."""
        assert self.match is not None
        return unquote(self.match.group(name))

    @property
    def bearer_token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:].strip() if header[:7].lower() == "bearer " else None


@dataclass(slots=True)
class Response:
    """What a handler returns: status, body bytes and headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(),
                    {"Content-Type": "application/json;charset=utf-8", **(headers or {})})


class HttpError(Exception):
    """Raised by a handler to answer with the vendor's error shape."""

    def __init__(self, status: int, message: str, *, category: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.headers = headers or {}
        self.extra = extra


class DropConnection(Exception):
    """Close the socket without answering (a simulated timeout)."""


def route(method: str, pattern: str, *, auth: bool = True) -> Callable[[Callable], Callable]:
    """Mark an Emulator method as the handler of `method` on paths matching `pattern` (full match)."""

    def decorator(func: Callable) -> Callable:
        func.__dict__.setdefault("_routes", []).append((method.upper(), pattern, auth))
        return func

    return decorator


class Store:
    """In-memory tables (name -> {id -> JSON-able value}) behind one lock, optionally saved to a JSON file."""

    def __init__(self, state_file: str | None = None, *, save_delay: float = 0.5) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Any]] = {}
        self.state_file = state_file
        self.save_delay = save_delay
        self._timer: threading.Timer | None = None
        if state_file and os.path.exists(state_file):
            self.load()

    def table(self, name: str) -> dict[str, Any]:
        """The named table, created empty on first use."""
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = {}
        return table

    def next_id(self, sequence: str, start: int = 1) -> int:
        """The next value of a named counter (kept in the store, so it survives a restart)."""
        counters = self.table("_sequences")
        value = counters.get(sequence, start - 1) + 1
        counters[sequence] = value
        return value

    def clear(self) -> None:
        with self.lock:
            self.tables.clear()
            self.changed()

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {name: len(rows) for name, rows in self.tables.items() if not name.startswith("_")}

    def changed(self) -> None:
        """Note a write; the file is saved after `save_delay` so a burst of writes costs one save."""
        if not self.state_file or self._timer is not None:
            return
        self._timer = threading.Timer(self.save_delay, self.save)
        self._timer.daemon = True
        self._timer.start()

    def save(self) -> None:
        """Write the state file atomically (temp file + rename)."""
        if not self.state_file:
            return
        with self.lock:
            self._timer = None
            payload = json.dumps(self.tables, separators=(",", ":"))
        directory = os.path.dirname(os.path.abspath(self.state_file))
        fd, tmp = tempfile.mkstemp(prefix=".sandbox-", suffix=".json", dir=directory)
        with os.fdopen(fd, "w") as handle:
            handle.write(payload)
        os.replace(tmp, self.state_file)

    def load(self) -> None:
        with open(self.state_file or "") as handle:
            data = json.load(handle)
        with self.lock:
            self.tables = {name: dict(rows) for name, rows in data.items()}

    def flush(self) -> None:
        """Save now if a save is pending."""
        timer = self._timer
        if timer is not None:
            timer.cancel()
            self.save()


class Emulator:
    """A vendor API served from a Store; subclasses declare routes with @route and their error shape."""

    vendor: ClassVar[str] = ""
    extra_knobs: ClassVar[dict[str, Any]] = {}
    _route_table: ClassVar[list[tuple[str, re.Pattern, bool, str]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = []
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                for method, pattern, auth in getattr(value, "_routes", ()):
                    table.append((method, re.compile(pattern), auth, name))
        cls._route_table = table

    def __init__(self, *, token: str = DEFAULT_TOKEN, state_file: str | None = None,
                 faults: dict[str, Any] | None = None) -> None:
        self.token = token
        self.store = Store(state_file)
        self.knobs: dict[str, Any] = {**BASE_KNOBS, **self.extra_knobs}
        self.issued_tokens: dict[str, float] = {}   # access token -> issued at (monotonic)
        self.request_log: deque[tuple[str, str, int]] = deque(maxlen=100_000)
        self.request_counts: Counter[str] = Counter()
        self._sent: deque[float] = deque()
        self._knob_lock = threading.Lock()
        self._random = random.Random()
        if not self.store.tables:
            self.setup()
        if faults:
            self.set_faults(**faults)

    # -- hooks for vendors -------------------------------------------------------------------

    def setup(self) -> None:
        """Create the empty schema (standard fields etc.) after start or reset."""

    presets: ClassVar[tuple[str, ...]] = ()

    def seed(self, preset: str) -> dict[str, int]:
        """Load a named data set; returns counts per table."""
        raise HttpError(400, f"unknown seed preset {preset!r}; known: {', '.join(self.presets) or 'none'}")

    def error_payload(self, status: int, message: str, category: str | None, extra: dict[str, Any]) -> Any:
        """The vendor's error body."""
        return {"status": "error", "message": message, "category": category or "ERROR", **extra}

    def authenticate(self, request: Request) -> None:
        """Raise HttpError(401) unless the request carries an accepted token."""
        token = request.bearer_token
        if token is None:
            raise HttpError(401, "Authentication credentials not found.", category="INVALID_AUTHENTICATION")
        if token == self.token:
            return
        issued = self.issued_tokens.get(token)
        if issued is None:
            raise HttpError(401, "The access token is not valid.", category="INVALID_AUTHENTICATION")
        if time.monotonic() - issued >= float(self.knobs["token_ttl_seconds"]):
            raise HttpError(401, "The OAuth token used to make this call expired.", category="EXPIRED_AUTHENTICATION")

    def issue_token(self) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        token = secrets.token_urlsafe(24)
        self.issued_tokens[token] = time.monotonic()
        ttl = float(self.knobs["token_ttl_seconds"])
        return token, max(1, math.ceil(ttl)) if ttl > 0 else 0  # whole seconds, as vendors report it

    # -- schema-change knobs -----------------------------------------------------------------

    def renamed(self, object_type: str) -> dict[str, str]:
        return self.knobs["renamed_fields"].get(object_type, {})

    def removed(self, object_type: str) -> set[str]:
        return set(self.knobs["removed_fields"].get(object_type, ()))

    def hidden_fields(self, object_type: str) -> set[str]:
        """Stored field names a client can no longer see or write (renamed away or removed)."""
        return self.removed(object_type) | set(self.renamed(object_type))

    def expose(self, object_type: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Stored field names -> the names clients see after a simulated schema change."""
        renamed, removed = self.renamed(object_type), self.removed(object_type)
        if not renamed and not removed:
            return fields
        return {renamed.get(name, name): value for name, value in fields.items() if name not in removed}

    def internal_name(self, object_type: str, name: str) -> str | None:
        """A client-visible field name -> the stored name; None when the field no longer exists."""
        if name in self.hidden_fields(object_type):
            return None
        for old, new in self.renamed(object_type).items():
            if new == name:
                return old
        return name

    # -- knobs -------------------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault knobs at run time; unknown names are refused."""
        unknown = set(changes) - set(self.knobs)
        if unknown:
            raise HttpError(400, f"unknown fault knobs: {', '.join(sorted(unknown))}; known: "
                            f"{', '.join(sorted(self.knobs))}")
        with self._knob_lock:
            self.knobs.update(changes)
            self._sent.clear()
        return dict(self.knobs)

    def reset(self) -> None:
        """Empty the store, clear the knobs and logs, recreate the schema."""
        with self.store.lock:
            self.store.clear()
            self.setup()
        with self._knob_lock:
            self.knobs = {**BASE_KNOBS, **self.extra_knobs}
            self._sent.clear()
        self.request_log.clear()
        self.request_counts.clear()

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request: admin endpoints, then faults, routing, auth and the handler."""
        if request.path.startswith(ADMIN_PREFIX):
            return self._safely(self._admin, request)
        response = self._safely(self._api, request)
        response = self._garble(response)
        self.request_log.append((request.method, request.path, response.status))
        self.request_counts[f"{request.method} {request.path}"] += 1
        return response

    def _garble(self, response: Response) -> Response:
        with self._knob_lock:
            if self.knobs["garble_next"] <= 0:
                return response
            self.knobs["garble_next"] -= 1
            status, body, content_type = GARBLED[self.knobs["garble_mode"]]
        return Response(status, body, {"Content-Type": content_type})

    def _safely(self, handler: Callable[[Request], Response], request: Request) -> Response:
        try:
            return handler(request)
        except HttpError as exc:
            payload = self.error_payload(exc.status, exc.message, exc.category, exc.extra)
            return json_response(exc.status, payload, exc.headers)

    def _api(self, request: Request) -> Response:
        self._inject_faults()
        handler_name, auth = self._resolve(request)
        if auth:
            self.authenticate(request)
        with self.store.lock:
            response = getattr(self, handler_name)(request)
            if request.method != "GET":
                self.store.changed()
        return response

    def _resolve(self, request: Request) -> tuple[str, bool]:
        allowed = False
        for method, pattern, auth, name in self._route_table:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method:
                request.match = match
                return name, auth
            allowed = True
        if allowed:
            raise HttpError(405, f"Method {request.method} not allowed on {request.path}", category="MISSING_METHOD")
        raise HttpError(404, f"Unable to route {request.method} request with path {request.path}",
                        category="OBJECT_NOT_FOUND")

    def _inject_faults(self) -> None:
        knobs = self.knobs
        if knobs["latency_ms"]:
            time.sleep(knobs["latency_ms"] / 1000)
        with self._knob_lock:
            hang = knobs["timeout_next"] > 0 or self._chance(knobs["timeout_rate"])
            if knobs["timeout_next"] > 0:
                knobs["timeout_next"] -= 1
            status: int | None = None
            if hang:
                status = None
            elif knobs["fail_next"] > 0:
                knobs["fail_next"] -= 1
                status = int(knobs["fail_status"])
            elif self._chance(knobs["error_rate"]):
                status = self._random.choice((500, 503))
            retry_after = None if hang or status else self._over_rate_limit()
        if hang:
            time.sleep(float(knobs["hang_seconds"]))
            raise DropConnection
        if status:
            raise HttpError(status, "internal error" if status == 500 else "Service Unavailable",
                            category="INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE")
        if retry_after is not None:
            raise HttpError(429, "You have reached your secondly limit.", category="RATE_LIMITS",
                            headers={"Retry-After": str(retry_after)}, policyName="SECONDLY")

    def _chance(self, rate: float) -> bool:
        return bool(rate) and self._random.random() < float(rate)

    def _over_rate_limit(self) -> int | None:
        """Whole seconds until a slot frees when the sliding-window limit is reached, else None."""
        limit = self.knobs["rate_limit"]
        if not limit:
            return None
        count, window = int(limit["requests"]), float(limit["per_seconds"])
        now = time.monotonic()
        while self._sent and now - self._sent[0] >= window:
            self._sent.popleft()
        if len(self._sent) < count:
            self._sent.append(now)
            return None
        return max(1, int(-(-(self._sent[0] + window - now) // 1)))

    def _admin(self, request: Request) -> Response:
        action = request.path[len(ADMIN_PREFIX):].strip("/")
        if action == "faults" and request.method == "GET":
            return json_response(200, self.knobs)
        if action == "faults" and request.method == "POST":
            changes = request.json()
            if not isinstance(changes, dict):
                raise HttpError(400, "faults must be a JSON object")
            return json_response(200, self.set_faults(**changes))
        if action == "reset" and request.method == "POST":
            self.reset()
            return json_response(200, {"reset": True})
        if action == "seed" and request.method == "POST":
            preset = (request.json() or {}).get("preset", "demo")
            with self.store.lock:
                counts = self.seed(preset)
                self.store.changed()
            return json_response(200, {"preset": preset, "created": counts})
        if action == "state" and request.method == "GET":
            return json_response(200, self.state(full=request.arg("full") == "1"))
        raise HttpError(404, f"unknown sandbox admin endpoint {request.method} {request.path}")

    def state(self, *, full: bool = False) -> dict[str, Any]:
        """Counts (or the whole store) plus knobs and request statistics, for tests."""
        state: dict[str, Any] = {
            "vendor": self.vendor, "counts": self.store.counts(), "faults": self.knobs,
            "requests": {"total": len(self.request_log), "by_endpoint": dict(self.request_counts)},
        }
        if full:
            with self.store.lock:
                state["tables"] = json.loads(json.dumps(self.store.tables))
        return state

    def requests_matching(self, method: str, pattern: str) -> list[tuple[str, str, int]]:
        """Logged API requests with this method whose path matches `pattern` (regex search)."""
        regex = re.compile(pattern)
        return [entry for entry in list(self.request_log) if entry[0] == method and regex.search(entry[1])]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse pooled connections
    server_version = "IntegrationHubSandbox/1.0"
    timeout = 120                  # close idle keep-alive connections eventually
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK stall each response ~40 ms.
    disable_nagle_algorithm = True
    emulator: Emulator

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers, body)
        try:
            response = self.emulator.handle(request)
        except DropConnection:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and benches would drown in access logs."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


@dataclass
class RunningEmulator:
    """An emulator served on a background thread."""

    emulator: Emulator
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        host = self.server.server_address[0]
        return f"http://{host}:{self.port}"

    @property
    def store(self) -> Store:
        return self.emulator.store

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        return self.emulator.set_faults(**changes)

    def reset(self) -> None:
        self.emulator.reset()

    def seed(self, preset: str) -> dict[str, int]:
        with self.store.lock:
            return self.emulator.seed(preset)

    def stop(self) -> None:
        """Stop serving, close the socket and save any pending state."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.store.flush()


def serve_in_background(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
    """Bind `host:port` (0 = any free port) and serve `emulator` on a daemon thread."""
    handler = type(f"{type(emulator).__name__}Handler", (_Handler,), {"emulator": emulator})
    server = _Server((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name=f"sandbox-{emulator.vendor}-{server.server_address[1]}", daemon=True)
    thread.start()
    return RunningEmulator(emulator, server, thread)


def paginate(items: Iterable[Any], after: str | None, limit: int) -> tuple[list[Any], str | None]:
    """A slice of `items` after an offset cursor; returns the slice and the next cursor (None at the end)."""
    rows = list(items)
    start = int(after) if after and after.isdigit() else 0
    chunk = rows[start:start + limit]
    end = start + len(chunk)
    return chunk, (str(end) if end < len(rows) else None)
