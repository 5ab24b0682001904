"""Checks a document (quote, deal, invoice) must pass before the hub creates it in another system, and what the
mapping gives a record the hub creates in the CRM from the ERP (`create_values`).

A document is created whole or not at all: one that would reach the other system without its lines, with lines
in another currency, or for a customer billed in another currency is held with the reason on the sync run and
the record page, and created once it is fixed (the next change, or a replay). Pure functions over golden
values, so the engine can check a whole chunk with one query for the customers.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q

from connectors.registry import connector_class
from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync.references import record_id_of
from integration_hub.sync.rules import CompiledMapping
from mapping import create_defaults
from mapping.line_items import lines_currencies

if TYPE_CHECKING:
    from integration_hub.sync.pull import ReadRecord

CUSTOMER_FIELD = "customer"
CURRENCY_FIELD = "currency"


def customers_of(documents: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The golden values of the customers these documents (golden values) point at (one query)."""
    ids = {record_id for values in documents if (record_id := record_id_of(values.get(CUSTOMER_FIELD)))}
    return dict(Record.objects.filter(pk__in=ids).values_list("pk", "values")) if ids else {}


def create_problems(compiled: CompiledMapping, values: Mapping[str, Any], entity: str, writable: set[str],
                    customers: Mapping[int, Mapping[str, Any]]) -> list[str]:
    """Why a document with these golden values cannot be created in another system yet (empty when it can)."""
    problems = []
    currency = values.get(CURRENCY_FIELD)
    for field in compiled.line_fields:
        if field not in writable:
            continue
        lines = values.get(field)
        if not lines:
            problems.append(f"{field}: the {entity} has no line items")
            continue
        other = sorted(lines_currencies(lines) - {currency}) if currency else []
        if other:
            problems.append(f"currency mismatch: the {entity} is in {currency} but its lines are priced in "
                            f"{', '.join(other)}")
    customer = customers.get(record_id_of(values.get(CUSTOMER_FIELD)) or 0)
    billed_in = (customer or {}).get(CURRENCY_FIELD)
    if currency and billed_in and billed_in != currency:
        name = customer.get("name") or "the customer"
        problems.append(f"currency mismatch: the {entity} is in {currency} but {name} is billed in {billed_in} in "
                        f"{compiled.system('erp').name}")
    return problems


def create_values(compiled: CompiledMapping, target: str, values: Mapping[str, Any]) -> tuple[dict, list[str]]:
    """(the values the mapping's create defaults add to a record the hub creates on the target side, why one is
    missing): an ERP order keyed in the ERP becomes a HubSpot deal with a pipeline and a stage (see
    mapping/create_defaults.py). Only creates in the CRM have defaults."""
    if target != "crm":
        return {}, []
    return create_defaults.resolve(compiled.mapping.erp_create_defaults, values)


def vendor_locked(compiled: CompiledMapping, side: str, link: Any, values: dict[str, Any]) -> tuple[dict, dict]:
    """(the values without the fields the vendor will not let change on this record any more, {field: why}): a
    fulfilled NetSuite order's customer. Such a change is held with the reason (replayable, on the record page)
    instead of being refused with the rest of the write or silently dropped; the other fields still go."""
    if link is None or not values:
        return values, {}
    current = link.remote_values or {}
    locks = connector_class(compiled.system(side).vendor).write_locks(compiled.vendor_object(side), current)
    if not locks:
        return values, {}
    held = {}
    for field in values:
        top = {path.split(".", 1)[0] for path in compiled.field_paths.get(side, {}).get(field, ())}
        reasons = [locks[name] for name in sorted(top & set(locks))]
        if reasons:
            held[field] = "; ".join(reasons)
    return {k: v for k, v in values.items() if k not in held}, held


def with_removed_lines(compiled: CompiledMapping, side: str, connector: Any, since: Any) -> list[str]:
    """The side's linked documents that held a line item deleted since `since` (as last read), to be read again:
    a HubSpot line item deleted from a deal changes nothing a pull by modification time sees. The connector
    names the deleted lines (`removed_lines`, where the vendor has such lines); the hub knows which document
    held them. Documents read again in this pull already hold their new lines, so they are not found."""
    finder = getattr(connector, "removed_lines", None)
    if finder is None or since is None or not compiled.line_fields:
        return []
    removed = {str(line_id) for line_id in finder(compiled.vendor_object(side), since)}
    keys = sorted({path.split(".", 1)[0] for field in compiled.line_fields
                   for path in compiled.field_paths.get(side, {}).get(field, ())})
    if not removed or not keys:
        return []
    links = RecordLink.objects.filter(system=compiled.system(side), entity_type=compiled.mapping.entity_type,
                                      status=LinkStatus.ACTIVE)
    found: set[str] = set()
    if connection.vendor == "postgresql":  # jsonb containment, served by the query, a chunk of lines at a time
        ordered = sorted(removed)
        for start in range(0, len(ordered), 200):
            match = Q()
            for key in keys:
                for line_id in ordered[start:start + 200]:
                    match |= Q(**{f"remote_values__{key}__contains": [{"id": line_id}]})
            found.update(links.filter(match).values_list("external_id", flat=True))
        return sorted(found)
    for key in keys:
        for external_id, lines in links.values_list("external_id", f"remote_values__{key}").iterator():
            if isinstance(lines, list) and any(isinstance(line, dict) and str(line.get("id")) in removed
                                               for line in lines):
                found.add(external_id)
    return sorted(found)


def own_creates(compiled: CompiledMapping, side: str, new: Mapping[str, ReadRecord],
                matched: Mapping[str, int]) -> dict[str, int]:
    """Records the hub created on this side whose link it never stored (the writer died between the system's
    answer and storing it): the create key it sent (NetSuite's externalId, HubSpot's hub_record_id: "hub-<id>")
    names their golden record. They are linked to it, never taken as new: an order the hub made from a deal does
    not come back as a deal of its own (and a second HubSpot deal). external id -> golden record id."""
    key_field = connector_class(compiled.system(side).vendor).create_key[0]
    wanted: dict[str, int] = {}
    for external_id, read in new.items():
        value = read.fields.get(key_field) if external_id not in matched else None
        if isinstance(value, str) and value.startswith("hub-") and value[4:].isdigit():
            wanted[external_id] = int(value[4:])
    if not wanted:
        return {}
    entity = compiled.mapping.entity_type
    taken = set(RecordLink.objects.filter(system=compiled.system(side), entity_type=entity,
                                          record_id__in=wanted.values()).values_list("record_id", flat=True))
    known = set(Record.objects.filter(pk__in=wanted.values(), entity_type=entity).values_list("pk", flat=True))
    return {external_id: record_id for external_id, record_id in wanted.items()
            if record_id in known and record_id not in taken}
