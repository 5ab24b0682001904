"""HubSpot CRM v3/v4 emulator: objects, batch, search, merge, associations, properties and OAuth.

Objects: contacts, companies, deals, tickets, products, line items, quotes, invoices and the engagements (calls,
emails, meetings, notes, tasks), by name or object type id. Associations (types, labels, the primary company,
the v4 API) are in `hubspot_associations`. Shapes follow HubSpot's published API (see
shared/contracts/hubspot/CONTRACT.md); the official `hubspot-api-client` deserialises every response in the
contract tests.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, ClassVar

from connectors.sandbox.hubspot_associations import HubSpotAssociations
from connectors.sandbox.hubspot_data import (
    CREATEDATE_OBJECTS,
    DEFAULT_OUTPUT,
    DEMO_COMPANIES,
    DEMO_CONTACTS,
    DEMO_DEALS,
    DEMO_PRODUCTS,
    DEMO_QUOTES,
    OBJECT_TYPE_IDS,
    SINGULAR,
    STANDARD_PROPERTIES,
    property_spec,
    system_property_specs,
)
from connectors.sandbox.modified_index import Indexes
from connectors.sandbox.server import (
    Emulator,
    HttpError,
    Request,
    Response,
    correlation_id,
    json_response,
    now_iso,
    paginate,
    route,
)

_ALIASES = {**{v: k for k, v in OBJECT_TYPE_IDS.items()}, **{v: k for k, v in SINGULAR.items()},
            **{k: k for k in OBJECT_TYPE_IDS}}

MERGEABLE = frozenset({"contacts", "companies"})
MAX_BATCH = 100
MAX_SEARCH_LIMIT = 200
MAX_LIST_LIMIT = 100


def modified_property(object_type: str) -> str:
    """HubSpot's last-modified property: contacts keep the legacy name."""
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def _always_output(object_type: str) -> tuple[str, ...]:
    created = "createdate" if object_type in CREATEDATE_OBJECTS else "hs_createdate"
    return ("hs_object_id", created, modified_property(object_type))


@lru_cache(maxsize=65536)
def _stamp_of(object_type: str) -> Callable[[Any], Any]:
    prop = modified_property(object_type)
    return lambda record: record.get("properties", {}).get(prop) if isinstance(record, dict) else None


def _epoch_ms(value: str) -> float | None:
    """A datetime property or filter value (ISO or epoch ms) as epoch milliseconds."""
    if value.lstrip("-").isdigit():
        return float(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp() * 1000


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class HubSpotEmulator(HubSpotAssociations, Emulator):
    """HubSpot's CRM API served from the sandbox store."""

    vendor = "hubspot"
    extra_knobs: ClassVar[dict[str, Any]] = {
        "search_ceiling": 10_000,    # HubSpot stops a search query at 10,000 results
        "oauth_client_id": "sandbox-client-id",
        "oauth_client_secret": "sandbox-client-secret",
    }
    presets = ("demo",)

    def __init__(self, **kwargs: Any) -> None:
        self._unique: dict[tuple[str, str], dict[str, str]] = {}
        self._modified = Indexes(self._records, _stamp_of)
        super().__init__(**kwargs)

    def setup(self) -> None:
        for object_type, props in STANDARD_PROPERTIES.items():
            table = self.store.table(f"properties:{object_type}")
            for definition in [*system_property_specs(object_type), *props]:
                table[definition["name"]] = definition
            self.store.table(object_type)
        self.store.table("oauth_refresh_tokens")["sandbox-refresh-token"] = True
        self._unique.clear()

    def reset(self) -> None:
        super().reset()
        self._unique.clear()

    def error_payload(self, status: int, message: str, category: str | None, extra: dict[str, Any]) -> Any:
        return {"status": "error", "message": message, "correlationId": correlation_id(),
                "category": category or ("VALIDATION_ERROR" if status < 500 else "INTERNAL_ERROR"), **extra}

    # -- helpers -----------------------------------------------------------------------------

    def _type(self, request: Request, group: str = "type") -> str:
        name = request.group(group)
        object_type = _ALIASES.get(name)
        if object_type is None:
            raise HttpError(400, f"Unable to infer object type from: {name}", category="VALIDATION_ERROR")
        return object_type

    def _schema(self, object_type: str) -> dict[str, dict[str, Any]]:
        return self.store.table(f"properties:{object_type}")

    def _records(self, object_type: str) -> dict[str, dict[str, Any]]:
        return self.store.table(object_type)

    def _find(self, object_type: str, key: str, id_property: str | None = None) -> dict[str, Any] | None:
        """A live record by id (following merges) or by a unique property."""
        if id_property and id_property != "hs_object_id":
            internal = self._unique_property(object_type, id_property)
            record_id = self._unique_index(object_type, internal).get(self._unique_key(internal, key))
            return self._records(object_type).get(record_id) if record_id else None
        records = self._records(object_type)
        record = records.get(key)
        if record is None:
            survivor = self.store.table(f"merged:{object_type}").get(key)
            record = records.get(survivor) if survivor else None
        return record if record is not None and not record.get("archived") else None

    def _unique_property(self, object_type: str, exposed: str) -> str:
        internal = self.internal_name(object_type, exposed)
        definition = self._schema(object_type).get(internal or "")
        if definition is None:
            raise HttpError(400, f"Property \"{exposed}\" does not exist", category="VALIDATION_ERROR",
                            subCategory="PROPERTY_DOESNT_EXIST")
        if not definition.get("hasUniqueValue"):
            raise HttpError(400, f"{exposed} is not a unique identifier property for {object_type}",
                            category="VALIDATION_ERROR")
        return definition["name"]

    @staticmethod
    def _unique_key(prop: str, value: str) -> str:
        return value.casefold() if prop == "email" else value

    def _unique_index(self, object_type: str, prop: str) -> dict[str, str]:
        """value -> id for a unique property, built on first use and kept up to date by writes."""
        index = self._unique.get((object_type, prop))
        if index is None:
            index = {}
            for record_id, record in self._records(object_type).items():
                value = record.get("properties", {}).get(prop) if isinstance(record, dict) else None
                if value and not record.get("archived"):
                    index[self._unique_key(prop, value)] = record_id
            self._unique[(object_type, prop)] = index
        return index

    def _output_names(self, object_type: str, requested: list[str] | None) -> list[tuple[str, str]]:
        """(internal, exposed) property names to return for a read."""
        schema = self._schema(object_type)
        names = list(requested) if requested else list(DEFAULT_OUTPUT[object_type])
        pairs: list[tuple[str, str]] = []
        seen: set[str] = set()
        for exposed in [*names, *_always_output(object_type)]:
            internal = self.internal_name(object_type, exposed)
            if internal in schema and exposed not in seen:  # unknown names are ignored, like HubSpot
                seen.add(exposed)
                pairs.append((internal, exposed))
        return pairs

    def _public(self, object_type: str, record: dict[str, Any], names: list[tuple[str, str]],
                associations: list[str] | None = None) -> dict[str, Any]:
        """A stored record in the `SimplePublicObject(WithAssociations)` shape."""
        values = record.get("properties", {})
        result = {
            "id": record.get("id"),
            "properties": {exposed: values.get(internal) for internal, exposed in names},
            "createdAt": record.get("createdAt"), "updatedAt": record.get("updatedAt"),
            "archived": record.get("archived", False),
        }
        if record.get("archived"):
            result["archivedAt"] = record.get("archivedAt")
        linked = self._v3_associations(object_type, str(record.get("id")),
                                       [_ALIASES[a] for a in associations or () if a in _ALIASES])
        if linked:
            result["associations"] = linked
        return result

    def _validate(self, object_type: str, properties: Any) -> dict[str, str | None]:
        """Client property values -> stored values, or a 400 listing every invalid one like HubSpot."""
        if not isinstance(properties, dict):
            raise HttpError(400, "Invalid input JSON: properties must be an object", category="VALIDATION_ERROR")
        schema = self._schema(object_type)
        clean: dict[str, str | None] = {}
        problems: list[dict[str, Any]] = []
        for name, value in properties.items():
            internal = self.internal_name(object_type, name)
            definition = schema.get(internal or "")
            problem = None
            if definition is None:
                problem = ("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            elif definition["modificationMetadata"]["readOnlyValue"]:
                problem = ("READ_ONLY_VALUE", f'Property "{name}" is a read only property; its value cannot be set.')
            else:
                text, error = self._coerce(definition, value)
                if error:
                    problem = (error, f'{value!r} is not a valid value for property "{name}"')
                else:
                    clean[definition["name"]] = text
            if problem:
                problems.append({"isValid": False, "message": problem[1], "error": problem[0], "name": name,
                                 "localizedErrorMessage": problem[1]})
        if problems:
            raise HttpError(400, f"Property values were not valid: {json.dumps(problems)}",
                            category="VALIDATION_ERROR")
        self._check_primary_property(object_type, clean)
        return clean

    @staticmethod
    def _coerce(definition: dict[str, Any], value: Any) -> tuple[str | None, str | None]:
        """(stored text, error code): HubSpot stores every value as a string."""
        if value is None or value == "":
            return "", None
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float | str):
            text = str(value)
        else:
            return None, "INVALID_VALUE"
        kind = definition["type"]
        if kind == "number" and _number(text) is None:
            return None, "INVALID_INTEGER"
        if kind in ("date", "datetime") and _epoch_ms(text) is None:
            return None, "INVALID_DATE"
        if kind == "bool" and text not in ("true", "false"):
            return None, "INVALID_BOOLEAN"
        if kind == "enumeration" and definition["options"]:
            allowed = {option["value"] for option in definition["options"]}
            if any(part not in allowed for part in text.split(";")):
                return None, "INVALID_OPTION"
        return text, None

    def _check_unique(self, object_type: str, values: dict[str, str | None], record_id: str | None) -> None:
        for prop, value in values.items():
            if not value or not self._schema(object_type)[prop].get("hasUniqueValue"):
                continue
            owner = self._unique_index(object_type, prop).get(self._unique_key(prop, value))
            if owner and owner != record_id:
                raise HttpError(409, f"{SINGULAR[object_type].title()} already exists. Existing ID: {owner}",
                                category="CONFLICT")

    def _write(self, object_type: str, values: dict[str, str | None], record: dict[str, Any] | None = None,
               *, stamp: str | None = None) -> dict[str, Any]:
        """Create or update a record, keeping ids, timestamps and unique indexes consistent."""
        stamp = stamp or now_iso()
        records = self._records(object_type)
        if record is None:
            record_id = str(self.store.next_id("object_ids", start=1001))  # unique across object types
            created = "createdate" if object_type in CREATEDATE_OBJECTS else "hs_createdate"
            record = {"id": record_id, "properties": {"hs_object_id": record_id, created: stamp,
                                                      "hs_createdate": stamp},
                      "createdAt": stamp, "updatedAt": stamp, "archived": False}
            records[record_id] = record
            changed = True
        else:
            props = record["properties"]
            changed = any(props.get(name, "") != (value or "") for name, value in values.items())
        if not changed:
            return record
        for prop, value in values.items():
            if self._schema(object_type)[prop].get("hasUniqueValue"):
                index = self._unique_index(object_type, prop)
                old = record["properties"].get(prop)
                if old:
                    index.pop(self._unique_key(prop, old), None)
                if value:
                    index[self._unique_key(prop, value)] = record["id"]
        record["properties"].update(values)
        if object_type == "line_items":
            self._line_item_values(record["properties"], values)
        record["properties"][modified_property(object_type)] = stamp
        record["properties"]["hs_lastmodifieddate"] = stamp
        record["updatedAt"] = stamp
        self._modified.written(object_type, record["id"], record)
        self._primary_from_property(object_type, record, values)
        return record

    def _line_item_values(self, props: dict[str, Any], written: dict[str, Any]) -> None:
        """What HubSpot fills in on a line item: the product's name, SKU and price when the write names a product
        without them, and the net amount, quantity x (price - unit discount or less the percentage), to the cent."""
        product = self._records("products").get(str(props.get("hs_product_id") or ""))
        if product is not None and "hs_product_id" in written:
            for name in ("name", "hs_sku", "price"):
                if not props.get(name):
                    props[name] = product["properties"].get(name) or ""
        try:
            quantity, price = Decimal(props.get("quantity") or "0"), Decimal(props.get("price") or "0")
            if props.get("discount"):
                net = price - Decimal(props["discount"])
            else:
                net = price * (1 - Decimal(props.get("hs_discount_percentage") or "0") / 100)
        except InvalidOperation:
            return
        props["amount"] = str((quantity * net).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    def _archive(self, object_type: str, record: dict[str, Any]) -> None:
        stamp = now_iso()
        record.update(archived=True, archivedAt=stamp, updatedAt=stamp)
        self._unindex(object_type, record)

    def _unindex(self, object_type: str, record: dict[str, Any]) -> None:
        """Free a record's unique values (it was archived or merged away)."""
        for (kind, prop), index in self._unique.items():
            value = record["properties"].get(prop)
            if kind == object_type and value and index.get(self._unique_key(prop, value)) == record["id"]:
                index.pop(self._unique_key(prop, value), None)

    @staticmethod
    def _inputs(body: Any) -> list[Any]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HttpError(400, "Invalid input JSON: inputs is required", category="VALIDATION_ERROR")
        if len(inputs) > MAX_BATCH:
            raise HttpError(400, f"Batch input exceeds the limit of {MAX_BATCH} inputs (got {len(inputs)})",
                            category="VALIDATION_ERROR", subCategory="BATCH_INPUT_LIMIT_EXCEEDED")
        return inputs

    @staticmethod
    def _batch(results: list[Any], errors: list[dict[str, Any]], status: int = 200) -> Response:
        started = now_iso()
        payload: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                                   "completedAt": now_iso()}
        if errors:
            payload.update(errors=errors, numErrors=len(errors))
            status = 207
        return json_response(status, payload)

    @staticmethod
    def _standard_error(category: str, message: str, ids: list[str]) -> dict[str, Any]:
        return {"status": "error", "category": category, "message": message, "context": {"ids": ids},
                "links": {}, "errors": []}

    # -- objects -------------------------------------------------------------------------------

    @route("GET", r"/crm/v3/objects/(?P<type>[\w-]+)")
    def list_objects(self, request: Request) -> Response:
        object_type = self._type(request)
        limit = min(int(request.arg("limit", "10") or 10), MAX_LIST_LIMIT)
        archived = request.arg("archived") == "true"
        names = self._output_names(object_type, request.args("properties"))
        live = (r for r in self._records(object_type).values() if bool(r.get("archived")) == archived)
        chunk, after = paginate(live, request.arg("after"), limit)
        payload: dict[str, Any] = {"results": [self._public(object_type, r, names, request.args("associations"))
                                               for r in chunk]}
        if after:
            payload["paging"] = {"next": {"after": after, "link": f"{request.path}?after={after}"}}
        return json_response(200, payload)

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)")
    def create_object(self, request: Request) -> Response:
        object_type = self._type(request)
        body = request.json()
        values = self._validate(object_type, body.get("properties", {}))
        self._check_unique(object_type, values, None)
        links = self._inline_kinds(object_type, body.get("associations"))
        record = self._write(object_type, values)
        for to_type, to_id, kinds in links:
            self._associate(object_type, record["id"], to_type, to_id, kinds)
        return json_response(201, self._public(object_type, record, self._output_names(object_type, list(values))))

    @route("GET", r"/crm/v3/objects/(?P<type>[\w-]+)/(?P<id>[^/]+)")
    def get_object(self, request: Request) -> Response:
        object_type = self._type(request)
        record = self._find(object_type, request.group("id"), request.arg("idProperty"))
        if record is None:
            raise HttpError(404, "resource not found", category="OBJECT_NOT_FOUND")
        names = self._output_names(object_type, request.args("properties"))
        return json_response(200, self._public(object_type, record, names, request.args("associations")))

    @route("PATCH", r"/crm/v3/objects/(?P<type>[\w-]+)/(?P<id>[^/]+)")
    def update_object(self, request: Request) -> Response:
        object_type = self._type(request)
        record = self._find(object_type, request.group("id"), request.arg("idProperty"))
        if record is None:
            raise HttpError(404, "resource not found", category="OBJECT_NOT_FOUND")
        values = self._validate(object_type, request.json().get("properties", {}))
        self._check_unique(object_type, values, record["id"])
        self._write(object_type, values, record)
        return json_response(200, self._public(object_type, record, self._output_names(object_type, list(values))))

    @route("DELETE", r"/crm/v3/objects/(?P<type>[\w-]+)/(?P<id>[^/]+)")
    def archive_object(self, request: Request) -> Response:
        object_type = self._type(request)
        record = self._find(object_type, request.group("id"))
        if record is not None:
            self._archive(object_type, record)
        return Response(204)

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)/batch/read")
    def batch_read(self, request: Request) -> Response:
        object_type = self._type(request)
        body = request.json()
        id_property = body.get("idProperty")
        names = self._output_names(object_type, body.get("properties") or None)
        results, missing = [], []
        for item in self._inputs(body):
            record = self._find(object_type, str(item.get("id")), id_property)
            if record is None:
                missing.append(str(item.get("id")))
            else:
                results.append(self._public(object_type, record, names))
        errors = [self._standard_error("OBJECT_NOT_FOUND", f"Could not get some {SINGULAR[object_type].upper()} "
                                       "objects, they may be deleted or not exist. Check that ids are valid.",
                                       missing)] if missing else []
        return self._batch(results, errors)

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)/batch/create")
    def batch_create(self, request: Request) -> Response:
        object_type = self._type(request)
        inputs = self._inputs(request.json())
        # HubSpot validates the whole batch first: one bad input fails every input.
        prepared = [self._validate(object_type, item.get("properties", {})) for item in inputs]
        for values in prepared:
            self._check_unique(object_type, values, None)
        links = [self._inline_kinds(object_type, item.get("associations")) for item in inputs]
        stamp = now_iso()
        results = []
        for item, values, item_links in zip(inputs, prepared, links, strict=True):
            record = self._write(object_type, values, stamp=stamp)
            for to_type, to_id, kinds in item_links:
                self._associate(object_type, record["id"], to_type, to_id, kinds)
            results.append(self._traced(item, self._public(object_type, record,
                                                           self._output_names(object_type, list(values)))))
        return self._batch(results, [], status=201)

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)/batch/update")
    def batch_update(self, request: Request) -> Response:
        object_type = self._type(request)
        body = request.json()
        inputs = self._inputs(body)
        self._reject_duplicate_ids(inputs)
        prepared = [self._validate(object_type, item.get("properties", {})) for item in inputs]
        stamp = now_iso()
        results, missing = [], []
        for item, values in zip(inputs, prepared, strict=True):
            record = self._find(object_type, str(item.get("id")), item.get("idProperty") or body.get("idProperty"))
            if record is None:
                missing.append(str(item.get("id")))
                continue
            self._check_unique(object_type, values, record["id"])
            self._write(object_type, values, record, stamp=stamp)
            results.append(self._traced(item, self._public(object_type, record,
                                                           self._output_names(object_type, list(values)))))
        errors = [self._standard_error("OBJECT_NOT_FOUND", f"Could not update some {SINGULAR[object_type]} "
                                       "objects: they do not exist.", missing)] if missing else []
        return self._batch(results, errors)

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)/batch/upsert")
    def batch_upsert(self, request: Request) -> Response:
        object_type = self._type(request)
        inputs = self._inputs(request.json())
        self._reject_duplicate_ids(inputs)
        prepared = []
        for item in inputs:
            if not item.get("idProperty") or item.get("id") in (None, ""):
                raise HttpError(400, "Upsert inputs need id and idProperty", category="VALIDATION_ERROR")
            internal = self._unique_property(object_type, item["idProperty"])
            values = self._validate(object_type, item.get("properties", {}))
            values[internal] = str(item["id"])
            prepared.append(values)
        stamp = now_iso()
        results = []
        for item, values in zip(inputs, prepared, strict=True):
            record = self._find(object_type, str(item["id"]), item["idProperty"])
            is_new = record is None
            record = self._write(object_type, values, record, stamp=stamp)
            result = self._public(object_type, record, self._output_names(object_type, [item["idProperty"],
                                                                                         *item.get("properties", {})]))
            result["new"] = is_new
            results.append(self._traced(item, result))
        return self._batch(results, [])

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)/batch/archive")
    def batch_archive(self, request: Request) -> Response:
        object_type = self._type(request)
        for item in self._inputs(request.json()):
            record = self._find(object_type, str(item.get("id")))
            if record is not None:
                self._archive(object_type, record)
        return Response(204)

    @staticmethod
    def _traced(item: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        """Echo the input's objectWriteTraceId so clients can pair results with inputs."""
        if item.get("objectWriteTraceId"):
            result["objectWriteTraceId"] = item["objectWriteTraceId"]
        return result

    @staticmethod
    def _reject_duplicate_ids(inputs: list[Any]) -> None:
        ids = [str(item.get("id")) for item in inputs]
        if len(set(ids)) != len(ids):
            raise HttpError(400, "Duplicate IDs found in batch input: "
                            f"{sorted({i for i in ids if ids.count(i) > 1})}", category="VALIDATION_ERROR")

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)/merge")
    def merge(self, request: Request) -> Response:
        object_type = self._type(request)
        if object_type not in MERGEABLE:
            raise HttpError(400, f"Merging is not supported for {object_type}", category="VALIDATION_ERROR")
        body = request.json()
        primary = self._find(object_type, str(body.get("primaryObjectId")))
        absorbed = self._find(object_type, str(body.get("objectIdToMerge")))
        if primary is None or absorbed is None:
            raise HttpError(404, "One of the records to merge does not exist", category="OBJECT_NOT_FOUND")
        if primary is absorbed:
            raise HttpError(400, "Cannot merge a record into itself", category="VALIDATION_ERROR")
        schema = self._schema(object_type)
        fill = {name: value for name, value in absorbed["properties"].items()
                if value and not primary["properties"].get(name)
                and not schema.get(name, {}).get("modificationMetadata", {}).get("readOnlyValue", True)}
        self._unindex(object_type, absorbed)
        self._move_associations(object_type, absorbed["id"], primary["id"])
        del self._records(object_type)[absorbed["id"]]
        merged_ids = [i for i in (primary["properties"].get("hs_merged_object_ids") or "").split(";") if i]
        merged_ids.append(absorbed["id"])
        self.store.table(f"merged:{object_type}")[absorbed["id"]] = primary["id"]
        fill["hs_merged_object_ids"] = ";".join(merged_ids)
        self._write(object_type, fill, primary)
        return json_response(200, self._public(object_type, primary, self._output_names(object_type, None)))

    # -- search --------------------------------------------------------------------------------

    @route("POST", r"/crm/v3/objects/(?P<type>[\w-]+)/search")
    def search(self, request: Request) -> Response:
        object_type = self._type(request)
        body = request.json()
        limit = int(body.get("limit") or 10)
        if limit > MAX_SEARCH_LIMIT:
            raise HttpError(400, f"limit must be at most {MAX_SEARCH_LIMIT}", category="VALIDATION_ERROR")
        offset = int(body.get("after") or 0)
        ceiling = int(self.knobs["search_ceiling"])
        if offset >= ceiling:
            raise HttpError(400, f"Search results are limited to {ceiling} per query; narrow the query to page "
                            "further", category="VALIDATION_ERROR")
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or any(len(g.get("filters") or []) > 6 for g in groups):
            raise HttpError(400, "Too many filter groups (max 5) or filters per group (max 6)",
                            category="VALIDATION_ERROR")
        predicate = self._predicate(object_type, groups, body.get("query"))
        matches = [r for r in self._candidates(object_type, groups) if not r.get("archived") and predicate(r)]
        self._sort(object_type, matches, body.get("sorts") or [])
        window = matches[offset:min(offset + limit, ceiling)]
        names = self._output_names(object_type, body.get("properties") or None)
        payload: dict[str, Any] = {"total": len(matches), "results": [self._public(object_type, r, names)
                                                                       for r in window]}
        end = offset + len(window)
        if end < len(matches):
            payload["paging"] = {"next": {"after": str(end)}}
        return json_response(200, payload)

    def _candidates(self, object_type: str, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records a search can match at all: when every filter group bounds the modification time from
        below (an incremental pull's `hs_lastmodifieddate GTE t`), the index answers with the records modified
        since the lowest bound instead of a scan of the whole object; the predicate still decides."""
        records = self._records(object_type)
        prop = modified_property(object_type)
        lows = []
        for group in groups:
            bounds = [_epoch_ms(str(f.get("value") or "")) for f in group.get("filters") or []
                      if f.get("propertyName") == prop and f.get("operator") in ("GTE", "GT", "EQ", "BETWEEN")]
            bounds = [b for b in bounds if b is not None]
            if not bounds:
                return list(records.values())
            lows.append(max(bounds))
        if not lows:
            return list(records.values())
        since = datetime.fromtimestamp(min(lows) / 1000 - 0.001, UTC)  # inclusive of the bound, whatever its ms
        keys = self._modified.keys_after(object_type, since, None)
        return [records[str(record_id)] for _, record_id in keys]

    def _sort(self, object_type: str, records: list[dict[str, Any]], sorts: list[Any]) -> None:
        records.sort(key=lambda r: int(r["id"]) if str(r.get("id", "")).isdigit() else 0)
        for sort in reversed(sorts):
            if isinstance(sort, str):
                name, descending = sort.lstrip("-"), sort.startswith("-")
            else:
                name, descending = sort.get("propertyName", ""), sort.get("direction") == "DESCENDING"
            internal = self.internal_name(object_type, name) or name
            kind = self._schema(object_type).get(internal, {}).get("type", "string")
            key = self._sort_key(kind, internal)
            records.sort(key=key, reverse=descending)

    @staticmethod
    def _sort_key(kind: str, name: str) -> Callable[[dict[str, Any]], Any]:
        def key(record: dict[str, Any]) -> Any:
            value = record["properties"].get(name) or ""
            if kind in ("number", "datetime", "date"):
                number = _epoch_ms(value) if kind != "number" else _number(value)
                return (number is None, number or 0)
            return (value == "", value.casefold())
        return key

    def _predicate(self, object_type: str, groups: list[dict[str, Any]],
                   query: str | None) -> Callable[[dict[str, Any]], bool]:
        compiled = [[self._filter(object_type, f) for f in group.get("filters") or []] for group in groups]
        needle = (query or "").casefold()
        text_props = ("name", "domain", "email", "firstname", "lastname", "phone", "dealname", "hs_sku")

        def matches(record: dict[str, Any]) -> bool:
            if needle and not any(needle in (record["properties"].get(p) or "").casefold() for p in text_props):
                return False
            return not compiled or any(all(f(record) for f in group) for group in compiled)
        return matches

    def _filter(self, object_type: str, spec: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
        """One search filter as a predicate over stored records, comparing by the property's type."""
        name = spec.get("propertyName", "")
        operator = spec.get("operator", "EQ")
        internal = self.internal_name(object_type, name)
        definition = self._schema(object_type).get(internal or "")
        if definition is None:
            raise HttpError(400, f"There was a problem with the request: property {name} does not exist",
                            category="VALIDATION_ERROR")
        kind = definition["type"]

        def norm(value: Any) -> Any:
            text = "" if value is None else str(value)
            if kind == "number":
                return _number(text)
            if kind in ("datetime", "date"):
                return _epoch_ms(text)
            return text.casefold()

        target = norm(spec.get("value"))
        high = norm(spec.get("highValue"))
        targets = {norm(v) for v in spec.get("values") or []}
        token = str(spec.get("value") or "").casefold().strip("*")

        def compare(value: Any) -> bool:
            if operator == "EQ":
                return value == target
            if operator == "NEQ":
                return value != target
            if operator == "IN":
                return value in targets
            if operator == "NOT_IN":
                return value not in targets
            if operator == "CONTAINS_TOKEN":
                return token in str(value)
            if operator == "NOT_CONTAINS_TOKEN":
                return token not in str(value)
            if value is None or target is None:
                return False
            if operator == "GT":
                return value > target
            if operator == "GTE":
                return value >= target
            if operator == "LT":
                return value < target
            if operator == "LTE":
                return value <= target
            if operator == "BETWEEN":
                return high is not None and target <= value <= high
            raise HttpError(400, f"Unsupported filter operator {operator}", category="VALIDATION_ERROR")

        def check(record: dict[str, Any]) -> bool:
            raw = record["properties"].get(internal)
            if operator == "HAS_PROPERTY":
                return bool(raw)
            if operator == "NOT_HAS_PROPERTY":
                return not raw
            if not raw and operator not in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN"):
                return False
            return compare(norm(raw))
        return check

    # -- properties ----------------------------------------------------------------------------

    def _public_property(self, object_type: str, definition: dict[str, Any]) -> dict[str, Any]:
        renamed = self.renamed(object_type).get(definition["name"])
        return {**definition, "name": renamed} if renamed else definition

    @route("GET", r"/crm/v3/properties/(?P<type>[\w-]+)")
    def list_properties(self, request: Request) -> Response:
        object_type = self._type(request)
        removed = self.removed(object_type)
        results = [self._public_property(object_type, d) for name, d in self._schema(object_type).items()
                   if name not in removed]
        return json_response(200, {"results": results})

    @route("GET", r"/crm/v3/properties/(?P<type>[\w-]+)/(?P<name>[^/]+)")
    def get_property(self, request: Request) -> Response:
        object_type = self._type(request)
        internal = self.internal_name(object_type, request.group("name"))
        definition = self._schema(object_type).get(internal or "")
        if definition is None:
            raise HttpError(404, f"Unable to find property {request.group('name')}", category="OBJECT_NOT_FOUND")
        return json_response(200, self._public_property(object_type, definition))

    @route("POST", r"/crm/v3/properties/(?P<type>[\w-]+)")
    def create_property(self, request: Request) -> Response:
        object_type = self._type(request)
        body = request.json()
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise HttpError(400, f"Missing required fields: {', '.join(missing)}", category="VALIDATION_ERROR")
        name = body["name"]
        if self.internal_name(object_type, name) in self._schema(object_type):
            raise HttpError(409, f"A property named '{name}' already exists.", category="OBJECT_ALREADY_EXISTS")
        if body["type"] not in ("string", "number", "date", "datetime", "enumeration", "bool"):
            raise HttpError(400, f"Invalid property type {body['type']}", category="VALIDATION_ERROR")
        definition = property_spec(name, body["label"], body["type"], body["fieldType"], group=body["groupName"],
                                   unique=bool(body.get("hasUniqueValue")))
        definition.update(description=body.get("description", ""), hubspotDefined=False, createdAt=now_iso(),
                          updatedAt=now_iso(), options=[{"label": o.get("label", o.get("value")),
                                                         "value": o.get("value"), "displayOrder": i,
                                                         "hidden": bool(o.get("hidden", False))}
                                                        for i, o in enumerate(body.get("options") or [])])
        definition["modificationMetadata"] = {"archivable": True, "readOnlyDefinition": False,
                                              "readOnlyValue": False}
        self._schema(object_type)[name] = definition
        return json_response(201, definition)

    # -- OAuth -----------------------------------------------------------------------------------

    @route("POST", r"/oauth/v1/token", auth=False)
    def oauth_token(self, request: Request) -> Response:
        form = request.form()
        if (form.get("client_id") != self.knobs["oauth_client_id"]
                or form.get("client_secret") != self.knobs["oauth_client_secret"]):
            raise HttpError(400, "Invalid client id or secret", category="BAD_CLIENT_ID")
        refresh_tokens = self.store.table("oauth_refresh_tokens")
        grant = form.get("grant_type")
        if grant == "refresh_token":
            refresh_token = form.get("refresh_token", "")
            if refresh_token not in refresh_tokens:
                raise HttpError(400, "missing or unknown refresh token", category="BAD_REFRESH_TOKEN")
        elif grant == "authorization_code":
            if not form.get("code") or not form.get("redirect_uri"):
                raise HttpError(400, "code and redirect_uri are required", category="BAD_AUTH_CODE")
            refresh_token = f"rt-{secrets.token_urlsafe(16)}"
            refresh_tokens[refresh_token] = True
        else:
            raise HttpError(400, f"unsupported grant_type {grant!r}", category="BAD_GRANT_TYPE")
        access_token, ttl = self.issue_token()
        return json_response(200, {"token_type": "bearer", "access_token": access_token,
                                   "refresh_token": refresh_token, "expires_in": ttl})

    # -- seed data -------------------------------------------------------------------------------

    def seed(self, preset: str) -> dict[str, int]:
        if preset != "demo":
            return super().seed(preset)
        company_ids = []
        for company in DEMO_COMPANIES:
            company_ids.append(self._write("companies", {"lifecyclestage": "customer", **company})["id"])
        for contact, company in DEMO_CONTACTS:
            record = self._write("contacts", {**contact, "company": DEMO_COMPANIES[company]["name"],
                                              "phone": DEMO_COMPANIES[company]["phone"], "lifecyclestage": "customer"})
            self._associate("contacts", record["id"], "companies", company_ids[company])
        products = {}
        for product in DEMO_PRODUCTS:
            products[product["hs_sku"]] = self._write("products", product)["id"]
        documents = []
        # The demo portal has a custom deal property for the negotiated payment terms (the template writes to it).
        terms = property_spec("payment_terms", "Payment terms", "enumeration", "select", group="dealinformation",
                              options=("Net 15", "Net 30", "Net 60", "Due on receipt"))
        self._schema("deals")["payment_terms"] = {**terms, "hubspotDefined": False}
        for deal, company, lines in DEMO_DEALS:
            record = self._write("deals", {**deal, "pipeline": "default", "closedate": "2025-06-30T00:00:00.000Z"})
            self._associate("deals", record["id"], "companies", company_ids[company])
            documents.append(("deals", record["id"], deal["deal_currency_code"], lines))
        for quote, company, lines in DEMO_QUOTES:
            record = self._write("quotes", quote)
            self._associate("quotes", record["id"], "companies", company_ids[company])
            documents.append(("quotes", record["id"], quote["hs_currency"], lines))
        for object_type, record_id, currency, lines in documents:
            for position, (sku, quantity, price, discount) in enumerate(lines):
                line = self._write("line_items", {
                    "hs_product_id": products[sku], "quantity": quantity, "price": price, "discount": discount,
                    "hs_line_item_currency_code": currency, "hs_position_on_quote": str(position)})
                self._associate("line_items", line["id"], object_type, record_id)
        return {"companies": len(DEMO_COMPANIES), "contacts": len(DEMO_CONTACTS), "products": len(DEMO_PRODUCTS),
                "deals": len(DEMO_DEALS), "quotes": len(DEMO_QUOTES)}
