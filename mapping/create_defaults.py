"""Create defaults: what a record the hub creates in the CRM from an ERP record is given for the CRM fields the
ERP has no value for (a mapping's `erp_create_defaults`).

An ERP sales order keyed directly in the ERP becomes a HubSpot deal, and HubSpot cannot make a deal without a
pipeline and a deal stage, which the ERP does not know. The mapping says what they are, as canonical field ->
either a fixed value or a value taken from another canonical field (optionally through a map, with a default)::

    {"pipeline": "default",
     "stage": {"from": "order_status", "map": {"Cancelled": "closedlost"}, "default": "closedwon"},
     "amount": {"from": "order_total"}}

A default only fills a field the golden record has no value for; it is set on the golden record when the create
is queued (provenance: the hub, in that sync run) and written with the create, so the CRM record and the hub
agree from the start and the record's read-back is no change. A spec that gives no value for a record (a status
the map does not know, and no default) holds the create with that reason instead of creating a record the CRM
would refuse. The defaults are checked when the mapping is saved (their form), and when its rules are published
(each field has a rule with a CRM path, each value passes the rule, and, where the CRM describes a field's
options -- HubSpot's deal stages and pipelines --, is one of them).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mapping.validation import validate

SPEC_KEYS = frozenset({"from", "map", "default"})


def is_spec(value: Any) -> bool:
    """A {"from", "map", "default"} spec (rather than a fixed value, which may itself be a dict such as money)."""
    return isinstance(value, dict) and bool(value) and set(value) <= SPEC_KEYS


def shape_problems(defaults: Any) -> list[str]:
    """Why the defaults are not well formed (no rules needed)."""
    if defaults in (None, {}):
        return []
    if not isinstance(defaults, dict):
        return ["Create defaults must be an object: canonical field -> value or {\"from\", \"map\", \"default\"}."]
    problems = []
    for field, value in defaults.items():
        if not isinstance(field, str) or not field:
            problems.append(f"{field!r}: a create default needs a canonical field name.")
        elif is_spec(value):
            source = value.get("from")
            if source is not None and (not isinstance(source, str) or not source):
                problems.append(f"{field}: \"from\" must name a canonical field.")
            if "map" in value and (source is None or not isinstance(value["map"], dict)):
                problems.append(f"{field}: \"map\" must be an object of {source or 'source'} values -> {field} "
                                "values, with a \"from\" field.")
            if source is None and "default" not in value:
                problems.append(f"{field}: say \"from\" which field the value comes, or a \"default\".")
        elif isinstance(value, dict) and SPEC_KEYS & set(value):
            problems.append(f"{field}: unknown keys {', '.join(sorted(set(value) - SPEC_KEYS))} "
                            "(a spec has from, map and default).")
    return problems


def describe(defaults: Mapping[str, Any] | None) -> list[str]:
    """Each default in words, for the mapping page: "stage: from order_status (Cancelled → closedlost), else
    closedwon"."""
    lines = []
    for field, spec in (defaults or {}).items():
        if not is_spec(spec):
            lines.append(f"{field}: {spec}")
            continue
        text = f"{field}: from {spec['from']}" if spec.get("from") else f"{field}:"
        if spec.get("map"):
            text += " (" + ", ".join(f"{k} → {v}" for k, v in spec["map"].items()) + ")"
        if "default" in spec:
            text += f", else {spec['default']}" if spec.get("from") else f" {spec['default']}"
        lines.append(text)
    return lines


def _outcomes(spec: Any) -> list[Any]:
    """Every value a spec can give (the fixed values and map values; not a field copied as it is)."""
    if not is_spec(spec):
        return [spec]
    found = list((spec.get("map") or {}).values())
    if "default" in spec:
        found.append(spec["default"])
    return [value for value in found if value is not None]


def resolve(defaults: Mapping[str, Any] | None, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the defaults for a record with these golden values, why a field gets none). Fields the record has a
    value for are left alone."""
    filled: dict[str, Any] = {}
    missing: list[str] = []
    for field, spec in (defaults or {}).items():
        if values.get(field) not in (None, ""):
            continue
        if not is_spec(spec):
            filled[field] = spec
            continue
        source = spec.get("from")
        found = values.get(source) if source else None
        if found not in (None, "") and "map" in spec:
            found = spec["map"].get(found if isinstance(found, str) else str(found))
        if found in (None, ""):
            found = spec.get("default")
        if found in (None, ""):
            shown = values.get(source) if source else None
            why = f"{source} {shown!r} is not in its map" if shown not in (None, "") else f"the record has no {source}"
            missing.append(f"{field}: {why} and the mapping's create defaults give no default")
            continue
        filled[field] = found
    return filled, missing


def rule_problems(defaults: Mapping[str, Any] | None, rules: Iterable[Any], crm_mapper: Any = None,
                  crm_options: Mapping[str, list[str]] | None = None) -> list[str]:
    """Why the defaults do not fit these rules (FieldRule rows) and, when given, what the CRM describes
    (`crm_options`: vendor field -> its options; `crm_mapper`: the rules compiled for the CRM side)."""
    by_field = {rule.field: rule for rule in rules}
    problems = []
    for field, spec in (defaults or {}).items():
        rule = by_field.get(field)
        if rule is None:
            problems.append(f"create default {field}: no rule maps {field}")
            continue
        if not rule.crm_paths:
            problems.append(f"create default {field}: its rule has no CRM path to write it to")
            continue
        if is_spec(spec) and spec.get("from") and spec["from"] not in by_field:
            problems.append(f"create default {field}: no rule maps {spec['from']}, which it is taken from")
        for value in _outcomes(spec):
            for reason in validate(value, rule.field_type, rule.validation):
                problems.append(f"create default {field} {value!r}: {reason}")
            if crm_mapper is None or crm_options is None:
                continue
            vendor_field = rule.crm_paths[0].split(".", 1)[0]
            options = crm_options.get(vendor_field)
            if not options:
                continue
            written = crm_mapper.to_vendor({field: value}, only=[field])
            shown = written.values.get(vendor_field)
            if field in written.errors:
                problems.append(f"create default {field} {value!r}: {written.errors[field]}")
            elif shown not in (None, "") and str(shown) not in options:
                problems.append(f"create default {field} {value!r}: the CRM's {vendor_field} has no option "
                                f"{shown!r} (it has {', '.join(options)})")
    return problems
