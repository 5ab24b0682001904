"""HubSpot CRM v3 connector: incremental search pull, batch writes, associations, merge, webhooks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.base import (
    AuthCheck,
    Connector,
    ConnectorError,
    FieldInfo,
    Page,
    RateLimit,
    RecordError,
    RemoteRecord,
    WriteResult,
    format_timestamp,
    parse_timestamp,
)
from connectors.http import AuthStrategy, BearerToken
from connectors.registry import register

logger = logging.getLogger(__name__)

OBJECT_TYPES = {"companies", "contacts", "deals", "products", "line_items", "quotes", "invoices"}
_ALIASES = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-7": "products", "0-8": "line_items",
            "0-14": "quotes", "0-53": "invoices", "company": "companies", "contact": "contacts", "deal": "deals",
            "product": "products", "line_item": "line_items", "quote": "quotes", "invoice": "invoices"}
MERGEABLE = {"companies", "contacts"}
BATCH_SIZE = 100
SEARCH_PAGE_MAX = 200
LIST_PAGE_MAX = 100
# Property errors that condemn every input carrying that property, whatever its value.
_NAME_ERRORS = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"}
# Characters HubSpot URL-decodes in the URI before signing (signature v3).
_SIGNATURE_URI_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
                         "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
WEBHOOK_MAX_AGE_MS = 5 * 60 * 1000
# The hub's own id on every record it creates: a unique custom property (created at set-up).
HUB_ID_PROPERTY = "hub_record_id"

# Reserved keys a caller may put in an upsert_many record; they are not HubSpot properties. `associations`
# (what a rule path like `associations.companies.0` writes) is read as `_associations`.
KEY, ASSOCIATIONS, ID = "_key", "_associations", "id"
READ_ASSOCIATIONS = "associations"
# A document's lines (deals, quotes, invoices): HubSpot keeps them as line_items records associated with the
# document; the connector reads and writes them as the document's pseudo-field `line_items`, a list of lines.
LINE_ITEMS = "line_items"
DOCUMENTS = frozenset({"deals", "quotes", "invoices"})
LINE_ITEM_PROPERTIES = ("name", "hs_product_id", "hs_sku", "quantity", "price", "discount", "hs_discount_percentage",
                        "amount", "hs_line_item_currency_code", "hs_position_on_quote")


SINGULAR_NAMES = {"companies": "company", "contacts": "contact", "deals": "deal", "products": "product",
                  "line_items": "line_item", "quotes": "quote", "invoices": "invoice"}


def object_type(name: str) -> str:
    """Canonical plural object name for a name or type id (deals are also "0-3")."""
    canonical = _ALIASES.get(name, name)
    if canonical not in OBJECT_TYPES:
        raise ConnectorError(f"hubspot: unknown object {name!r}", kind="config", permanent=True)
    return canonical


def modified_property(object_name: str) -> str:
    """The last-modified property search filters on; contacts keep the legacy name."""
    return "lastmodifieddate" if object_name == "contacts" else "hs_lastmodifieddate"


def webhook_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot request signature v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    for encoded, char in _SIGNATURE_URI_DECODE.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    message = method.upper().encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class HubSpotOAuth(AuthStrategy):
    """OAuth2 bearer token that renews itself with the refresh token (before expiry and after a 401)."""

    def __init__(self, connector: HubSpotConnector) -> None:
        self.connector = connector
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        credentials = self.connector.credentials
        expires_at = credentials.get("expires_at")
        if not credentials.get("access_token") or (expires_at and time.time() >= float(expires_at)):
            self.refresh()
        request.headers["Authorization"] = f"Bearer {self.connector.credentials['access_token']}"
        return request

    def refresh(self) -> bool:
        token_before = self.connector.credentials.get("access_token")
        with self._lock:
            if self.connector.credentials.get("access_token") != token_before:
                return True  # another thread refreshed while this one waited
            credentials = self.connector.credentials
            form = {"grant_type": "refresh_token", "client_id": credentials["client_id"],
                    "client_secret": credentials["client_secret"], "refresh_token": credentials["refresh_token"]}
            try:
                token = self.connector.http.request_json("POST", "/oauth/v1/token", data=form, authenticate=False,
                                                         idempotent=True)
            except ConnectorError as exc:
                if exc.permanent:
                    raise ConnectorError(f"hubspot refused to refresh the OAuth token ({exc.message}); "
                                         "reconnect the app", kind="auth", permanent=True, status=exc.status) from exc
                raise
            if not isinstance(token, dict) or not token.get("access_token"):
                raise ConnectorError.malformed("hubspot /oauth/v1/token answered without an access_token")
            refreshed = {**credentials, "access_token": token["access_token"],
                         "refresh_token": token.get("refresh_token") or credentials["refresh_token"]}
            refreshed.pop("expires_at", None)
            lifetime = _number(token.get("expires_in"))
            if lifetime and lifetime > 0:  # renew a little early: 10% of the lifetime, at most a minute
                refreshed["expires_at"] = time.time() + lifetime - min(60.0, lifetime / 10)
            self.connector.credentials_refreshed(refreshed)
            return True


@register("hubspot")
class HubSpotConnector(Connector):
    """HubSpot CRM objects over the v3/v4 REST APIs."""

    # Private apps: 100 requests per 10 s (190 on higher tiers; pass rate_limit=RateLimit(190, 10)).
    default_rate_limit = RateLimit(100, 10)
    search_ceiling = 10_000
    vendor_hosts = ("api.hubapi.com",)

    # Creates go through a batch upsert on the hub's own unique property, so a create retried after a lost
    # answer (or a worker that died after sending) updates the record it made instead of making a second one.
    create_key = (HUB_ID_PROPERTY, HUB_ID_PROPERTY)

    def __init__(self, base_url: str, credentials: Mapping[str, Any], **options: Any) -> None:
        self._property_cache: dict[str, list[str]] = {}
        super().__init__(base_url, credentials, **options)

    def build_auth(self) -> AuthStrategy:
        credentials = self.credentials
        if credentials.get("refresh_token"):
            missing = [k for k in ("client_id", "client_secret") if not credentials.get(k)]
            if missing:
                raise self.config_error(f"OAuth credentials lack {', '.join(missing)}")
            return HubSpotOAuth(self)
        if credentials.get("access_token"):
            return BearerToken(lambda: self.credentials["access_token"])
        raise self.config_error("credentials need an access_token (private app) or an OAuth refresh_token")

    # -- reads ---------------------------------------------------------------------------------

    def check_auth(self) -> AuthCheck:
        try:
            self.http.request_json("GET", "/crm/v3/objects/companies", params={"limit": 1})
        except ConnectorError as exc:
            return AuthCheck(False, exc.message)
        return AuthCheck(True, "HubSpot accepted the credentials")

    def describe(self, object: str) -> list[FieldInfo]:
        data = self.http.request_json("GET", f"/crm/v3/properties/{object_type(object)}")
        fields = []
        for item in self._results(data, "properties"):
            try:
                fields.append(FieldInfo(name=item["name"], label=item.get("label") or item["name"],
                                        type=item.get("type") or "string", required=False,
                                        options=[str(o["value"]) for o in item.get("options") or []]))
            except (KeyError, TypeError) as exc:
                logger.warning("hubspot: skipping unreadable property definition %r: %s", item, exc)
        self._property_cache[object_type(object)] = [f.name for f in fields]
        return fields

    def property_names(self, object: str) -> list[str]:
        """All property names of the object (cached per connector instance), to ask for complete records."""
        name = object_type(object)
        if name not in self._property_cache:
            self.describe(name)
        return self._property_cache[name]

    def pseudo_fields(self, object: str) -> list[FieldInfo]:
        """Associations, and a document's lines (`line_items`), read and written as fields of the record."""
        fields = super().pseudo_fields(object)
        if object_type(object) in DOCUMENTS:
            fields.append(FieldInfo(LINE_ITEMS, "Line items", "sublist"))
        return fields

    def read_options(self, object: str, paths: Iterable[str]) -> dict[str, Any]:
        """Associations (`associations.companies.0`) and a document's lines (`line_items`) are read only when a
        path asks for them."""
        wanted = sorted({path.split(".")[1] for path in paths if path.startswith("associations.")})
        options: dict[str, Any] = {"associations": wanted} if wanted else {}
        if object_type(object) in DOCUMENTS and any(path.split(".", 1)[0] == LINE_ITEMS for path in paths):
            options[LINE_ITEMS] = True
        return options

    def changes(self, object: str, since: datetime | None, page_size: int = 100,
                properties: list[str] | None = None, associations: list[str] | None = None,
                line_items: bool = False) -> Iterator[Page]:
        """Pages of changed records, oldest first; the full pull (since=None) uses the list endpoint.

        `associations` (e.g. ["companies"]) fills RemoteRecord.associations: through `associations=` on the
        list endpoint, and by a v4 batch read per page for search results (search cannot return them).
        `line_items` adds each document's lines as the field `line_items` (see `with_line_items`).
        """
        name = object_type(object)
        names = properties or self.property_names(name)
        if since is None:
            pages = self._full_pull(name, names, page_size, associations or [])
        else:
            pages = self._incremental_pull(name, since, names, page_size)
            if associations:
                pages = (Page(self._with_associations(name, page.records, associations), page.errors, page.cursor)
                         for page in pages)
        if line_items:
            pages = (Page(self.with_line_items(name, page.records), page.errors, page.cursor) for page in pages)
            if since is not None:
                pages = self._with_changed_lines(name, since, pages, associations or [])
        return pages

    def _with_changed_lines(self, name: str, since: datetime, pages: Iterator[Page],
                            associations: list[str]) -> Iterator[Page]:
        """The pages, then the documents whose line items changed since `since` while the document itself did not
        (editing a line item leaves its deal's modification time alone); at most the search ceiling of changed
        line items per pull. Those pages move no cursor."""
        seen: set[str] = set()
        for page in pages:
            seen.update(record.external_id for record in page.records)
            yield page
        prop = modified_property(LINE_ITEMS)
        body: dict[str, Any] = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": "GTE",
                                                               "value": _epoch_ms(since)}]}],
                                "properties": ["hs_object_id"], "limit": SEARCH_PAGE_MAX,
                                "sorts": [{"propertyName": prop, "direction": "ASCENDING"}]}
        line_ids: list[str] = []
        while True:
            data = self._search(LINE_ITEMS, body)
            line_ids += [str(raw["id"]) for raw in self._results(data, LINE_ITEMS) if isinstance(raw, dict)]
            after = self._next_after(data)
            if after is None or len(line_ids) + SEARCH_PAGE_MAX > self.search_ceiling:
                break
            body = {**body, "after": after}
        parents = self.associations_of(LINE_ITEMS, line_ids, name)
        for chunk in _chunks(sorted({i for ids in parents.values() for i in ids} - seen), BATCH_SIZE):
            yield Page(self.get_many(name, chunk, associations=associations, line_items=True), [], None)

    def removed_lines(self, object: str, since: datetime) -> list[str]:
        """Ids of line items deleted (archived) since `since`, for the documents (deals, quotes, invoices) they were
        on. Deleting a line item changes neither its document's modification time nor anything a search can find
        (search never returns archived records), and an archived line item's associations cannot be relied on;
        the list endpoint's archived view can (`archived=true`, each with `archivedAt`). It is unordered and holds
        every line item archived in the last 90 days, so it is read whole: one call per 100 archived line items,
        per pull of a document mapping. The caller knows which document held which line (it read them)."""
        if object_type(object) not in DOCUMENTS:
            return []
        params: dict[str, Any] = {"limit": LIST_PAGE_MAX, "archived": "true", "properties": "hs_object_id"}
        removed: list[str] = []
        while True:
            data = self.http.request_json("GET", f"/crm/v3/objects/{LINE_ITEMS}", params=params)
            for raw in self._results(data, LINE_ITEMS):
                if not isinstance(raw, dict):
                    continue
                stamp = raw.get("archivedAt") or raw.get("updatedAt")
                try:
                    archived_at = parse_timestamp(stamp) if stamp else None
                except ValueError:
                    archived_at = None
                if raw.get("id") and (archived_at is None or archived_at >= since):
                    removed.append(str(raw["id"]))  # when in doubt, look: a re-read costs little
            after = self._next_after(data)
            if after is None:
                return removed
            params["after"] = after

    def _full_pull(self, name: str, names: list[str], page_size: int, associations: list[str]) -> Iterator[Page]:
        # The list endpoint is unordered, so the cursor is the vendor's newest modification time read
        # *before* the pull: anything changed during the pull is picked up by the next incremental run.
        high_water = self._latest_modification(name)
        params: dict[str, Any] = {"limit": max(1, min(page_size, LIST_PAGE_MAX)), "properties": ",".join(names)}
        if associations:
            params["associations"] = ",".join(object_type(a) for a in associations)
        while True:
            data = self.http.request_json("GET", f"/crm/v3/objects/{name}", params=params)
            records, errors = self._parse_records(name, self._results(data, name))
            after = self._next_after(data)
            last = after is None
            yield Page(records, errors, format_timestamp(high_water) if last and high_water else None)
            if last:
                return
            params["after"] = after

    def _latest_modification(self, name: str) -> datetime | None:
        prop = modified_property(name)
        data = self._search(name, {"sorts": [{"propertyName": prop, "direction": "DESCENDING"}],
                                   "properties": [prop], "limit": 1})
        records, _ = self._parse_records(name, self._results(data, name))
        return records[0].updated_at if records else None

    def _incremental_pull(self, name: str, since: datetime, names: list[str], page_size: int) -> Iterator[Page]:
        """Search sorted by modification time; a query stops at 10,000 results, so restart from the last seen time."""
        prop = modified_property(name)
        limit = max(1, min(page_size, SEARCH_PAGE_MAX))
        state = _Boundary(since)
        operator = "GTE"
        while True:
            window_start = state.last
            filters = [{"propertyName": prop, "operator": operator, "value": _epoch_ms(state.last)}]
            body = {"filterGroups": [{"filters": filters}], "properties": names, "limit": limit,
                    "sorts": [{"propertyName": prop, "direction": "ASCENDING"}]}
            capped = yield from self._search_window(name, body, state)
            if not capped:
                return
            if state.last == window_start:
                # More than a whole window shares one timestamp: walk those records by id, then move past it.
                yield from self._tie_scan(name, prop, names, limit, state)
                operator = "GT"
            else:
                operator = "GTE"

    def _search_window(self, name: str, body: dict[str, Any], state: _Boundary) -> Iterator[Page]:
        """Page one search query; returns True when it stopped at the search ceiling with more to read."""
        fetched = 0
        while True:
            data = self._search(name, body)
            raw = self._results(data, name)
            records, errors = self._parse_records(name, raw)
            yield Page(state.admit(records), errors, format_timestamp(state.last))
            fetched += len(raw)
            after = self._next_after(data)
            if after is None:
                return False
            if fetched + body["limit"] > self.search_ceiling:
                return True
            body = {**body, "after": after}

    def _tie_scan(self, name: str, prop: str, names: list[str], limit: int, state: _Boundary) -> Iterator[Page]:
        stamp = _epoch_ms(state.last)
        last_id = "0"
        while True:
            filters = [{"propertyName": prop, "operator": "EQ", "value": stamp},
                       {"propertyName": "hs_object_id", "operator": "GT", "value": last_id}]
            body = {"filterGroups": [{"filters": filters}], "properties": names, "limit": limit,
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}
            tracker = _Boundary(state.last)
            tracker.seen = set(state.seen)
            capped = yield from self._search_window(name, body, tracker)
            state.seen |= tracker.seen
            if not capped or tracker.max_id is None:
                return
            last_id = str(tracker.max_id)

    def _search(self, name: str, body: dict[str, Any]) -> Any:
        return self.http.request_json("POST", f"/crm/v3/objects/{name}/search", json=body, idempotent=True)

    def get_many(self, object: str, ids: list[str], associations: list[str] | None = None,
                 line_items: bool = False) -> list[RemoteRecord]:
        name = object_type(object)
        names = self.property_names(name)
        records: list[RemoteRecord] = []
        for chunk in _chunks(list(dict.fromkeys(str(i) for i in ids)), BATCH_SIZE):
            data = self.http.request_json("POST", f"/crm/v3/objects/{name}/batch/read", idempotent=True,
                                          json={"inputs": [{"id": i} for i in chunk], "properties": names})
            found, errors = self._parse_records(name, self._results(data, name))
            for error in errors:
                logger.warning("hubspot: unreadable %s record in batch read: %s", name, error.message)
            records.extend(found)
        records = self._with_associations(name, records, associations or [])
        return self.with_line_items(name, records) if line_items else records

    def with_line_items(self, object: str, records: list[RemoteRecord]) -> list[RemoteRecord]:
        """The documents with their lines as the field `line_items`: the associated line_items records' properties
        (and `id`), in the document's order (`hs_position_on_quote`, then id). One association read and one
        batch read per 100 records."""
        name = object_type(object)
        if not records:
            return records
        line_ids = self.associations_of(name, [r.external_id for r in records], LINE_ITEMS)
        lines = self._read_objects(LINE_ITEMS, sorted({i for ids in line_ids.values() for i in ids}),
                                   list(LINE_ITEM_PROPERTIES))

        def order(line: dict[str, Any]) -> tuple[int, int]:
            position = str(line.get("hs_position_on_quote") or "")
            return (int(position) if position.lstrip("-").isdigit() else 1 << 30,
                    int(line["id"]) if str(line["id"]).isdigit() else 0)

        return [RemoteRecord(r.external_id, r.updated_at,
                             {**r.fields, LINE_ITEMS: sorted((lines[i] for i in line_ids.get(r.external_id, [])
                                                              if i in lines), key=order)},
                             r.archived, r.associations) for r in records]

    def _read_objects(self, name: str, ids: list[str], properties: list[str]) -> dict[str, dict[str, Any]]:
        """id -> {"id", **properties} of existing records (missing ones are left out)."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids, BATCH_SIZE):
            data = self.http.request_json("POST", f"/crm/v3/objects/{name}/batch/read", idempotent=True,
                                          json={"inputs": [{"id": i} for i in chunk], "properties": properties})
            for raw in self._results(data, name):
                if isinstance(raw, dict) and raw.get("id") and isinstance(raw.get("properties"), dict):
                    found[str(raw["id"])] = {"id": str(raw["id"]),
                                             **{p: raw["properties"].get(p) for p in properties}}
        return found

    def _with_associations(self, name: str, records: list[RemoteRecord], associations: list[str]) -> list[RemoteRecord]:
        """The records with `associations` filled from a v4 batch read per associated object."""
        if not associations or not records:
            return records
        targets = [object_type(a) for a in associations]
        links = {to: self.associations_of(name, [r.external_id for r in records], to) for to in targets}
        # As the list endpoint answers: an object with no associated records is left out.
        return [RemoteRecord(r.external_id, r.updated_at, r.fields, r.archived,
                             {to: links[to][r.external_id] for to in targets if links[to].get(r.external_id)})
                for r in records]

    def associations_of(self, object: str, ids: list[str], to_object: str) -> dict[str, list[str]]:
        """Ids of `to_object` records associated with each id (v4 batch read)."""
        name, to_name = object_type(object), object_type(to_object)
        result: dict[str, list[str]] = {}
        for chunk in _chunks(ids, BATCH_SIZE):
            data = self.http.request_json("POST", f"/crm/v4/associations/{name}/{to_name}/batch/read",
                                          json={"inputs": [{"id": i} for i in chunk]}, idempotent=True)
            for item in self._results(data, "associations"):
                try:
                    result[str(item["from"]["id"])] = [str(t["toObjectId"]) for t in item["to"]]
                except (KeyError, TypeError) as exc:
                    logger.warning("hubspot: unreadable association %r: %s", item, exc)
        return result

    # -- writes --------------------------------------------------------------------------------

    def upsert_many(self, object: str, records: list[dict], id_field: str | None) -> list[WriteResult]:
        """Batch upsert by a unique property (id_field), else update records carrying "id" and create the rest.

        A record may carry "_key" (the caller's key for creates) and "_associations" ({object: [ids]}, added to the
        record's associations); "associations" (as rule paths write them) replaces the record's associations of
        each object type it names.
        """
        name = object_type(object)
        items = [_Input.build(index, record, id_field) for index, record in enumerate(records)]
        results: dict[int, WriteResult] = {}
        groups: dict[str, list[_Input]] = {"upsert": [], "update": [], "create": []}
        for item in items:
            if item.error:
                results[item.index] = WriteResult(False, None, item.key, None, item.error)
            else:
                groups[item.operation].append(item)
        for operation, group in groups.items():
            for chunk in _chunks(group, BATCH_SIZE):
                for item, result in self._write_chunk(name, operation, chunk):
                    results[item.index] = result
        self._associate_written(name, items, results)
        self._replace_line_items(name, items, results)
        return [results[item.index] for item in items]

    def _replace_line_items(self, name: str, items: list[_Input], results: dict[int, WriteResult]) -> None:
        """Make each written document's lines exactly the ones given: its old line_items are archived and the
        new ones created associated with it, in order. A document is one whole: when this fails, its result
        fails, and the retry replaces the lines again (the end state is the same)."""
        written = [item for item in items if item.lines is not None and results[item.index].ok]
        if not written:
            return
        if name not in DOCUMENTS:
            for item in written:
                results[item.index] = item.failed(self.config_error(f"{name} have no line items"))
            return
        self._replace_lines_of(name, written, results)

    def _replace_lines_of(self, name: str, written: list[_Input], results: dict[int, WriteResult]) -> None:
        type_id = ASSOCIATION_TYPE_IDS[(LINE_ITEMS, name)]
        try:
            ids = {item.index: str(results[item.index].external_id) for item in written}
            old = self.associations_of(name, list(ids.values()), LINE_ITEMS)
            stale = [line_id for parent in ids.values() for line_id in old.get(parent, [])]
            for chunk in _chunks(stale, BATCH_SIZE):
                self.http.request("POST", f"/crm/v3/objects/{LINE_ITEMS}/batch/archive", idempotent=True,
                                  json={"inputs": [{"id": i} for i in chunk]})
            inputs = [{"properties": {**{k: _property_value(v) for k, v in line.items() if k != ID},
                                      "hs_position_on_quote": str(position)},
                       "associations": [{"to": {"id": ids[item.index]}, "types": [
                           {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}]}
                      for item in written for position, line in enumerate(item.lines or [])]
            for chunk in _chunks(inputs, BATCH_SIZE):
                self.http.request_json("POST", f"/crm/v3/objects/{LINE_ITEMS}/batch/create", json={"inputs": chunk},
                                       idempotent=False)
        except ConnectorError as exc:
            if exc.kind == "auth":
                raise
            if exc.kind == "validation" and len(written) > 1:  # HubSpot refuses a whole batch: find the bad one
                for item in written:
                    self._replace_lines_of(name, [item], results)
                return
            error = ConnectorError(f"hubspot could not write the line items: {exc.message}", kind=exc.kind,
                                   permanent=exc.permanent, status=exc.status, details=exc.details)
            for item in written:
                result = results[item.index]
                results[item.index] = WriteResult(False, result.external_id, result.key, result.created, error)

    def _write_chunk(self, name: str, operation: str, items: list[_Input]) -> list[tuple[_Input, WriteResult]]:
        """One batch call; a whole-batch 400 is narrowed down so only the bad inputs fail."""
        inputs = [item.payload(name) for item in items]
        try:
            data = self.http.request_json("POST", f"/crm/v3/objects/{name}/batch/{operation}",
                                          json={"inputs": inputs}, idempotent=operation != "create")
        except ConnectorError as exc:
            if exc.kind in ("auth", "config"):
                raise
            if exc.kind != "validation" or len(items) == 1:
                return [(item, item.failed(exc)) for item in items]
            return self._narrow(name, operation, items, exc)
        return self._match_results(name, operation, items, data)

    def _narrow(self, name: str, operation: str, items: list[_Input],
                error: ConnectorError) -> list[tuple[_Input, WriteResult]]:
        """Fail the inputs a property error names; bisect when the error does not say which input is bad."""
        bad_names = _invalid_property_names(error)
        doomed = [item for item in items if bad_names & set(item.properties)]
        if doomed:
            rest = [item for item in items if not bad_names & set(item.properties)]
            failed = [(item, item.failed(error)) for item in doomed]
            return failed + (self._write_chunk(name, operation, rest) if rest else [])
        middle = len(items) // 2
        return self._write_chunk(name, operation, items[:middle]) + self._write_chunk(name, operation, items[middle:])

    def _match_results(self, name: str, operation: str, items: list[_Input],
                       data: Any) -> list[tuple[_Input, WriteResult]]:
        """Pair batch results and 207 errors back to inputs by trace id, else by record id or idProperty value."""
        by_trace = {item.trace_id: item for item in items}
        by_value = {item.match_value: item for item in items if item.match_value}
        matched: dict[int, WriteResult] = {}
        for raw in self._results(data, name):
            if not isinstance(raw, dict) or not raw.get("id"):
                continue
            item = by_trace.get(str(raw.get("objectWriteTraceId")))
            if item is None and operation != "create":
                id_field = items[0].id_field or ""
                value = raw["id"] if operation == "update" else (raw.get("properties") or {}).get(id_field, "")
                item = by_value.get(str(value).casefold())
            if item is not None:
                created = {"create": True, "update": False}.get(operation, raw.get("new"))
                matched[item.index] = WriteResult(True, str(raw["id"]), item.key, created, None)
        for error in (data or {}).get("errors") or []:
            failure = _batch_error(error)
            context = error.get("context") or {}
            for value in context.get("ids", []):
                item = by_value.get(str(value).casefold())
                if item is not None and item.index not in matched:
                    matched[item.index] = item.failed(failure)
        missing = ConnectorError.malformed(f"hubspot batch/{operation} returned no result for this input")
        return [(item, matched.get(item.index) or item.failed(missing)) for item in items]

    def _associate_written(self, name: str, items: list[_Input], results: dict[int, WriteResult]) -> None:
        """Link updated/upserted records ("_associations") with v4 default associations, batched per target."""
        pairs: dict[str, list[tuple[int, str, str]]] = {}
        for item in items:
            result = results[item.index]
            if not result.ok or not item.links_after_write(name):
                continue
            for to_name, to_ids in item.links.items():
                pairs.setdefault(to_name, []).extend((item.index, str(result.external_id), t) for t in to_ids)
        for to_name, links in pairs.items():
            for chunk in _chunks(links, BATCH_SIZE):
                inputs = [{"from": {"id": from_id}, "to": {"id": to_id}} for _, from_id, to_id in chunk]
                try:
                    data = self.http.request_json(
                        "POST", f"/crm/v4/associations/{name}/{to_name}/batch/associate/default",
                        json={"inputs": inputs}, idempotent=True)
                except ConnectorError as exc:
                    if exc.kind == "auth":
                        raise
                    error, failed = exc, {from_id for _, from_id, _ in chunk}
                else:
                    errors = (data or {}).get("errors") or []
                    error = ConnectorError(f"hubspot could not associate the record with {to_name}: "
                                           f"{errors[0].get('message') if errors else ''}", kind="validation",
                                           permanent=True, details=errors)
                    failed = {str(i) for e in errors for i in (e.get("context") or {}).get("ids", [])}
                for index, from_id, _ in chunk:
                    if from_id in failed:
                        result = results[index]
                        results[index] = WriteResult(False, result.external_id, result.key, result.created, error)
        self._drop_replaced_associations(name, items, results)

    def _drop_replaced_associations(self, name: str, items: list[_Input], results: dict[int, WriteResult]) -> None:
        """An existing record written with `associations` of an object type (what a rule path such as
        `associations.companies.0` writes: the record's company) has exactly those afterwards: a deal moved to
        another company loses the old one, which would otherwise stay, first in the list read back
        (`_associations` only adds). Run after the new
        associations are made, so a failure never leaves the record with none; a failure fails the record's
        result (the retry writes the same end state)."""
        moved: dict[str, dict[int, tuple[str, set[str]]]] = {}
        for item in items:
            result = results[item.index]
            if result.ok and item.replaces and not result.created:
                for to_name, to_ids in item.links.items():
                    if to_name in item.replaces:
                        moved.setdefault(to_name, {})[item.index] = (str(result.external_id), set(to_ids))
        for to_name, wanted in moved.items():
            current = self.associations_of(name, [from_id for from_id, _ in wanted.values()], to_name)
            stale = [(index, from_id, sorted(set(current.get(from_id, [])) - keep))
                     for index, (from_id, keep) in wanted.items()]
            stale = [entry for entry in stale if entry[2]]
            for chunk in _chunks(stale, BATCH_SIZE):
                inputs = [{"from": {"id": from_id}, "to": [{"id": to_id} for to_id in to_ids]}
                          for _, from_id, to_ids in chunk]
                try:
                    self.http.request("POST", f"/crm/v4/associations/{name}/{to_name}/batch/archive",
                                      json={"inputs": inputs}, idempotent=True)
                except ConnectorError as exc:
                    if exc.kind == "auth":
                        raise
                    error = ConnectorError(f"hubspot could not remove the replaced {to_name} association: "
                                           f"{exc.message}", kind=exc.kind, permanent=exc.permanent,
                                           status=exc.status, details=exc.details)
                    for index, _, _ in chunk:
                        result = results[index]
                        results[index] = WriteResult(False, result.external_id, result.key, result.created, error)

    def associate(self, object: str, object_id: str, to_object: str, to_id: str) -> None:
        """Create HubSpot's default association between two records (v4)."""
        self.http.request_json("PUT", f"/crm/v4/objects/{object_type(object)}/{object_id}/associations/default/"
                                      f"{object_type(to_object)}/{to_id}")

    def merge(self, object: str, survivor_id: str, absorbed_id: str) -> RemoteRecord:
        name = object_type(object)
        if name not in MERGEABLE:
            raise self.config_error(f"{name} does not support merge")
        data = self.http.request_json("POST", f"/crm/v3/objects/{name}/merge", idempotent=False,
                                      json={"primaryObjectId": str(survivor_id), "objectIdToMerge": str(absorbed_id)})
        records, errors = self._parse_records(name, [data])
        if errors:
            raise ConnectorError.malformed(f"hubspot merge answered with an unreadable record: {errors[0].message}")
        return records[0]

    def create_property(self, object: str, name: str, label: str, type: str, field_type: str, group_name: str,
                        *, unique: bool = False, options: list[str] | None = None,
                        description: str = "") -> FieldInfo:
        """Create a custom property (e.g. the ERP customer number, unique so upserts can match on it)."""
        body = {"name": name, "label": label, "type": type, "fieldType": field_type, "groupName": group_name,
                "hasUniqueValue": unique, "description": description,
                "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False}
                            for i, o in enumerate(options or [])]}
        data = self.http.request_json("POST", f"/crm/v3/properties/{object_type(object)}", json=body,
                                      idempotent=False)
        self._property_cache.pop(object_type(object), None)
        return FieldInfo(data["name"], data.get("label", label), data.get("type", type), False,
                         [str(o["value"]) for o in data.get("options") or []])

    # -- webhooks ------------------------------------------------------------------------------

    def webhook_records(self, payload: Any) -> list[tuple[str, str]]:
        """Events such as {"subscriptionType": "company.propertyChange", "objectId": 1001} -> ("companies", "1001")."""
        events = payload if isinstance(payload, list) else [payload]
        named = []
        for event in events:
            if not isinstance(event, dict):
                continue
            kind, object_id = str(event.get("subscriptionType") or ""), event.get("objectId")
            if kind.endswith(".associationChange") and object_id in (None, ""):
                # {"fromObjectId", "toObjectId", "associationType": "DEAL_TO_COMPANY", "associationRemoved"}: the
                # record whose associations changed (a deal moved to another company, a line item removed).
                object_id = event.get("fromObjectId")
            singular = kind.split(".", 1)[0]
            plural = next((name for name, one in SINGULAR_NAMES.items() if one == singular), None)
            if plural and object_id not in (None, ""):
                named.append((plural, str(object_id)))
        return named

    def webhook_event_ids(self, payload: Any) -> list[str]:
        """HubSpot numbers each event in a delivery ("eventId"); a retried delivery repeats them."""
        events = payload if isinstance(payload, list) else [payload]
        ids = [event.get("eventId") if isinstance(event, dict) else None for event in events]
        if not ids or any(isinstance(i, bool) or not isinstance(i, int | str) or i == "" for i in ids):
            return []
        return [str(i) for i in ids]

    def verify_webhook(self, method: str, uri: str, body: bytes, headers: Mapping[str, str],
                       now: float | None = None) -> bool:
        """Signature v3 with the app's client secret, within 5 minutes either side of now."""
        secret = self.credentials.get("webhook_secret") or self.credentials.get("client_secret")
        lowered = {key.lower(): value for key, value in headers.items()}
        signature = lowered.get("x-hubspot-signature-v3")
        timestamp = lowered.get("x-hubspot-request-timestamp")
        if not secret or not signature or not timestamp or not timestamp.isdigit():
            return False
        now_ms = (time.time() if now is None else now) * 1000
        if abs(now_ms - int(timestamp)) > WEBHOOK_MAX_AGE_MS:
            return False
        expected = webhook_signature(secret, method, uri, body, timestamp)
        return hmac.compare_digest(expected.encode(), signature.encode())

    # -- parsing -------------------------------------------------------------------------------

    @staticmethod
    def _results(data: Any, what: str) -> list[Any]:
        if not isinstance(data, dict) or not isinstance(data.get("results", []), list):
            raise ConnectorError.malformed(f"hubspot {what}: expected an object with a results list, "
                                           f"got {json.dumps(data)[:200]}")
        return data.get("results", [])

    @staticmethod
    def _next_after(data: Any) -> str | None:
        after = ((data.get("paging") or {}).get("next") or {}).get("after")
        return str(after) if after else None

    @staticmethod
    def _parse_records(name: str, raw_records: list[Any]) -> tuple[list[RemoteRecord], list[RecordError]]:
        """RemoteRecords from HubSpot objects; an unreadable one becomes a RecordError, never an exception."""
        prop = modified_property(name)
        records: list[RemoteRecord] = []
        errors: list[RecordError] = []
        for raw in raw_records:
            record_id = raw.get("id") if isinstance(raw, dict) else None
            try:
                if not isinstance(record_id, str | int) or isinstance(record_id, bool) or record_id == "":
                    raise ValueError("record has no id")
                properties = raw.get("properties")
                if not isinstance(properties, dict):
                    raise ValueError("properties is not an object")
                updated = parse_timestamp(properties.get(prop) or properties.get("hs_lastmodifieddate")
                                          or raw.get("updatedAt"))
                links = {to: [str(a["id"]) for a in value["results"]]
                         for to, value in (raw.get("associations") or {}).items()}
                records.append(RemoteRecord(str(record_id), updated, properties, bool(raw.get("archived")), links))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                errors.append(RecordError(str(record_id) if record_id not in (None, "") else None,
                                          f"hubspot {name}: unreadable record: {exc}", raw))
        return records, errors


class _Boundary:
    """The newest modification time yielded so far and the ids yielded at exactly that time."""

    def __init__(self, since: datetime) -> None:
        self.last = since
        self.seen: set[str] = set()
        self.max_id: int | None = None  # the highest numeric id passed in, yielded or not (for id paging)

    def admit(self, records: list[RemoteRecord]) -> list[RemoteRecord]:
        """Drop records already yielded at the boundary; advance the boundary."""
        fresh = []
        for record in records:
            if record.external_id.isdigit():
                self.max_id = max(self.max_id or 0, int(record.external_id))
            if record.updated_at < self.last or (record.updated_at == self.last and record.external_id in self.seen):
                continue
            if record.updated_at > self.last:
                self.last = record.updated_at
                self.seen = set()
            self.seen.add(record.external_id)
            fresh.append(record)
        return fresh


class _Input:
    """One upsert_many input: its batch operation, the caller's key and the HubSpot payload."""

    __slots__ = ("index", "operation", "key", "external_id", "id_field", "properties", "links", "lines", "error",
                 "replaces")

    def __init__(self, index: int, operation: str, key: str, *, external_id: str | None = None,
                 id_field: str | None = None, properties: dict[str, Any], links: dict[str, list[str]],
                 error: ConnectorError | None = None, lines: list[dict] | None = None) -> None:
        self.index, self.operation, self.key, self.external_id = index, operation, key, external_id
        self.id_field, self.properties, self.links, self.error = id_field, properties, links, error
        self.lines = lines
        self.replaces: frozenset[str] = frozenset()  # object types whose associations `links` replace

    @classmethod
    def build(cls, index: int, record: dict, id_field: str | None) -> _Input:
        properties = {k: _property_value(v) for k, v in record.items()
                      if k not in (KEY, ASSOCIATIONS, ID, READ_ASSOCIATIONS, LINE_ITEMS)}
        links = {object_type(to): [str(i) for i in (ids if isinstance(ids, list) else [ids]) if i not in (None, "")]
                 for source in (record.get(READ_ASSOCIATIONS), record.get(ASSOCIATIONS))
                 for to, ids in (source or {}).items()}
        links = {to: ids for to, ids in links.items() if ids}
        item = cls._build(index, record, id_field, properties, links)
        # `associations` (a rule path such as associations.companies.0: the record's company) says what the
        # record's associations of a type are; `_associations` adds to them.
        item.replaces = frozenset(object_type(to) for to in (record.get(READ_ASSOCIATIONS) or {}))
        if isinstance(record.get(LINE_ITEMS), list):
            item.lines = [line for line in record[LINE_ITEMS] if isinstance(line, dict)]
        return item

    @classmethod
    def _build(cls, index: int, record: dict, id_field: str | None, properties: dict[str, Any],
               links: dict[str, list[str]]) -> _Input:
        if id_field and id_field not in (ID, "hs_object_id"):
            value = record.get(id_field)
            key = str(record.get(KEY) or value or index)
            error = None if value not in (None, "") else ConnectorError(
                f"hubspot upsert: input {index} has no {id_field}", kind="validation", permanent=True)
            return cls(index, "upsert", key, id_field=id_field, properties=properties, links=links, error=error)
        record_id = record.get(ID) or properties.pop("hs_object_id", None)
        if record_id:
            return cls(index, "update", str(record.get(KEY) or record_id), external_id=str(record_id),
                       properties=properties, links=links)
        return cls(index, "create", str(record.get(KEY) or index), properties=properties, links=links)

    @property
    def trace_id(self) -> str:
        """Echoed back by HubSpot as objectWriteTraceId; unique within one batch."""
        return str(self.index)

    @property
    def match_value(self) -> str:
        """What else identifies this input's result: the record id or the idProperty value (case-folded)."""
        if self.operation == "upsert":
            return str(self.properties.get(self.id_field or "", "")).casefold()
        return (self.external_id or "").casefold()

    def payload(self, name: str) -> dict[str, Any]:
        body: dict[str, Any] = {"properties": self.properties, "objectWriteTraceId": self.trace_id}
        if self.operation == "update":
            body["id"] = self.external_id
        elif self.operation == "upsert":
            body.update(id=str(self.properties[self.id_field or ""]), idProperty=self.id_field)
        elif self.links and not self.links_after_write(name):
            body["associations"] = [
                {"to": {"id": to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                 "associationTypeId": ASSOCIATION_TYPE_IDS[(name, to_name)]}]}
                for to_name, ids in self.links.items() for to_id in ids]
        return body

    def links_after_write(self, name: str) -> bool:
        """Associations go inline on create when the type id is known, else by a v4 call after the write."""
        if not self.links:
            return False
        return self.operation != "create" or any((name, to) not in ASSOCIATION_TYPE_IDS for to in self.links)

    def failed(self, error: ConnectorError) -> WriteResult:
        return WriteResult(False, self.external_id, self.key, None, error)


# HUBSPOT_DEFINED default association type ids, for associations sent inline with a create.
ASSOCIATION_TYPE_IDS: dict[tuple[str, str], int] = {
    ("contacts", "companies"): 279, ("deals", "companies"): 341, ("deals", "contacts"): 3,
    ("line_items", "deals"): 20, ("line_items", "quotes"): 68, ("quotes", "deals"): 64,
    ("quotes", "companies"): 71, ("invoices", "line_items"): 409, ("line_items", "invoices"): 410,
    ("invoices", "deals"): 175, ("invoices", "contacts"): 177, ("invoices", "companies"): 179,
}


def _property_value(value: Any) -> Any:
    """HubSpot properties are strings; keep None (clears) and let JSON numbers/bools through unchanged."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _epoch_ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _invalid_property_names(error: ConnectorError) -> set[str]:
    """Names of properties a HubSpot 400 says do not exist or are read-only (parsed from its message)."""
    message = error.details.get("message", "") if isinstance(error.details, dict) else ""
    start = message.find("[")
    if start < 0:
        return set()
    try:
        problems = json.loads(message[start:])
    except ValueError:
        return set()
    return {p["name"] for p in problems if isinstance(p, dict) and p.get("error") in _NAME_ERRORS and p.get("name")}


def _batch_error(error: dict[str, Any]) -> ConnectorError:
    """A 207 batch error item as a ConnectorError."""
    category = error.get("category", "")
    kind = "not_found" if category == "OBJECT_NOT_FOUND" else "validation"
    return ConnectorError(f"hubspot: {error.get('message', category)}", kind=kind, permanent=True, details=error)
