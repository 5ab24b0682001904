"""Reading HubSpot: changes by search (incremental) or list (full), records by id, associations and a document's
line items."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.base import Page, RemoteRecord, format_timestamp, parse_timestamp
from connectors.hubspot.objects import (
    BATCH_SIZE,
    DOCUMENTS,
    LINE_ITEM_PROPERTIES,
    LINE_ITEMS,
    LIST_PAGE_MAX,
    SEARCH_PAGE_MAX,
    chunks,
    epoch_ms,
    modified_property,
    object_type,
)
from connectors.hubspot.responses import next_after, parse_records, result_list

if TYPE_CHECKING:
    from connectors.http import HttpClient

logger = logging.getLogger(__name__)


class HubSpotReads:
    """HubSpotConnector's read methods (mixed into it: they use its HTTP client and property names)."""

    http: HttpClient
    search_ceiling: int

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
                                                               "value": epoch_ms(since)}]}],
                                "properties": ["hs_object_id"], "limit": SEARCH_PAGE_MAX,
                                "sorts": [{"propertyName": prop, "direction": "ASCENDING"}]}
        line_ids: list[str] = []
        while True:
            data = self._search(LINE_ITEMS, body)
            line_ids += [str(raw["id"]) for raw in result_list(data, LINE_ITEMS) if isinstance(raw, dict)]
            after = next_after(data)
            if after is None or len(line_ids) + SEARCH_PAGE_MAX > self.search_ceiling:
                break
            body = {**body, "after": after}
        parents = self.associations_of(LINE_ITEMS, line_ids, name)
        for chunk in chunks(sorted({i for ids in parents.values() for i in ids} - seen), BATCH_SIZE):
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
            for raw in result_list(data, LINE_ITEMS):
                if not isinstance(raw, dict):
                    continue
                stamp = raw.get("archivedAt") or raw.get("updatedAt")
                try:
                    archived_at = parse_timestamp(stamp) if stamp else None
                except ValueError:
                    archived_at = None
                if raw.get("id") and (archived_at is None or archived_at >= since):
                    removed.append(str(raw["id"]))  # when in doubt, look: a re-read costs little
            after = next_after(data)
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
            records, errors = parse_records(name, result_list(data, name))
            after = next_after(data)
            last = after is None
            yield Page(records, errors, format_timestamp(high_water) if last and high_water else None)
            if last:
                return
            params["after"] = after

    def _latest_modification(self, name: str) -> datetime | None:
        prop = modified_property(name)
        data = self._search(name, {"sorts": [{"propertyName": prop, "direction": "DESCENDING"}],
                                   "properties": [prop], "limit": 1})
        records, _ = parse_records(name, result_list(data, name))
        return records[0].updated_at if records else None

    def _incremental_pull(self, name: str, since: datetime, names: list[str], page_size: int) -> Iterator[Page]:
        """Search sorted by modification time; a query stops at 10,000 results, so restart from the last seen time."""
        prop = modified_property(name)
        limit = max(1, min(page_size, SEARCH_PAGE_MAX))
        state = _Boundary(since)
        operator = "GTE"
        while True:
            window_start = state.last
            filters = [{"propertyName": prop, "operator": operator, "value": epoch_ms(state.last)}]
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
            raw = result_list(data, name)
            records, errors = parse_records(name, raw)
            yield Page(state.admit(records), errors, format_timestamp(state.last))
            fetched += len(raw)
            after = next_after(data)
            if after is None:
                return False
            if fetched + body["limit"] > self.search_ceiling:
                return True
            body = {**body, "after": after}

    def _tie_scan(self, name: str, prop: str, names: list[str], limit: int, state: _Boundary) -> Iterator[Page]:
        stamp = epoch_ms(state.last)
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
        for chunk in chunks(list(dict.fromkeys(str(i) for i in ids)), BATCH_SIZE):
            data = self.http.request_json("POST", f"/crm/v3/objects/{name}/batch/read", idempotent=True,
                                          json={"inputs": [{"id": i} for i in chunk], "properties": names})
            found, errors = parse_records(name, result_list(data, name))
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
        for chunk in chunks(ids, BATCH_SIZE):
            data = self.http.request_json("POST", f"/crm/v3/objects/{name}/batch/read", idempotent=True,
                                          json={"inputs": [{"id": i} for i in chunk], "properties": properties})
            for raw in result_list(data, name):
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
        for chunk in chunks(ids, BATCH_SIZE):
            data = self.http.request_json("POST", f"/crm/v4/associations/{name}/{to_name}/batch/read",
                                          json={"inputs": [{"id": i} for i in chunk]}, idempotent=True)
            for item in result_list(data, "associations"):
                try:
                    result[str(item["from"]["id"])] = [str(t["toObjectId"]) for t in item["to"]]
                except (KeyError, TypeError) as exc:
                    logger.warning("hubspot: unreadable association %r: %s", item, exc)
        return result


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

