"""NetSuite SuiteTalk REST emulator: record API, SuiteQL, metadata catalog, TBA and OAuth 2.0 M2M auth.

What it serves (shapes from shared/contracts/netsuite/CONTRACT.md):
- `/services/rest/record/v1/{type}[/{id}|/eid:{externalId}]`: list (items carry only id + links), GET (references
  as {id, refName, links}, sublists as links unless `expandSubResources=true`), POST -> 204 + Location, PATCH -> 204
  (`replace=<sublist>` replaces lines, else lines merge by `line`), PUT eid: upsert -> 204 + Location, DELETE -> 204;
- `/services/rest/query/v1/suiteql` (POST, `Prefer: transient` required, offset/limit, collection envelope);
  the SQL subset is documented in `netsuite_suiteql`. Tables: customer, contact, employee, pricelevel, item
  (inventory items, itemtype 'InvtPart') and transaction (type 'Estimate' | 'SalesOrd' | 'CustInvc'); columns are the
  record's lower-cased body fields (custom fields included), references give the internal id (BUILTIN.DF(col) the
  record's name), values come back as strings (booleans 'T'/'F', dates in the user's M/D/YYYY format: use TO_CHAR),
  and null columns are left out, as NetSuite does; sublists have no SuiteQL table here;
- `/services/rest/record/v1/metadata-catalog[/{type}]` (JSON Schema; renamed/removed field knobs show up);
- `/services/rest/auth/oauth2/v1/token` (client credentials with a JWT assertion signed ES256/384/512 or PS256 by a
  key registered with `register_m2m_client` or POST /__sandbox__/netsuite/m2m);
- account custom fields (`custentity_*` on customer/contact/employee, `custitem_*` on inventoryItem, `custbody_*` on
  transactions), created at run time with `add_custom_field` or POST /__sandbox__/netsuite/customfields
  {"record", "id", "label", "type", "options"?} (GET lists them): they appear in the metadata catalog with
  `x-ns-custom-field`, in record bodies and SuiteQL, and are accepted on writes; other unknown fields stay rejected.
Customer: category and entityStatus are option strings, salesRep references an employee; address book lines carry
defaultBilling/defaultShipping (one line each: the line a write marks wins) and an addressBookAddress subrecord
{addressee, attention, addr1-3, city, state, zip, country, addrPhone} with a computed addrText.
Errors are RFC 9457 documents with `o:errorDetails`. Extra knobs: `concurrency_limit` (more in-flight requests ->
429 CONCURRENCY_LIMIT_EXCEEDED), `required_fields` ({type: [field]}: a newly mandatory field) and `malformed`
(answer matching requests with invalid JSON, an HTML page, a record without id, or a create without Location).
Batch writes (POST/PATCH/PUT of `{"items": [...]}` with `Prefer: respond-async`) and the async job endpoints
(`/services/rest/async/v1/job/...`) are served by `netsuite_async` (see its docstring for the shapes, which parts
follow Oracle's help and which are our reading, and the `async_delay_ms` / `async_stall` knobs).
Transactions (estimate, salesOrder, invoice): line amounts are quantity x rate in decimals, rounded half-up to the
cent, and the total their sum; an inactive item is refused on a line (the whole record is refused, as NetSuite
does); the account has the custom line column `custcol_hub_discount` (number). A `customerPayment` applied to
invoices pays them (amount paid, amount due, "Paid In Full") and lowers the customer's balance; an invoice created
from a sales order marks the order "Billed".
The account is a OneWorld account with three subsidiaries (USD, GBP, EUR); what it fills in on create (a
customer's subsidiary, currency and status, a contact's subsidiary, a transaction's subsidiary and currency) is in
`netsuite_defaults`. Transactions share one internal id space, as SuiteQL's transaction table shows them.
Simplifications: currency, terms, category, entityStatus and an address's country are plain strings (not
references); entities (customers, contacts, employees) count their ids per type; no `q=` filter on record lists,
no `!transform` (an invoice names its order in `createdFrom`); of single-record async requests only a create
(POST with `Prefer: respond-async`) becomes a job.
"""
from __future__ import annotations

import heapq
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import unquote

from cryptography.hazmat.primitives import serialization

from connectors.netsuite import CUSTOMER_FIXED_STATUSES, realm
from connectors.sandbox import netsuite_suiteql as suiteql
from connectors.sandbox.modified_index import Indexes, netsuite_stamp
from connectors.sandbox.netsuite_async import AsyncJobs, is_collection, prefers_async
from connectors.sandbox.netsuite_auth import parse_oauth_header, tba_signature_valid, verify_client_assertion
from connectors.sandbox.netsuite_defaults import DEFAULT_KNOBS, SUBSIDIARIES, fill_defaults
from connectors.sandbox.netsuite_demo import load_demo
from connectors.sandbox.netsuite_schema import (
    ADDRESS,
    COMMON,
    CUSTOM_PREFIXES,
    CUSTOM_TYPES,
    NAME_FIELDS,
    REST,
    SCHEMAS,
    SUITEQL_TABLES,
    TRAN_TYPES,
    F,
    custom_field,
    json_schema,
    merge_lines,
    parses,
)
from connectors.sandbox.server import ADMIN_PREFIX, Emulator, HttpError, Request, Response, json_response, route

ACCOUNT_ID = "TSTDRV1234567"
# The demo integration record + access token the sandbox accepts for token-based auth.
DEMO_TBA = {
    "account_id": ACCOUNT_ID,
    "consumer_key": "sandbox-consumer-key",
    "consumer_secret": "sandbox-consumer-secret",
    "token_id": "sandbox-token-id",
    "token_secret": "sandbox-token-secret",
}
# SuiteQL tables of the customer address book (see `_address_items`) and their columns.
ADDRESS_KEY_SPAN = 100_000
ADDRESS_TABLES = {
    "customeraddressbook": {"entity", "internalid", "addressbookaddress", "defaultbilling", "defaultshipping", "label"},
    "customeraddressbookentityaddress": {"nkey", "recordowner", *(name.lower() for name in ADDRESS)},
}
# A collection (record list or SuiteQL result) is served in at most this many pages.
MAX_PAGES = 1000
ID = r"(?P<ref>eid:[^/]+|\d+)"
TYPE = r"(?P<type>[A-Za-z]+)"
STATUS_TYPES = {400: "15.5.1", 401: "15.5.2", 403: "15.5.4", 404: "15.5.5", 405: "15.5.6", 429: "6.6",
                500: "15.6.1", 503: "15.6.4"}
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
# The shared fault knobs raise with other vendors' categories; NetSuite's codes for the same situations.
CODES = {"RATE_LIMITS": "CONCURRENCY_LIMIT_EXCEEDED", "INTERNAL_ERROR": "UNEXPECTED_ERROR",
         "SERVICE_UNAVAILABLE": "UNEXPECTED_ERROR", "INVALID_AUTHENTICATION": "INVALID_LOGIN",
         "EXPIRED_AUTHENTICATION": "INVALID_LOGIN", "OBJECT_NOT_FOUND": "NONEXISTENT_ID",
         "MISSING_METHOD": "METHOD_NOT_ALLOWED", "VALIDATION_ERROR": "INVALID_CONTENT"}


class Problem(HttpError):
    """A NetSuite error with one or more o:errorDetails entries (detail, code, optional pointer)."""

    def __init__(self, status: int, details: list[dict[str, str]], headers: dict[str, str] | None = None) -> None:
        super().__init__(status, details[0]["detail"], category=details[0]["o:errorCode"], headers=headers,
                         errorDetails=details)


def problem(status: int, detail: str, code: str, **pointers: str) -> Problem:
    """A one-detail Problem; pointers are errorPath / errorHeader / errorQueryParam / errorUrl."""
    return Problem(status, [{"detail": detail, "o:errorCode": code, **{f"o:{k}": v for k, v in pointers.items()}}])


def _iso_now() -> str:
    """Now, whole seconds (NetSuite keeps no finer precision for lastModifiedDate)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class NetSuiteEmulator(AsyncJobs, Emulator):
    """SuiteTalk REST served from the shared Store (one table per record type)."""

    vendor = "netsuite"
    presets = ("demo", "empty")
    # NetSuite access tokens live 60 minutes; the default account tier allows 5 concurrent requests.
    # `malformed`: [{"path": regex, "method": "GET", "mode": one of MALFORMED_MODES}] breaks matching answers.
    # `primary_subsidiary` / `default_customer_status`: the account preferences create defaults read.
    extra_knobs: ClassVar[dict[str, Any]] = {"token_ttl_seconds": 3600, "concurrency_limit": 5, "required_fields": {},
                                             "malformed": [], **AsyncJobs.async_knobs, **DEFAULT_KNOBS}

    def __init__(self, **kwargs: Any) -> None:
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._nonces: deque[str] = deque(maxlen=10_000)
        self._indexes = Indexes(lambda record_type: self.store.table(record_type), lambda _: netsuite_stamp)
        super().__init__(**kwargs)
        with self.store.lock:
            self._configure_account()  # a state file saved before the account had subsidiaries gets them

    def setup(self) -> None:
        """Register the demo TBA integration and token, and configure the account (its subsidiaries)."""
        self.store.table("_tba")[DEMO_TBA["consumer_key"]] = {
            "consumer_secret": DEMO_TBA["consumer_secret"],
            "tokens": {DEMO_TBA["token_id"]: DEMO_TBA["token_secret"]},
        }
        self.store.table("_m2m")
        self._configure_account()

    def _configure_account(self) -> None:
        """The account's subsidiaries, in every preset (records refer to them)."""
        table = self.store.table("subsidiary")
        stamp = "2020-01-01T00:00:00Z"
        for record_id, fields in SUBSIDIARIES.items():
            if record_id not in table:
                self._put("subsidiary", record_id, {**fields, "lastModifiedDate": stamp, "dateCreated": stamp})

    def register_m2m_client(self, client_id: str, certificate_id: str, public_key_pem: str) -> None:
        """What the M2M setup page does: accept a certificate (public key) for an integration's client id."""
        serialization.load_pem_public_key(public_key_pem.encode())
        with self.store.lock:
            self.store.table("_m2m").setdefault(client_id, {})[certificate_id] = public_key_pem
            self.store.changed()

    # -- dispatch: concurrency limit, errors, admin extension ------------------------------

    def handle(self, request: Request) -> Response:
        """Refuse requests beyond the account's concurrency limit, like NetSuite's governance."""
        if request.path.startswith(ADMIN_PREFIX):
            return super().handle(request)
        with self._inflight_lock:
            self._inflight += 1
            over = self._inflight > int(self.knobs["concurrency_limit"])
        try:
            if not over:
                return super().handle(request)
            response = self._safely(self._refuse_concurrency, request)
            self.request_log.append((request.method, request.path, response.status))
            return response
        finally:
            with self._inflight_lock:
                self._inflight -= 1

    def _api(self, request: Request) -> Response:
        return self._corrupt(request, super()._api(request))

    def _corrupt(self, request: Request, response: Response) -> Response:
        """Apply the `malformed` knob: the kinds of broken answers a proxy or a vendor bug produces."""
        for rule in self.knobs["malformed"]:
            if rule.get("method", request.method) != request.method or not re.search(rule["path"], request.path):
                continue
            mode = rule["mode"]
            if mode == "invalid_json":
                return Response(200, b'{"items": [', {"Content-Type": "application/json"})
            if mode == "html_error":
                return Response(int(rule.get("status", 200)), b"<html><body><h1>Error</h1>Service down</body></html>",
                                {"Content-Type": "text/html"})
            if mode == "missing_id" and response.body:
                body = json.loads(response.body)
                body.pop("id", None)
                return json_response(response.status, body)
            if mode == "no_location":
                return Response(response.status, response.body,
                                {k: v for k, v in response.headers.items() if k != "Location"})
        return response

    def _refuse_concurrency(self, request: Request) -> Response:
        raise problem(429, "Concurrent request limit exceeded. Request blocked.", "CONCURRENCY_LIMIT_EXCEEDED")

    def _admin(self, request: Request) -> Response:
        if request.path.rstrip("/") == f"{ADMIN_PREFIX}netsuite/m2m" and request.method == "POST":
            body = request.json()
            try:
                self.register_m2m_client(body["client_id"], body["certificate_id"], body["public_key"])
            except (KeyError, TypeError, ValueError) as exc:
                raise HttpError(400, f"need client_id, certificate_id and a PEM public_key: {exc}") from None
            return json_response(200, {"registered": body["client_id"]})
        if request.path.rstrip("/") == f"{ADMIN_PREFIX}netsuite/customfields":
            if request.method == "GET":
                return json_response(200, {"items": [{"record": record, "id": name, **definition}
                                                     for record, fields in self.store.table("_customfields").items()
                                                     for name, definition in fields.items()]})
            if request.method == "POST":
                body = request.json()
                if not isinstance(body, dict):
                    raise HttpError(400, "the body must be a JSON object")
                try:
                    created = self.add_custom_field(body.get("record", ""), body.get("id", ""), body.get("label", ""),
                                                    body.get("type", "string"), body.get("options") or ())
                except (TypeError, ValueError) as exc:
                    raise HttpError(400, f"invalid custom field: {exc}") from None
                return json_response(200, created)
        return super()._admin(request)

    def error_payload(self, status: int, message: str, category: str | None, extra: dict[str, Any]) -> Any:
        """RFC 9457 problem document with Oracle's o:errorDetails (OAuth errors keep the OAuth shape)."""
        if extra.get("oauth"):
            return {"error": category, "error_description": message}
        details = extra.get("errorDetails") or [{"detail": message, "o:errorCode": CODES.get(category or "", category)
                                                 or "UNEXPECTED_ERROR"}]
        return {"type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{STATUS_TYPES.get(status, '15.5.1')}",
                "title": TITLES.get(status, "Error"), "status": status, "o:errorDetails": details}

    # -- auth ------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> None:
        """Accept an OAuth 1.0a TBA signature or a bearer token issued by the token endpoint."""
        header = request.headers.get("Authorization", "")
        if header[:6].lower() == "oauth ":
            return self._check_tba(request, header[6:])
        try:
            super().authenticate(request)
        except HttpError as exc:
            raise problem(401, f"Invalid login attempt. {exc.message}", "INVALID_LOGIN") from None

    def _check_tba(self, request: Request, header: str) -> None:
        params = parse_oauth_header(header)
        integration = self.store.table("_tba").get(params.get("oauth_consumer_key", ""))
        token_secret = (integration or {}).get("tokens", {}).get(params.get("oauth_token", ""))
        nonce = f"{params.get('oauth_token')}:{params.get('oauth_nonce')}:{params.get('oauth_timestamp')}"
        query = [(k, v) for k, values in request.query.items() for v in values]
        url = f"http://{request.headers.get('Host', '')}{request.path}"
        if (integration is None or token_secret is None or params.get("realm") != realm(ACCOUNT_ID)
                or nonce in self._nonces
                or not tba_signature_valid(params, request.method, url, query, integration["consumer_secret"],
                                           token_secret)):
            raise problem(401, "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI "
                               "at Setup > Users/Roles > User Management > View Login Audit Trail.", "INVALID_LOGIN")
        self._nonces.append(nonce)

    @route("POST", rf"{REST}/auth/oauth2/v1/token", auth=False)
    def oauth2_token(self, request: Request) -> Response:
        """OAuth 2.0 client credentials with a signed JWT client assertion."""
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            raise HttpError(400, "grant_type must be client_credentials", category="unsupported_grant_type",
                            oauth=True)
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise HttpError(400, "client_assertion_type must be jwt-bearer", category="invalid_request", oauth=True)
        claims = self._verify_assertion(form.get("client_assertion", ""),
                                        f"http://{request.headers.get('Host', '')}{request.path}")
        scopes = claims.get("scope")
        scopes = scopes if isinstance(scopes, list) else str(scopes or "").split(",")
        if "rest_webservices" not in scopes:
            raise HttpError(400, "scope must include rest_webservices", category="invalid_scope", oauth=True)
        access_token, ttl = self.issue_token()
        return json_response(200, {"access_token": access_token, "expires_in": str(ttl), "token_type": "bearer"})

    def _verify_assertion(self, assertion: str, audience: str) -> dict[str, Any]:
        """The assertion's claims when a certificate registered for its issuer signed it; else 401 invalid_client."""
        try:
            return verify_client_assertion(assertion, audience, self.store.table("_m2m"))
        except ValueError as exc:
            raise HttpError(401, f"invalid client assertion: {exc}", category="invalid_client", oauth=True) from None

    # -- record API ------------------------------------------------------------------------

    def _schema(self, record_type: str) -> dict[str, F]:
        schema = SCHEMAS.get(record_type)
        if schema is None:
            raise problem(404, f"Record type '{record_type}' does not exist.", "NONEXISTENT_ID",
                          errorUrl=f"{REST}/record/v1/{record_type}")
        custom = self.store.table("_customfields").get(record_type)
        if not custom:
            return {**COMMON, **schema}
        return {**COMMON, **schema, **{name: custom_field(d) for name, d in custom.items()}}

    def add_custom_field(self, record_type: str, field_id: str, label: str, field_type: str = "string",
                         options: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        """What Customization > Lists, Records & Fields does: define (or redefine) an account custom field."""
        prefix = CUSTOM_PREFIXES.get(record_type)
        if prefix is None:
            raise ValueError(f"record must be one of {', '.join(CUSTOM_PREFIXES)}, not {record_type!r}")
        if not re.fullmatch(rf"{prefix}[a-z0-9_]{{1,30}}", field_id or ""):
            raise ValueError(f"a {record_type} custom field id is {prefix} plus 1-30 lower-case letters, digits or _")
        if field_type not in CUSTOM_TYPES:
            raise ValueError(f"type must be one of {', '.join(CUSTOM_TYPES)}")
        if not isinstance(label, str) or not label.strip():
            raise ValueError("label is required")
        if not isinstance(options, list | tuple) or not all(isinstance(o, str) for o in options):
            raise ValueError("options must be a list of strings")
        definition = {"label": label, "type": field_type, "options": list(options)}
        with self.store.lock:
            self.store.table("_customfields").setdefault(record_type, {})[field_id] = definition
            self.store.changed()
        return {"record": record_type, "id": field_id, **definition}

    def _href(self, request: Request, path: str) -> str:
        return f"http://{request.headers.get('Host', '')}{REST}/record/v1/{path}"

    def _find(self, record_type: str, ref: str) -> tuple[str, dict[str, Any]] | None:
        table = self.store.table(record_type)
        if not ref.startswith("eid:"):
            row = table.get(ref)
            return (ref, row) if row is not None else None
        record_id = self._eids(record_type).get(unquote(ref[4:]))  # paths arrive percent-encoded
        return (record_id, table[record_id]) if record_id in table else None

    def _new_id(self, record_type: str) -> str:
        """The next internal id: transactions share one id space (SuiteQL's transaction table), as in NetSuite;
        other record types count on their own."""
        if record_type not in TRAN_TYPES:
            return str(self.store.next_id(f"netsuite:{record_type}", start=100))
        counters = self.store.table("_sequences")
        if "netsuite:transaction" not in counters:  # a state file from when each type counted alone
            taken = [int(i) for t in TRAN_TYPES for i in self.store.table(t) if str(i).isdigit()]
            counters["netsuite:transaction"] = max(taken, default=99)
        return str(self.store.next_id("netsuite:transaction", start=100))

    def _stored(self, record_type: str, record_id: Any) -> dict[str, Any] | None:
        """A stored record by internal id (None for no id or no such record)."""
        return self.store.table(record_type).get(str(record_id)) if record_id not in (None, "") else None

    def _eids(self, record_type: str) -> dict[str, str]:
        """externalId -> internal id, kept beside the table so eid: lookups stay O(1)."""
        return self.store.table(f"_eid_{record_type}")

    def _put(self, record_type: str, record_id: str, row: dict[str, Any]) -> None:
        old = self.store.table(record_type).get(record_id) or {}
        if old.get("externalId") and old["externalId"] != row.get("externalId"):
            self._eids(record_type).pop(old["externalId"], None)
        if row.get("externalId"):
            self._eids(record_type)[row["externalId"]] = record_id
        self.store.table(record_type)[record_id] = row
        self._indexes.written(record_type, record_id, row)

    def _existing(self, record_type: str, ref: str) -> tuple[str, dict[str, Any]]:
        found = self._find(record_type, ref)
        if found is None:
            raise problem(404, "The record instance does not exist. Provide a valid record instance ID.",
                          "NONEXISTENT_ID", errorUrl=f"{REST}/record/v1/{record_type}/{ref}")
        return found

    @route("GET", rf"{REST}/record/v1/{TYPE}")
    def list_records(self, request: Request) -> Response:
        """Collection of {id, links}; paged by limit/offset."""
        record_type = request.group("type")
        self._schema(record_type)
        if request.arg("q"):
            raise problem(400, "The sandbox does not implement q= filters; use SuiteQL.", "INVALID_PARAMETER",
                          errorQueryParam="q")
        ids = sorted(self.store.table(record_type), key=int)
        items = [{"links": [{"rel": "self", "href": self._href(request, f"{record_type}/{i}")}], "id": i} for i in ids]
        return self._collection(request, items, self._href(request, record_type))

    @route("GET", rf"{REST}/record/v1/{TYPE}/{ID}")
    def get_record(self, request: Request) -> Response:
        """One record; `fields=` narrows it, `expandSubResources=true` inlines sublists."""
        record_type = request.group("type")
        schema = self._schema(record_type)
        record_id, row = self._existing(record_type, request.group("ref"))
        expand = request.arg("expandSubResources") == "true"
        wanted = set(request.args("fields"))
        self_href = self._href(request, f"{record_type}/{record_id}")
        body: dict[str, Any] = {"links": [{"rel": "self", "href": self_href}]}
        for name, value in self.expose(record_type, {"id": record_id, **row}).items():
            spec = schema.get(self.internal_name(record_type, name) or name)
            if spec is None or (wanted and name not in wanted and name != "id") or value is None:
                continue
            if spec.type == "ref":
                body[name] = self._render_ref(request, spec.ref or "", value)
            elif spec.type == "sublist":
                sub = {"links": [{"rel": "self", "href": f"{self_href}/{name}"}]}
                if expand:
                    lines = [self._render_line(request, spec, line) for line in value]
                    sub.update({"items": lines, "count": len(lines), "hasMore": False, "offset": 0,
                                "totalResults": len(lines)})
                body[name] = sub
            else:
                body[name] = value
        return json_response(200, body)

    def _render_ref(self, request: Request, ref_type: str, ref_id: str) -> dict[str, Any]:
        target = self.store.table(ref_type).get(ref_id, {})
        name = next((str(target[f]) for f in NAME_FIELDS if target.get(f)), ref_id)
        return {"links": [{"rel": "self", "href": self._href(request, f"{ref_type}/{ref_id}")}],
                "id": ref_id, "refName": name}

    def _render_line(self, request: Request, spec: F, line: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"links": []}
        for name, value in line.items():
            line_spec = spec.lines.get(name)
            out[name] = self._render_ref(request, line_spec.ref or "", value) if line_spec and line_spec.ref else value
        return out

    @route("POST", rf"{REST}/record/v1/{TYPE}")
    def create_record(self, request: Request) -> Response:
        """Create -> 204 No Content with the new record's URL in Location (a batch or async create -> a job)."""
        record_type = request.group("type")
        if is_collection(request) or prefers_async(request):
            return self.submit_batch(request, record_type, "POST")
        record_id = self._save(record_type, request.json(), None, None, set())
        return Response(204, headers={"Location": self._href(request, f"{record_type}/{record_id}")})

    @route("PATCH", rf"{REST}/record/v1/{TYPE}/{ID}")
    def update_record(self, request: Request) -> Response:
        """Partial update -> 204."""
        record_type = request.group("type")
        record_id, row = self._existing(record_type, request.group("ref"))
        self._save(record_type, request.json(), record_id, row, set(request.args("replace")))
        return Response(204)

    @route("PUT", rf"{REST}/record/v1/{TYPE}/(?P<ref>eid:[^/]+)")
    def upsert_record(self, request: Request) -> Response:
        """Upsert by external id: create or update -> 204 with Location."""
        record_type = request.group("type")
        external = unquote(request.group("ref")[4:])
        body = request.json()
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "externalId"}
        found = self._find(record_type, f"eid:{external}")
        if found is None:
            record_id = self._save(record_type, body, None, None, set(), external_id=external)
        else:
            record_id = self._save(record_type, body, found[0], found[1], set(request.args("replace")))
        return Response(204, headers={"Location": self._href(request, f"{record_type}/{record_id}")})

    @route("PATCH", rf"{REST}/record/v1/{TYPE}")
    def update_batch(self, request: Request) -> Response:
        """Batch update (items carry id or externalId) -> 202 + the job's Location."""
        return self.submit_batch(request, request.group("type"), "PATCH")

    @route("PUT", rf"{REST}/record/v1/{TYPE}")
    def upsert_batch(self, request: Request) -> Response:
        """Batch upsert by externalId -> 202 + the job's Location."""
        return self.submit_batch(request, request.group("type"), "PUT")

    @route("DELETE", rf"{REST}/record/v1/{TYPE}/{ID}")
    def delete_record(self, request: Request) -> Response:
        """Delete -> 204."""
        record_type = request.group("type")
        record_id, row = self._existing(record_type, request.group("ref"))
        self._eids(record_type).pop(row.get("externalId"), None)
        del self.store.table(record_type)[record_id]
        self._indexes.written(record_type, record_id, None)
        return Response(204)

    # -- validation and writes -------------------------------------------------------------

    def _save(self, record_type: str, body: Any, record_id: str | None, row: dict[str, Any] | None,
              replace: set[str], *, external_id: str | None = None) -> str:
        """Validate a body and write it; all problems are reported together in o:errorDetails."""
        schema = self._schema(record_type)
        if not isinstance(body, dict):
            raise problem(400, "The request body must be a JSON object.", "INVALID_CONTENT")
        errors: list[dict[str, str]] = []
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name == "links":
                continue
            internal = self.internal_name(record_type, name)
            spec = schema.get(internal) if internal else None
            if spec is None:
                errors.append(_detail(f"Invalid field '{name}' for record '{record_type}'. The field does not exist.",
                                      "INVALID_CONTENT", name))
            elif spec.read_only:
                if name != "id":
                    errors.append(_detail(f"The field '{name}' is read-only.", "INVALID_CONTENT", name))
            else:
                values[internal or name] = self._value(spec, value, name, errors)
        if (record_type == "salesOrder" and row is not None and "entity" in values
                and values["entity"] != row.get("entity") and row.get("status") in CUSTOMER_FIXED_STATUSES):
            errors.append(_detail(f"You cannot change the customer of a sales order whose status is "
                                  f"{row['status']}.", "USER_ERROR", "entity"))
        merged = dict(row or {})
        for name, value in values.items():
            spec = schema[name]
            if spec.type == "sublist" and row is not None and name not in replace:
                value, touched = merge_lines(merged.get(name) or [], value)
            else:
                touched = value
            if name == "addressBook" and value:
                _one_default_address(value, touched)
            merged[name] = value
        if external_id is not None:
            merged["externalId"] = external_id
        for name in fill_defaults(record_type, merged, values, new=row is None, find=self._stored, knobs=self.knobs):
            errors.append(_detail(f"Please enter value(s) for: {schema[name].label}", "USER_ERROR",
                                  self.renamed(record_type).get(name, name)))
        clash = self._find(record_type, f"eid:{merged['externalId']}") if merged.get("externalId") else None
        if clash is not None and clash[0] != record_id:
            errors.append(_detail(f"A record with external id '{merged['externalId']}' already exists.",
                                  "USER_ERROR", "externalId"))
        required = [n for n, s in schema.items() if s.required]
        required += self.knobs["required_fields"].get(record_type, [])
        for name in required:
            if name in self.removed(record_type):
                continue
            if merged.get(name) in (None, "", []) and (row is None or name in values or name not in merged):
                label = schema[name].label if name in schema else name
                errors.append(_detail(f"Please enter value(s) for: {label}", "USER_ERROR",
                                      self.renamed(record_type).get(name, name)))
        paid = self._apply_payment(merged, errors) if record_type == "customerPayment" and row is None else []
        if record_type == "invoice" and row is None and merged.get("createdFrom"):
            order = self._find("salesOrder", str(merged["createdFrom"]))  # billing an order moves its status on
            paid += [("salesOrder", order[0], {**order[1], "status": "Billed"})] if order else []
        if errors:
            raise Problem(400, errors)
        self._derive(record_type, merged)
        now = _iso_now()
        merged["lastModifiedDate"] = now
        if record_id is None:
            merged["dateCreated"] = now
            record_id = self._new_id(record_type)
        self._put(record_type, record_id, merged)
        for changed_type, changed_id, changed in paid:
            self._derive(changed_type, changed)
            changed["lastModifiedDate"] = now
            self._put(changed_type, changed_id, changed)
        return record_id

    def _value(self, spec: F, value: Any, path: str, errors: list[dict[str, str]]) -> Any:
        """Check one value against its field type; references must point at existing records."""
        if value is None:
            return None
        ok = {"string": isinstance(value, str), "integer": isinstance(value, int) and not isinstance(value, bool),
              "number": isinstance(value, int | float) and not isinstance(value, bool),
              "boolean": isinstance(value, bool), "object": isinstance(value, dict)}.get(spec.type, True)
        if spec.type in ("date", "datetime"):
            ok = isinstance(value, str) and parses(value, spec.type)
        if spec.options and value not in spec.options and value != "":  # "" empties a list field
            ok = False
        if spec.type == "ref":
            return self._reference(spec, value, path, errors)
        if spec.type == "object" and spec.lines and isinstance(value, dict):
            out = {}
            for name, sub in value.items():
                sub_spec = spec.lines.get(name)
                if name == "links" or (sub_spec is not None and sub_spec.read_only):
                    continue
                if sub_spec is None:
                    errors.append(_detail(f"Invalid field '{name}' on subrecord '{path}'.", "INVALID_CONTENT",
                                          f"{path}.{name}"))
                else:
                    out[name] = self._value(sub_spec, sub, f"{path}.{name}", errors)
            return out
        if spec.type == "sublist":
            lines = value.get("items") if isinstance(value, dict) else None
            if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
                errors.append(_detail(f"Invalid value for sublist '{path}': expected {{\"items\": [...]}}.",
                                      "INVALID_CONTENT", path))
                return []
            return [self._line(spec, line, f"{path}.items[{i}]", errors) for i, line in enumerate(lines)]
        if not ok:
            errors.append(_detail(f"Invalid Field Value {value!r} for the following field: {path}",
                                  "INVALID_CONTENT", path))
        return value

    def _reference(self, spec: F, value: Any, path: str, errors: list[dict[str, str]]) -> str | None:
        ref = None
        if isinstance(value, dict) and value.get("id") is not None:
            ref = str(value["id"])
        elif isinstance(value, dict) and value.get("externalId"):
            ref = f"eid:{value['externalId']}"
        found = self._find(spec.ref or "", ref) if ref else None
        if found is None or (spec.ref == "inventoryItem" and found[1].get("isInactive") is True):
            shown = json.dumps(value)  # an inactive item cannot be sold: NetSuite refuses it on a line
            errors.append(_detail(f"Invalid Field Value {shown} for the following field: {path}", "USER_ERROR", path))
            return None
        return found[0]

    def _line(self, spec: F, line: dict[str, Any], path: str, errors: list[dict[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in line.items():
            line_spec = spec.lines.get(name)
            if name == "links":
                continue
            if line_spec is None:
                errors.append(_detail(f"Invalid field '{name}' on sublist line.", "INVALID_CONTENT", f"{path}.{name}"))
            elif name == "line" or not line_spec.read_only:
                out[name] = value if name == "line" else self._value(line_spec, value, f"{path}.{name}", errors)
        for name, line_spec in spec.lines.items():
            if line_spec.required and line.get(name) in (None, ""):  # an invalid value is reported already
                errors.append(_detail(f"Please enter value(s) for: {line_spec.label}", "USER_ERROR",
                                      f"{path}.{name}"))
        return out

    def _derive(self, record_type: str, row: dict[str, Any]) -> None:
        """Computed fields: line numbers and amounts (decimal, rounded half-up to the cent), totals, document
        numbers, statuses."""
        lines = row.get("item")
        if record_type in TRAN_TYPES and isinstance(lines, list):
            total = Decimal(0)
            for number, line in enumerate(lines, start=1):
                line.setdefault("line", number)
                amount = (_decimal(line.get("quantity")) * _decimal(line.get("rate"))).quantize(
                    CENT, rounding=ROUND_HALF_UP)
                line["amount"] = float(amount)
                total += amount
            row["subtotal"] = row["total"] = float(total)
        for name in ("addressBook", "price", "apply"):
            lines = row.get(name) or []
            taken: set[Any] = set()
            for line in lines:  # a line's number is its key: a new line, or a copy of one, gets the next free one
                if "line" in line and line["line"] in taken:
                    del line["line"]
                elif "line" in line:
                    taken.add(line["line"])
            for number, line in enumerate(lines, start=1):
                if "line" not in line:
                    line["line"] = number if number not in taken else max(
                        (n for n in taken if isinstance(n, int)), default=0) + 1
                    taken.add(line["line"])
        for line in row.get("addressBook") or []:
            address = line.get("addressBookAddress")
            if isinstance(address, dict):
                address["addrText"] = _address_text(address)
        if record_type in TRAN_TYPES:
            prefix = {"estimate": "EST", "salesOrder": "SO", "invoice": "INV", "customerPayment": "PYMT"}[record_type]
            row.setdefault("tranId", f"{prefix}{self.store.next_id(f'netsuite:tranid:{record_type}', start=1001)}")
            row.setdefault("tranDate", date.today().isoformat())
            row.setdefault("status", {"estimate": "Open", "salesOrder": "Pending Fulfillment",
                                      "invoice": "Open", "customerPayment": "Deposited"}[record_type])
        if record_type == "invoice":
            row.setdefault("amountPaid", 0.0)
            remaining = _decimal(row.get("total")) - _decimal(row["amountPaid"])
            row["amountRemaining"] = float(remaining)
            row["status"] = "Paid In Full" if remaining <= 0 and _decimal(row.get("total")) > 0 else "Open"

    def _apply_payment(self, row: dict[str, Any], errors: list[dict[str, str]]) -> list[tuple[str, str, dict]]:
        """The invoices (and customer) a new payment changes, or errors when it does not fit them."""
        changes: list[tuple[str, str, dict]] = []
        applied = Decimal(0)
        for position, line in enumerate(row.get("apply") or []):
            found = self._find("invoice", str(line.get("doc")))
            if found is None:
                continue  # reported by the reference check
            invoice_id, invoice = found
            amount = _decimal(line.get("amount"))
            if amount <= 0 or amount > _decimal(invoice.get("amountRemaining")):
                errors.append(_detail(f"The payment of {amount} is more than {invoice.get('tranId')} has due "
                                      f"({invoice.get('amountRemaining')}).", "USER_ERROR",
                                      f"apply.items[{position}].amount"))
                continue
            applied += amount
            changes.append(("invoice", invoice_id, {**invoice, "amountPaid": float(
                _decimal(invoice.get("amountPaid")) + amount)}))
        if applied != _decimal(row.get("payment")):
            errors.append(_detail(f"The payment amount {row.get('payment')} is not what it applies ({applied}).",
                                  "USER_ERROR", "payment"))
        found = self._find("customer", str(row.get("customer") or ""))
        if found is not None and not errors:
            customer_id, customer = found
            changes.append(("customer", customer_id, {**customer, "balance": float(
                _decimal(customer.get("balance")) - applied)}))
        return changes

    # -- metadata catalog ------------------------------------------------------------------

    @route("GET", rf"{REST}/record/v1/metadata-catalog/?")
    def catalog(self, request: Request) -> Response:
        """The record types this account exposes."""
        items = []
        for name in SCHEMAS:
            href = f"{self._href(request, 'metadata-catalog')}/{name}"
            items.append({"name": name, "links": [
                {"rel": "canonical", "href": href, "mediaType": "application/json"},
                {"rel": "alternate", "href": href, "mediaType": "application/swagger+json"},
                {"rel": "describes", "href": href, "mediaType": "application/schema+json"}]})
        return json_response(200, {"items": items})

    @route("GET", rf"{REST}/record/v1/metadata-catalog/{TYPE}")
    def metadata(self, request: Request) -> Response:
        """JSON Schema (or an OpenAPI wrapper) of one record type, after any simulated schema change."""
        record_type = request.group("type")
        schema = self._schema(record_type)
        renamed, removed = self.renamed(record_type), self.removed(record_type)
        properties, required = {}, []
        for name, spec in schema.items():
            if name in removed:
                continue
            shown = renamed.get(name, name)
            properties[shown] = json_schema(record_type, name, spec)
            if spec.required or name in self.knobs["required_fields"].get(record_type, []):
                required.append(shown)
        document = {"type": "object", "title": record_type, "properties": properties, "required": required}
        if "swagger" in request.headers.get("Accept", ""):
            document = {"openapi": "3.0.1", "components": {"schemas": {record_type: document}}}
            return json_response(200, document, {"Content-Type": "application/swagger+json"})
        return json_response(200, document, {"Content-Type": "application/schema+json"})

    # -- SuiteQL ---------------------------------------------------------------------------

    @route("POST", rf"{REST}/query/v1/suiteql")
    def run_suiteql(self, request: Request) -> Response:
        """Run a SuiteQL query; NetSuite refuses it without `Prefer: transient`."""
        if request.headers.get("Prefer", "").strip().lower() != "transient":
            raise problem(400, "The request could not be processed: the Prefer header must be set to 'transient' "
                               "for SuiteQL queries.", "INVALID_HEADER", errorHeader="Prefer")
        body = request.json()
        sql = body.get("q") if isinstance(body, dict) else None
        if not isinstance(sql, str) or not sql.strip():
            raise problem(400, "The request body must contain the query in 'q'.", "INVALID_CONTENT", errorPath="q")
        try:
            query = suiteql.parse(sql)
            items = self._suiteql(query, page_end=_page_end(request))
        except suiteql.SuiteQLError as exc:
            raise problem(400, f"Invalid search query. Detailed unprocessed description follows. {exc}",
                          "INVALID_PARAMETER", errorQueryParam="q") from None
        href = f"http://{request.headers.get('Host', '')}{REST}/query/v1/suiteql"
        return self._collection(request, items, href)

    def _suiteql(self, query: suiteql.Query, page_end: int | None = None) -> Sequence[dict[str, Any]]:
        """The result items of a query (rendered when a page of them is taken).

        Only the rows the WHERE clause can match are built: the (lastmodifieddate, id) index answers keyset
        pages, and `id IN (...)` / `entity IN (...)` / `nkey IN (...)` look rows up by key, as a database would.
        """
        if query.table in ADDRESS_TABLES:
            return self._address_items(query)
        record_types = SUITEQL_TABLES.get(query.table)
        if record_types is None:
            raise suiteql.SuiteQLError(f"Record '{query.table}' was not found.")
        columns = self._suiteql_columns(record_types)
        unknown = sorted(query.referenced - columns)
        if unknown:
            raise suiteql.SuiteQLError(f"Field '{unknown[0]}' for record '{query.table}' was not found.")
        plan = suiteql.plan(query)
        types = [t for t in record_types if _may_match(plan, t)]
        keyset = (plan.after is not None and len(query.order) == 2 and not query.limited and not query.distinct
                  and query.sort_columns == [("lastmodifieddate", False), ("id", False)]
                  and not suiteql.aggregated(query))
        if "id" in plan.within:
            wanted = {_int_text(v) for v in plan.within["id"]} - {None}
            keys = [(t, i) for t in types for i in sorted(wanted, key=int) if i in self.store.table(t)]
        elif keyset and len(types) == 1:  # rows are taken a page at a time: no tuple per row of the rest
            keys = _Tagged(types[0], self._indexes.keys_after(types[0], plan.after, plan.after_id, check=page_end))
        elif keyset:
            keys = [(t, str(i)) for _, i, t in heapq.merge(*(
                [(moment, i, t) for moment, i in self._indexes.keys_after(t, plan.after, plan.after_id)]
                for t in types))]
        else:
            keys = [(t, i) for t in types for i in self.store.table(t)]
        display = self._display(record_types)
        if keyset and plan.exact and not plan.within:  # the index order is the ORDER BY, the bound the WHERE
            page_query = suiteql.Query(table=query.table, columns=query.columns)
            return _LazyItems(keys, lambda key: _item(suiteql.run(
                page_query, [self._suiteql_row(*key)], columns, display)[0]))
        rows = [self._suiteql_row(t, i) for t, i in keys]
        return [_item(row) for row in suiteql.run(query, rows, columns, display)]

    def _suiteql_columns(self, record_types: tuple[str, ...]) -> set[str]:
        """The column names a SuiteQL table knows."""
        columns = {"id", "itemtype", "type"}
        for record_type in record_types:
            schema = self._schema(record_type)
            renamed, removed = self.renamed(record_type), self.removed(record_type)
            columns |= {renamed.get(n, n).lower() for n, spec in schema.items()
                        if spec.type not in ("sublist", "object") and n not in removed}
        return columns

    def _suiteql_row(self, record_type: str, record_id: str) -> dict[str, Any]:
        """One record as a SuiteQL row: lower-cased body fields, dates as datetimes."""
        schema = self._schema(record_type)
        stored = self.store.table(record_type)[record_id]
        row: dict[str, Any] = {"id": int(record_id)}
        for name, value in self.expose(record_type, {k: v for k, v in stored.items()
                                                     if k in schema and schema[k].type not in ("sublist", "object")
                                                     }).items():
            spec = schema.get(self.internal_name(record_type, name) or name)
            if spec and spec.type in ("date", "datetime") and isinstance(value, str):
                value = suiteql.parse_iso(value)
            row[name.lower()] = value
        if record_type == "inventoryItem":
            row["itemtype"] = "InvtPart"
        if record_type in TRAN_TYPES:
            row["type"] = TRAN_TYPES[record_type]
        return row

    def _address_items(self, query: suiteql.Query) -> list[dict[str, Any]]:
        """customerAddressbook (a customer's address book lines) and customerAddressbookEntityAddress (the
        addresses): NetSuite's SuiteQL tables for the addressBook sublist, so a page of customers' addresses is
        two queries instead of a GET per customer. An address's key (`nkey`) is the customer's id times
        ADDRESS_KEY_SPAN plus its line number here."""
        columns = ADDRESS_TABLES[query.table]
        unknown = sorted(query.referenced - columns)
        if unknown:
            raise suiteql.SuiteQLError(f"Field '{unknown[0]}' for record '{query.table}' was not found.")
        plan = suiteql.plan(query)
        customers = self.store.table("customer")
        key_column = "entity" if query.table == "customeraddressbook" else "nkey"
        if key_column in plan.within:
            owners = {_int_text(v) for v in plan.within[key_column]} - {None}
            if key_column == "nkey":
                owners = {str(int(k) // ADDRESS_KEY_SPAN) for k in owners}
            wanted = sorted((i for i in owners if i in customers), key=int)
        else:
            wanted = list(customers)
        rows = []
        for customer_id in wanted:
            for line in customers[customer_id].get("addressBook") or []:
                number = line.get("line")
                if not isinstance(number, int) or not 0 < number < ADDRESS_KEY_SPAN:
                    continue
                nkey = int(customer_id) * ADDRESS_KEY_SPAN + number
                if query.table == "customeraddressbook":
                    rows.append({"entity": int(customer_id), "internalid": number, "addressbookaddress": nkey,
                                 "defaultbilling": bool(line.get("defaultBilling")),
                                 "defaultshipping": bool(line.get("defaultShipping")), "label": line.get("label")})
                else:
                    address = line.get("addressBookAddress") or {}
                    rows.append({"nkey": nkey, "recordowner": int(customer_id),
                                 **{name.lower(): address.get(name) for name in ADDRESS}})
        return [_item(row) for row in suiteql.run(query, rows, columns)]

    def _display(self, record_types: tuple[str, ...]) -> Callable[[str, Any], Any]:
        """BUILTIN.DF for a SuiteQL table: a reference column's value -> the referenced record's name."""
        targets: dict[str, str] = {}
        for record_type in record_types:
            renamed = self.renamed(record_type)
            for name, spec in self._schema(record_type).items():
                if spec.type == "ref" and spec.ref:
                    targets[renamed.get(name, name).lower()] = spec.ref

        def display(column: str, value: Any) -> Any:
            target = targets.get(column)
            if target is None:
                return value
            row = self.store.table(target).get(str(value), {})
            return next((row[f] for f in NAME_FIELDS if row.get(f)), str(value))

        return display

    def _collection(self, request: Request, items: list[dict[str, Any]], href: str) -> Response:
        """The collection envelope (links, count, hasMore, items, offset, totalResults) over limit/offset."""
        try:
            limit = int(request.arg("limit", "1000") or 1000)
            offset = int(request.arg("offset", "0") or 0)
        except ValueError:
            raise problem(400, "limit and offset must be integers.", "INVALID_PARAMETER",
                          errorQueryParam="limit") from None
        if not 1 <= limit <= 1000 or offset < 0:
            raise problem(400, "limit must be between 1 and 1000 and offset not negative.", "INVALID_PARAMETER",
                          errorQueryParam="limit")
        if offset // limit >= MAX_PAGES:  # 1000 pages at most: 100,000 rows at the largest page size
            raise problem(400, f"The offset {offset} is beyond the last of the {MAX_PAGES} pages a collection can "
                               f"return with limit {limit}.", "INVALID_PARAMETER", errorQueryParam="offset")
        page = items[offset:offset + limit]
        total = len(items)
        has_more = offset + len(page) < total
        last = max(0, (total - 1) // limit * limit)
        links = []  # the first page names neither itself as "first" nor a "previous" (Oracle's paging example)
        if offset > 0:
            links += [{"rel": "previous", "href": f"{href}?limit={limit}&offset={max(0, offset - limit)}"},
                      {"rel": "first", "href": f"{href}?limit={limit}&offset=0"}]
        if has_more:
            links.append({"rel": "next", "href": f"{href}?limit={limit}&offset={offset + limit}"})
        links += [{"rel": "last", "href": f"{href}?limit={limit}&offset={last}"},
                  {"rel": "self", "href": f"{href}?limit={limit}&offset={offset}"}]
        return json_response(200, {"links": links, "count": len(page), "hasMore": has_more, "items": page,
                                   "offset": offset, "totalResults": total})

    # -- seed data -------------------------------------------------------------------------

    def seed(self, preset: str) -> dict[str, int]:
        """"demo": price levels, items with stock and prices, customers (Acme with two branches), contacts,
        a sales order and an invoice 90 days overdue; "empty": nothing."""
        if preset not in self.presets:
            return super().seed(preset)
        if preset == "demo":
            load_demo(self)
        return {t: len(self.store.table(t)) for t in SCHEMAS}

    def put_seed(self, record_type: str, fields: dict[str, Any], *, modified: str | None = None) -> str:
        """Insert a record as NetSuite would hold it (computed fields derived, read-only fields allowed)."""
        record_id = self._new_id(record_type)
        row = dict(fields)
        fill_defaults(record_type, row, {}, new=True, find=self._stored, knobs=self.knobs)
        self._derive(record_type, row)
        row["lastModifiedDate"] = modified or _iso_now()
        row.setdefault("dateCreated", row["lastModifiedDate"])
        self._put(record_type, record_id, row)
        return record_id


def _page_end(request: Request) -> int | None:
    """How many result rows the requested page reaches (offset + limit), when the arguments say."""
    try:
        return int(request.arg("offset", "0") or 0) + int(request.arg("limit", "1000") or 1000)
    except ValueError:
        return None


class _Tagged(Sequence):
    """(record type, id) for each (modified, id) index key of one record type, made only for the keys read."""

    def __init__(self, record_type: str, keys: list) -> None:
        self.record_type, self.keys = record_type, keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [(self.record_type, str(record_id)) for _, record_id in self.keys[index]]
        return self.record_type, str(self.keys[index][1])


class _LazyItems(Sequence):
    """Result items rendered only when their page is taken (the collection envelope slices one page)."""

    def __init__(self, keys: list, render: Callable[[Any], dict[str, Any]]) -> None:
        self.keys, self.render = keys, render

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.render(key) for key in self.keys[index]]
        return self.render(self.keys[index])


def _item(row: dict[str, Any]) -> dict[str, Any]:
    """A SuiteQL result row as NetSuite sends it: values as text, null columns left out."""
    return {"links": [], **{k: suiteql.as_text(v) for k, v in row.items() if v is not None}}


def _int_text(value: Any) -> str | None:
    """A literal id as the store's key ("107"), or None when it is not a whole number."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return str(int(number)) if number == number.to_integral_value() and number >= 0 else None


def _may_match(plan: suiteql.Plan, record_type: str) -> bool:
    """False when the WHERE clause's `type = '...'` / `itemtype = '...'` rules the record type out."""
    if "type" in plan.within and record_type in TRAN_TYPES:
        return TRAN_TYPES[record_type] in plan.within["type"]
    return True


def _one_default_address(lines: list[dict[str, Any]], touched: list[dict[str, Any]]) -> None:
    """At most one default billing and one default shipping line; a line this write marked wins (the last one)."""
    for flag in ("defaultBilling", "defaultShipping"):
        marked = [line for line in touched if line.get(flag) is True] or [line for line in lines if line.get(flag)]
        for line in lines:
            if line.get(flag) and line is not marked[-1]:
                line[flag] = False


def _address_text(address: dict[str, Any]) -> str:
    """NetSuite's formatted address: addressee, street lines, "city state zip", country, one per line."""
    place = " ".join(str(address[k]) for k in ("city", "state", "zip") if address.get(k))
    parts = [address.get(k) for k in ("attention", "addressee", "addr1", "addr2", "addr3")] + [place,
                                                                                               address.get("country")]
    return "\n".join(str(p) for p in parts if p)


CENT = Decimal("0.01")


def _decimal(value: Any) -> Decimal:
    """A stored number as a Decimal (floats through their shortest text, so 21.6 is exactly 21.6)."""
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _detail(detail: str, code: str, path: str) -> dict[str, str]:
    return {"detail": detail, "o:errorCode": code, "o:errorPath": path}
