"""Choice transforms: a picklist map between vendor values and canonical options, and yes/no values."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from mapping.transforms.base import ANY_TYPE, Compiled, Transform, _key, _reverse_map
from mapping.types import FieldType, TransformError, kind, show

UNKNOWN_POLICIES = ("reject", "pass_through", "default")
_MISSING = object()


class Picklist(Transform):
    """Map vendor picklist values to canonical options and back (the reverse must be unambiguous)."""

    name, label, reversible = "picklist", "Picklist map", True
    applies_to = frozenset({FieldType.CHOICE, FieldType.TEXT})
    params_help = {"map": "object: vendor value -> canonical option",
                   "unknown": "reject (default), pass_through or default: what to do with a value not in the map",
                   "default": "canonical option for unknown values when unknown is 'default'",
                   "preferred": "object: canonical option -> the vendor value to write when several map to it"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        mapping = params.get("map")
        if not isinstance(mapping, dict) or not mapping:
            return ["picklist map must be a non-empty object of vendor value -> canonical option"]
        bad = [vendor for vendor, canonical in mapping.items()
               if canonical is not None and not isinstance(canonical, str)]
        if bad:
            reasons.append(f"picklist map values must be text, not for {', '.join(map(show, bad))}")
        unknown = params.get("unknown", "reject")
        if unknown not in UNKNOWN_POLICIES:
            reasons.append(f"picklist unknown must be one of: {', '.join(UNKNOWN_POLICIES)} (got {show(unknown)})")
        if unknown == "default" and not isinstance(params.get("default"), str):
            reasons.append("picklist unknown='default' needs a default option")
        preferred = params.get("preferred", {})
        if not isinstance(preferred, dict):
            return reasons + ["picklist preferred must be an object of canonical option -> vendor value"]
        for canonical, vendor in preferred.items():
            if mapping.get(vendor, _MISSING) != canonical:
                reasons.append(f"picklist preferred value {show(vendor)} for {show(canonical)} "
                               f"is not mapped to {show(canonical)}")
        _reverse, ambiguous = _reverse_map(mapping, preferred)
        for canonical, vendors in ambiguous.items():
            reasons.append(f"picklist maps {', '.join(map(show, vendors))} all to {show(canonical)}; "
                           f"set preferred[{canonical!r}] to the one to write back")
        return reasons

    def field_problems(self, params: dict, field_type: FieldType, choices: list[str] | None,
                       vendor_options: list[str] | None, side: str) -> list[str]:
        reasons = []
        mapping = params.get("map")
        unknown = params.get("unknown", "reject")
        if not isinstance(mapping, dict) or not mapping:
            return reasons
        if choices is not None:
            listed = ", ".join(choices)
            for vendor, canonical in mapping.items():
                if canonical is not None and canonical not in choices:
                    reasons.append(f"picklist maps {side} value {show(vendor)} to {show(canonical)}, "
                                   f"which is not one of: {listed}")
            covered = set(mapping.values())
            for choice in choices:
                if choice not in covered:
                    reasons.append(f"picklist map has no {side} value for the choice {show(choice)}")
            if unknown == "default" and isinstance(params.get("default"), str) and params["default"] not in choices:
                reasons.append(f"picklist default {show(params['default'])} is not one of: {listed}")
        if vendor_options is not None and unknown == "reject":
            for option in vendor_options:
                if isinstance(option, str | int) and _key(option) not in mapping:
                    reasons.append(f"picklist map has no entry for {side} value {show(option)} and unknown='reject'")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        mapping: dict[str, Any] = dict(params["map"])
        unknown = params.get("unknown", "reject")
        default = params.get("default")
        reverse_map, ambiguous = _reverse_map(mapping, params.get("preferred", {}))

        def forward(value: Any, _record: Mapping) -> Any:
            found = mapping.get(value, _MISSING) if type(value) is str else mapping.get(_key(value), _MISSING)
            if found is _MISSING and type(value) is str:
                found = mapping.get(value.strip(), _MISSING)
            if found is not _MISSING:
                return found
            if unknown == "pass_through":
                return value
            if unknown == "default":
                return default
            raise TransformError("{value} is not in the picklist map", value)

        def reverse(value: Any, _out: dict) -> Any:
            if type(value) is not str:
                raise TransformError(f"expected an option (text) but got {kind(value)}: {{value}}", value)
            found = reverse_map.get(value, _MISSING)
            if found is not _MISSING:
                return found
            if value in ambiguous:
                raise TransformError("several picklist values map to {value}; set a preferred one", value)
            if unknown == "pass_through":
                return value
            raise TransformError("{value} has no value to write in the picklist map", value)

        return Compiled(forward, reverse, canonical=frozenset() if unknown == "pass_through" else ANY_TYPE,
                        pure=True)


class Boolean(Transform):
    """Read true/false in its many spellings; write the vendor's own form (params true/false)."""

    name, label, reversible = "boolean", "Yes/no", True
    applies_to = frozenset({FieldType.BOOLEAN})
    params_help = {"true": "vendor value written for true (default \"true\")",
                   "false": "vendor value written for false (default \"false\")"}
    WORDS: ClassVar[dict[str, bool]] = {"true": True, "false": False, "1": True, "0": False, "yes": True,
                                        "no": False, "y": True, "n": False, "on": True, "off": False,
                                        "t": True, "f": False}

    def problems(self, params: dict) -> list[str]:
        true, false = params.get("true", "true"), params.get("false", "false")
        reasons = []
        for which, vendor in (("true", true), ("false", false)):
            if not isinstance(vendor, str | bool | int):
                reasons.append(f"boolean {which} must be text, a number or true/false")
        if not reasons and _key(true).lower() == _key(false).lower():
            reasons.append("boolean true and false must be different values")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        true, false = params.get("true", "true"), params.get("false", "false")
        words = dict(self.WORDS)
        words[_key(true).lower()] = True
        words[_key(false).lower()] = False

        def forward(value: Any, _record: Mapping) -> bool:
            if value is True or value is False:
                return value
            if isinstance(value, str | int) and not isinstance(value, bool):
                found = words.get(value.strip().lower() if type(value) is str else str(value))
                if found is not None:
                    return found
            raise TransformError("{value} is not a yes/no value", value)

        def reverse(value: Any, _out: dict) -> Any:
            if value is True:
                return true
            if value is False:
                return false
            raise TransformError("{value} is not true or false", value)

        return Compiled(forward, reverse, canonical=ANY_TYPE)
