"""The Connector interface: plain dataclasses in, plain dataclasses out, one error type.

Connectors speak a vendor's HTTP API and return data; they never import Django or touch the
ORM. The sync services decide what to save.
"""
from __future__ import annotations

import email.utils
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import EllipsisType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from connectors import hosts

if TYPE_CHECKING:
    import requests

    from connectors.http import AuthStrategy, HttpClient

ErrorKind = Literal["auth", "validation", "not_found", "rate_limit", "timeout", "server", "malformed", "config"]
TRANSIENT_KINDS = frozenset({"rate_limit", "timeout", "server"})


class ConnectorError(Exception):
    """Any failure talking to a vendor; `permanent` tells the caller whether retrying can help."""

    def __init__(self, message: str, *, kind: ErrorKind, permanent: bool, status: int | None = None,
                 retry_after: float | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after
        self.details = details

    def __repr__(self) -> str:
        return f"ConnectorError({self.message!r}, kind={self.kind!r}, permanent={self.permanent}, status={self.status})"

    @classmethod
    def for_status(cls, status: int, message: str, *, retry_after: float | None = None,
                   details: Any = None) -> ConnectorError:
        """Classify an HTTP error status: 429/408/5xx are transient, other 4xx permanent."""
        kind: ErrorKind
        if status in (401, 403):
            kind = "auth"
        elif status == 404:
            kind = "not_found"
        elif status == 408:
            kind = "timeout"
        elif status == 429:
            kind = "rate_limit"
        elif status >= 500:
            kind = "server"
        else:
            kind = "validation"
        return cls(message, kind=kind, permanent=kind not in TRANSIENT_KINDS, status=status,
                   retry_after=retry_after, details=details)

    @classmethod
    def from_response(cls, response: requests.Response, *, vendor: str = "") -> ConnectorError:
        """Build from an error response, lifting the vendor's message out of a JSON or HTML body."""
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None
        message = error_message(body) if body is not None else _non_json_summary(response)
        prefix = f"{vendor} " if vendor else ""
        return cls.for_status(response.status_code, f"{prefix}HTTP {response.status_code}: {message}",
                              retry_after=parse_retry_after(response.headers.get("Retry-After")),
                              details=body)

    @classmethod
    def malformed(cls, message: str, *, status: int | None = None, details: Any = None) -> ConnectorError:
        """A response the vendor should never send: retrying will not fix it."""
        return cls(message, kind="malformed", permanent=True, status=status, details=details)


def error_message(body: Any) -> str:
    """The human message in the common vendor error shapes (HubSpot, RFC 9457 / NetSuite, OAuth)."""
    if isinstance(body, dict):
        for key in ("message", "detail", "error_description", "title", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                details = body.get("o:errorDetails")
                if key == "title" and isinstance(details, list) and details and isinstance(details[0], dict):
                    return str(details[0].get("detail") or value)
                return value
    return json.dumps(body)[:300]


def _non_json_summary(response: requests.Response) -> str:
    text = " ".join(response.text.split())[:200]
    content_type = response.headers.get("Content-Type", "?")
    return f"non-JSON body ({content_type}): {text!r}" if text else "empty body"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(slots=True, frozen=True)
class RemoteRecord:
    """One record as the vendor holds it; `updated_at` is the vendor's own modification time (UTC)."""

    external_id: str
    updated_at: datetime
    fields: dict[str, Any]
    archived: bool = False
    associations: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class RecordError:
    """A record in a vendor response that could not be read (no id, wrong types): reported, never raised."""

    external_id: str | None
    message: str
    raw: Any = None
    kind: ErrorKind = "malformed"


@dataclass(slots=True, frozen=True)
class Page:
    """One page of changes; `cursor` is safe to persist once the page is processed (None = no progress yet)."""

    records: list[RemoteRecord]
    errors: list[RecordError]
    cursor: str | None


@dataclass(slots=True, frozen=True)
class WriteResult:
    """The outcome of one input of a batch write, keyed by the caller's match key."""

    ok: bool
    external_id: str | None
    key: str
    created: bool | None = None
    error: ConnectorError | None = None


@dataclass(slots=True, frozen=True)
class AuthCheck:
    """Whether the credentials work, with a message fit for the system's health panel."""

    ok: bool
    message: str


@dataclass(slots=True, frozen=True)
class FieldInfo:
    """One field of a vendor object, as `describe` reports it for mapping and schema drift."""

    name: str
    label: str
    type: str
    required: bool = False
    options: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class Deactivation:
    """How a vendor retires a record it cannot merge (a duplicate merged away in the hub) and brings it back: one
    field, set to `inactive`, then to `active` again on undo."""

    flag: str
    inactive: Any = True
    active: Any = False


@dataclass(slots=True, frozen=True)
class RateLimit:
    """At most `requests` calls in any window of `per_seconds`."""

    requests: int
    per_seconds: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Parse "100/10" (requests per seconds)."""
        count, _, seconds = text.partition("/")
        try:
            return cls(int(count), float(seconds or 1))
        except ValueError:
            raise ValueError(f"rate limit must look like N/SECONDS, got {text!r}") from None


def parse_timestamp(value: Any) -> datetime:
    """A vendor timestamp (ISO 8601 with Z or offset, or epoch milliseconds) as an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a timestamp: {value!r}")
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, the form cursors are persisted in."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Connector(ABC):
    """A connected system's API: pull changes, read, write, merge, verify webhooks."""

    vendor: ClassVar[str] = ""
    # How a create carries the caller's key: (field in the record, id_field for upsert_many). A vendor
    # that can upsert by an external id makes a retried create idempotent this way.
    create_key: ClassVar[tuple[str, str | None]] = ("_key", None)
    default_rate_limit: ClassVar[RateLimit | None] = None
    max_concurrency: ClassVar[int | None] = None
    # The vendor's own API hosts (a leading dot: any subdomain): the only places its credentials go, beside the
    # hosts an operator allows in settings (connectors.hosts).
    vendor_hosts: ClassVar[tuple[str, ...]] = ()

    # What the vendor can do, declared so that no caller tests a vendor's name. A capability left at its default
    # here is one the vendor lacks.
    # Objects the vendor merges itself (`merge` works for them).
    merge_objects: ClassVar[frozenset[str]] = frozenset()
    # How a record it cannot merge is retired and brought back; None: it has no such field (a person archives it).
    deactivation: ClassVar[Deactivation | None] = None
    # The field a retired record's note goes in (which record it was merged into); None: no note.
    note_field: ClassVar[str | None] = None
    # How `count` and `totals` ask the vendor, in a report's words; None: the vendor has no such query (the method
    # answers None, and the caller counts or sums the records it reads instead).
    count_query: ClassVar[str | None] = None
    totals_query: ClassVar[str | None] = None

    def __init__(self, base_url: str, credentials: Mapping[str, Any], *,
                 rate_limit: RateLimit | None | EllipsisType = ...,
                 on_credentials_refreshed: Callable[[dict], None] | None = None,
                 timeout: float = 30, max_attempts: int = 5, backoff_base: float = 0.5,
                 session: requests.Session | None = None, allowed_hosts: tuple[str, ...] | None = None) -> None:
        from connectors.http import HttpClient  # connectors.http imports this module

        self.base_url = base_url.rstrip("/")
        self.credentials: dict[str, Any] = dict(credentials)
        self.on_credentials_refreshed = on_credentials_refreshed
        allowed = hosts.operator_allowed_hosts() if allowed_hosts is None else allowed_hosts
        self.http: HttpClient = HttpClient(
            self.base_url, auth=self.build_auth(), vendor=self.vendor,
            rate_limit=self.default_rate_limit if rate_limit is ... else rate_limit,
            timeout=timeout, max_attempts=max_attempts, backoff_base=backoff_base,
            max_concurrency=self.max_concurrency, session=session,
            url_guard=lambda url: hosts.refusal(url, self.vendor, self.vendor_hosts, allowed),
        )

    def build_auth(self) -> AuthStrategy | None:
        """The auth strategy for these credentials; vendors override."""
        return None

    def credentials_refreshed(self, new_credentials: Mapping[str, Any]) -> None:
        """Adopt refreshed credentials and hand them to the caller to persist."""
        self.credentials = dict(new_credentials)
        if self.on_credentials_refreshed is not None:
            self.on_credentials_refreshed(dict(self.credentials))

    def close(self) -> None:
        """Release pooled connections."""
        self.http.close()

    def config_error(self, message: str) -> ConnectorError:
        """A permanent error caused by how the connector is used or configured."""
        return ConnectorError(f"{self.vendor}: {message}", kind="config", permanent=True)

    def read_options(self, object: str, paths: Iterable[str]) -> dict[str, Any]:
        """Extra `changes()`/`get_many()` arguments needed to read these field paths (vendors override)."""
        return {}

    @classmethod
    def write_locks(cls, object: str, current: Mapping[str, Any]) -> dict[str, str]:
        """Fields of a record (as last read: `current`) the vendor will not let a write change any more, with why
        (a fulfilled order's customer); top-level vendor field -> reason. Vendors override; none by default."""
        return {}

    def pseudo_fields(self, object: str) -> list[FieldInfo]:
        """Fields rules may use that `describe` does not list: every record's `associations` (its references
        by object), and what a vendor adds (a document's lines)."""
        return [FieldInfo("associations", "Associations", "object")]

    @abstractmethod
    def check_auth(self) -> AuthCheck:
        """Whether the credentials are accepted right now."""

    @abstractmethod
    def describe(self, object: str) -> list[FieldInfo]:
        """The object's fields with types, as the vendor reports them today."""

    @abstractmethod
    def changes(self, object: str, since: datetime | None, page_size: int = 100) -> Iterator[Page]:
        """Pages of records modified at or after `since` (all records when None), oldest first."""

    @abstractmethod
    def get_many(self, object: str, ids: list[str]) -> list[RemoteRecord]:
        """The records with these ids; ids that do not exist are left out."""

    @abstractmethod
    def upsert_many(self, object: str, records: list[dict], id_field: str | None) -> list[WriteResult]:
        """Create or update records, one WriteResult per input in input order."""

    def merge(self, object: str, survivor_id: str, absorbed_id: str) -> RemoteRecord:
        """Merge `absorbed_id` into `survivor_id` and return the survivor."""
        raise self.config_error(f"{object} does not support merge")

    def count(self, object: str) -> int | None:
        """How many records of the object the vendor holds, asked without reading them (`count_query`); None when
        the vendor has no such query."""
        return None

    def totals(self, object: str, sums: Iterable[str], group_by: Iterable[str] = ()) -> list[dict[str, Any]] | None:
        """Number columns added up by the vendor per group (`totals_query`): one row per group with the `group_by`
        columns and `sum_<column>` per summed column; None when the vendor cannot add up."""
        return None

    def webhook_records(self, payload: Any) -> list[tuple[str, str]]:
        """(object, external id) pairs a verified webhook payload names; vendors override."""
        return []

    def webhook_event_ids(self, payload: Any) -> list[str]:
        """The vendor's own ids of the events a webhook payload carries, when every event has one (a
        redelivered event keeps its id); empty when the vendor sends none. Vendors override."""
        return []

    @abstractmethod
    def verify_webhook(self, method: str, uri: str, body: bytes, headers: Mapping[str, str],
                       now: float | None = None) -> bool:
        """Whether a webhook request really comes from the vendor (signature and freshness)."""
