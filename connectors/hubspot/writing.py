"""Writing HubSpot: batch create, update and upsert (a refused batch narrowed down to its bad inputs),
associations added or replaced, and a document's line items replaced whole."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorError, WriteResult
from connectors.hubspot.objects import (
    ASSOCIATION_TYPE_IDS,
    ASSOCIATIONS,
    BATCH_SIZE,
    DOCUMENTS,
    ID,
    KEY,
    LINE_ITEMS,
    READ_ASSOCIATIONS,
    chunks,
    object_type,
    property_value,
)
from connectors.hubspot.responses import result_list

if TYPE_CHECKING:
    from connectors.http import HttpClient

# Property errors that condemn every input carrying that property, whatever its value.
_NAME_ERRORS = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"}


class HubSpotWrites:
    """HubSpotConnector's write methods (mixed into it: they use its HTTP client and association reads)."""

    http: HttpClient

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
            for chunk in chunks(group, BATCH_SIZE):
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
            for chunk in chunks(stale, BATCH_SIZE):
                self.http.request("POST", f"/crm/v3/objects/{LINE_ITEMS}/batch/archive", idempotent=True,
                                  json={"inputs": [{"id": i} for i in chunk]})
            inputs = [{"properties": {**{k: property_value(v) for k, v in line.items() if k != ID},
                                      "hs_position_on_quote": str(position)},
                       "associations": [{"to": {"id": ids[item.index]}, "types": [
                           {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}]}
                      for item in written for position, line in enumerate(item.lines or [])]
            for chunk in chunks(inputs, BATCH_SIZE):
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
        for raw in result_list(data, name):
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
            for chunk in chunks(links, BATCH_SIZE):
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
            for chunk in chunks(stale, BATCH_SIZE):
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
        properties = {k: property_value(v) for k, v in record.items()
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
