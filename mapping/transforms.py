"""Named transforms between a vendor's field values and canonical values, each usable on the CRM or the ERP side.

A transform is compiled once per rule (``Transform.compile(params)``) into two closures, so the sync's hot path
never re-reads params. Forward closures take ``(value, record)`` (record = the vendor's fields, for transforms
that read a sibling field); reverse closures take ``(value, out)`` (out = the vendor fields being built).
Empty values (None) never reach a closure: the pipeline and the convenience methods pass them through.

``reversible`` means writing back restores the vendor's value: to_vendor(to_canonical(v)) is v (in the vendor's
normal form, e.g. a picklist's preferred value) and to_canonical(to_vendor(c)) is c. Irreversible transforms
(trim, case, split_part, phone_e164) still write: they send the canonical value.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mapping import world
from mapping.paths import compile_path, path_problems
from mapping.types import (
    CENT,
    DECIMAL_CONTEXT,
    MAX_INTEGER_DIGITS,
    MAX_TEXT_LENGTH,
    FieldType,
    TransformError,
    canonical_amount,
    canonical_currency,
    canonical_date,
    canonical_money,
    canonical_number,
    canonical_text,
    format_datetime,
    format_number,
    kind,
    parse_decimal,
    parse_iso_datetime,
    show,
)

Forward = Callable[[Any, Mapping], Any]
Reverse = Callable[[Any, dict], Any]
TEXTUAL = frozenset({FieldType.TEXT, FieldType.CHOICE, FieldType.REFERENCE})
ANY_TYPE = frozenset(FieldType)
PLAIN_TEXT = frozenset({FieldType.TEXT, FieldType.CHOICE})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
UNKNOWN_POLICIES = ("reject", "pass_through", "default")
_MISSING = object()

__all__ = ["Compiled", "TRANSFORMS", "Transform", "TransformError", "get_transform", "transform_choices"]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A transform bound to its params; ``after_write`` writes sibling fields (money's currency) on success."""

    to_canonical: Forward
    to_vendor: Reverse
    after_write: Callable[[Any, dict], None] | None = None
    sibling_paths: tuple[str, ...] = ()
    empty_as: Any = None  # when set, writing an empty value goes through to_vendor as this (split_part: "")
    canonical: frozenset[FieldType] = frozenset()  # field types its output is already canonical for: no 2nd pass
    # to_canonical's answer depends on the vendor value alone (no sibling field, no clock) and is worth
    # remembering (a lookup or a parse dearer than a dict look-up): the pipeline may reuse it for the same text.
    pure: bool = False


def _identity(value: Any, _context: Any) -> Any:
    return value


def _same_text(value: Any, _out: Any) -> str:
    """Write canonical text as it is (the pipeline skips this step: its values are text already)."""
    if type(value) is str:
        return value
    raise TransformError(f"expected text but got {kind(value)}: {{value}}", value)


def _text(value: Any, what: str = "text") -> str:
    """The value if it is a str, else a clear TransformError."""
    if type(value) is str:
        return value
    raise TransformError(f"expected {what} but got {kind(value)}: {{value}}", value)


def _key(value: Any) -> str:
    """Lookup key for a vendor value in a params map (JSON object keys are text)."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise TransformError(f"expected a single value but got {kind(value)}: {{value}}", value)


def _json_number(number: Decimal) -> int | float:
    """A JSON-safe number that writes exactly ``number``: int when whole, else a float whose repr is exact."""
    if number == number.to_integral_value():
        return int(number)
    approximate = float(number)
    if Decimal(repr(approximate)) != number:
        raise TransformError("{value} has too many digits to send as a number", format_number(number))
    return approximate


def _json_number_text(text: str) -> int | float:
    """_json_number for canonical number/amount text, by comparing texts (no Decimal on the common path)."""
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if not fraction:
        return int(whole)
    approximate = float(text)
    if repr(approximate) != f"{whole}.{fraction}":
        return _json_number(Decimal(text))
    return approximate


def _reverse_map(mapping: Mapping[str, Any], preferred: Mapping[str, Any]) -> tuple[dict, dict[str, list[str]]]:
    """canonical -> vendor, plus the canonical values that several vendor values map to with no preference."""
    sources: dict[str, list[str]] = {}
    for vendor, canonical in mapping.items():
        if canonical is not None:
            sources.setdefault(canonical, []).append(vendor)
    reverse, ambiguous = {}, {}
    for canonical, vendors in sources.items():
        if canonical in preferred:
            reverse[canonical] = preferred[canonical]
        elif len(vendors) == 1:
            reverse[canonical] = vendors[0]
        else:
            ambiguous[canonical] = vendors
    return reverse, ambiguous


class Transform:
    """A named, parameterised conversion; subclasses implement ``problems`` and ``build``."""

    name: ClassVar[str]
    label: ClassVar[str]
    applies_to: ClassVar[frozenset[FieldType]]
    reversible: ClassVar[bool]
    params_help: ClassVar[dict[str, str]] = {}

    def problems(self, params: dict) -> list[str]:
        """Problems with params alone (no field context)."""
        return []

    def field_problems(self, params: dict, field_type: FieldType, choices: list[str] | None,
                       vendor_options: list[str] | None, side: str) -> list[str]:
        """Problems that need the field's type, choices or the vendor's options."""
        return []

    def build(self, params: dict, path: str | list[str] | None) -> Compiled:
        raise NotImplementedError

    def check_params(self, params: Any, field_type: FieldType | str, *, choices: Iterable[str] | None = None,
                     vendor_options: Iterable[Any] | None = None, side: str = "vendor") -> list[str]:
        """Every reason these params cannot work on a field of this type (empty list when they can)."""
        reasons = []
        try:
            field_type = FieldType(field_type)
        except ValueError:
            return [f"unknown field type {field_type!r}"]
        if field_type not in self.applies_to:
            allowed = ", ".join(sorted(self.applies_to))
            reasons.append(f"{self.name} does not apply to {field_type} fields (only to: {allowed})")
        if not isinstance(params, dict):
            return reasons + [f"{self.name} params must be an object, not {kind(params)}"]
        unknown = sorted(str(key) for key in params if key not in self.params_help)
        if unknown:
            known = ", ".join(self.params_help) or "none"
            reasons.append(f"{self.name} has no param {', '.join(map(repr, unknown))} (known: {known})")
        reasons += self.problems(params)
        if not reasons or self.name == "picklist":  # a picklist's gaps are worth reporting beside its other problems
            reasons += self.field_problems(params, field_type, list(choices) if choices is not None else None,
                                           list(vendor_options) if vendor_options is not None else None, side)
        return reasons

    def compile(self, params: dict | None = None, *, path: str | list[str] | None = None) -> Compiled:
        """Bind params (and the vendor path, for transforms that need it); TransformError on bad params."""
        params = params or {}
        if not isinstance(params, dict):
            raise TransformError(f"{self.name} params must be an object, not {kind(params)}")
        problems = self.problems(params)
        if problems:
            raise TransformError(f"{self.name}: " + "; ".join(problems))
        return self.build(params, path)

    def to_canonical(self, value: Any, params: dict | None = None, record: Mapping | None = None) -> Any:
        """Vendor value -> canonical value (record: the vendor fields, for transforms reading a sibling)."""
        if value is None:
            return None
        return self.compile(params).to_canonical(value, record if record is not None else {})

    def to_vendor(self, value: Any, params: dict | None = None, out: dict | None = None) -> Any:
        """Canonical value -> vendor value (out: vendor fields being built, receives sibling writes)."""
        if value is None:
            return None
        compiled = self.compile(params)
        target = out if out is not None else {}
        result = compiled.to_vendor(value, target)
        if compiled.after_write is not None:
            compiled.after_write(value, target)
        return result

    def __repr__(self) -> str:
        return f"<Transform {self.name}>"


# --- text ------------------------------------------------------------------------------------------------

class Trim(Transform):
    """Strip surrounding whitespace (and optionally collapse inner runs to one space)."""

    name, label, reversible = "trim", "Trim whitespace", False
    applies_to = TEXTUAL
    params_help = {"collapse": "true to turn inner runs of whitespace into one space"}

    def problems(self, params: dict) -> list[str]:
        collapse = params.get("collapse", False)
        return [] if isinstance(collapse, bool) else ["trim's collapse must be true or false"]

    def build(self, params: dict, path: Any) -> Compiled:
        if params.get("collapse"):
            def forward(value: Any, _record: Mapping) -> str:
                if type(value) is str:
                    value = " ".join(value.split())
                    if len(value) <= MAX_TEXT_LENGTH and "\x00" not in value:
                        return value
                return canonical_text(" ".join(_text(value).split()))
        else:
            def forward(value: Any, _record: Mapping) -> str:
                if type(value) is str:
                    value = value.strip()
                    if len(value) <= MAX_TEXT_LENGTH and "\x00" not in value:
                        return value
                return canonical_text(_text(value).strip())
        # The output passed canonical_text's checks, so text and choice fields need no second pass.
        return Compiled(forward, _same_text, canonical=PLAIN_TEXT)


class Case(Transform):
    """Upper-, lower- or title-case text when reading; writes the canonical text as it is."""

    name, label, reversible = "case", "Change case", False
    applies_to = frozenset({FieldType.TEXT, FieldType.CHOICE})
    params_help = {"mode": "upper, lower or title"}
    MODES: ClassVar[dict[str, Callable[[str], str]]] = {"upper": str.upper, "lower": str.lower, "title": str.title}

    def problems(self, params: dict) -> list[str]:
        mode = params.get("mode")
        return [] if mode in self.MODES else [f"case mode must be one of: upper, lower, title (got {show(mode)})"]

    def build(self, params: dict, path: Any) -> Compiled:
        change = self.MODES[params["mode"]]
        return Compiled(lambda value, _record: canonical_text(change(_text(value))), _same_text,
                        canonical=PLAIN_TEXT)


class Concat(Transform):
    """Join several vendor fields into one text (parts trimmed, empty parts skipped); writing splits it again.

    Split rule: text is cut at the separator (any whitespace when it is " "). With split="last" (the default, for
    names) each of the last n-1 parts gets one token and the first part gets the rest ("Mary Ann" + "Smith");
    split="first" gives one token to each of the first n-1 parts and the rest to the last. When there are fewer
    tokens than parts, the tokens fill the first parts and the others are written empty.
    """

    name, label, reversible = "concat", "Join several fields", True
    applies_to = frozenset({FieldType.TEXT})
    params_help = {"separator": "text between parts (default one space)",
                   "split": "last (default) or first: which end gets one token per part when writing",
                   "parts": "number of parts when used without the pipeline (default 2)"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        separator = params.get("separator", " ")
        if not isinstance(separator, str) or not separator:
            reasons.append("concat separator must be non-empty text")
        if params.get("split", "last") not in ("last", "first"):
            reasons.append("concat split must be 'last' or 'first'")
        parts = params.get("parts", 2)
        if isinstance(parts, bool) or not isinstance(parts, int) or not 2 <= parts <= 10:
            reasons.append("concat parts must be a whole number from 2 to 10")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        separator = params.get("separator", " ")
        from_end = params.get("split", "last") == "last"
        count = len(path) if isinstance(path, list) else params.get("parts", 2)

        def forward(values: Any, _record: Mapping) -> str:
            if not isinstance(values, list | tuple):
                values = [values]
            parts = []
            for value in values:
                if value is None:
                    continue
                text = _text(value).strip()
                if text:
                    parts.append(text)
            return separator.join(parts)

        def reverse(value: Any, _out: dict) -> list[str | None]:
            text = _text(value)
            tokens = text.split() if separator == " " else [token for token in text.split(separator) if token]
            if len(tokens) <= count:
                return tokens + [None] * (count - len(tokens))
            if from_end:
                cut = len(tokens) - count + 1
                return [separator.join(tokens[:cut]), *tokens[cut:]]
            return [*tokens[:count - 1], separator.join(tokens[count - 1:])]

        return Compiled(forward, reverse)


class SplitPart(Transform):
    """One part of a multi-line vendor text (address line 1 of "line1\\nline2"); writing puts it back in place."""

    name, label, reversible = "split_part", "Take one part of a text", False
    applies_to = frozenset({FieldType.TEXT})
    params_help = {"separator": "text between parts (default a line break)", "index": "which part, from 0"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        separator = params.get("separator", "\n")
        if not isinstance(separator, str) or not separator:
            reasons.append("split_part separator must be non-empty text")
        index = params.get("index", 0)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 50:
            reasons.append("split_part index must be a whole number from 0 to 50")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        separator = params.get("separator", "\n")
        index = params.get("index", 0)
        getter = compile_path(path)[0] if isinstance(path, str) else None

        def split(text: str) -> list[str]:
            if separator == "\n":
                text = text.replace("\r\n", "\n")
            return text.split(separator)

        def forward(value: Any, _record: Mapping) -> str | None:
            parts = split(_text(value))
            return parts[index] if index < len(parts) else None

        def reverse(value: Any, out: dict) -> str:
            current = getter(out) if getter is not None else None
            parts = split(current) if isinstance(current, str) else []
            parts.extend([""] * (index + 1 - len(parts)))
            parts[index] = _text(value)
            while len(parts) > 1 and not parts[-1]:
                parts.pop()
            return separator.join(parts)

        return Compiled(forward, reverse, empty_as="")


# --- choices ----------------------------------------------------------------------------------------------

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


# --- numbers and money ------------------------------------------------------------------------------------

_VENDOR_TYPE_HELP = "string (default) or number: how the vendor wants the number written"


def _vendor_type_problems(name: str, params: dict) -> list[str]:
    vendor_type = params.get("vendor_type", "string")
    return [] if vendor_type in ("string", "number") else [f"{name} vendor_type must be 'string' or 'number'"]


class Number(Transform):
    """Vendor number or numeric text <-> canonical Decimal text; floats go through str() to drop binary noise."""

    name, label, reversible = "number", "Number", True
    applies_to = frozenset({FieldType.NUMBER})
    params_help = {"vendor_type": _VENDOR_TYPE_HELP}

    def problems(self, params: dict) -> list[str]:
        return _vendor_type_problems(self.name, params)

    def build(self, params: dict, path: Any) -> Compiled:
        vendor_type = params.get("vendor_type", "string")

        def reverse(value: Any, _out: dict) -> Any:
            text = canonical_number(value)
            return text if vendor_type == "string" else _json_number_text(text)

        return Compiled(lambda value, _record: canonical_number(value), reverse, canonical=ANY_TYPE)


class CentsToUnits(Transform):
    """Vendor whole cents (1250) <-> units ("12.50"; a number field keeps "12.5"), exactly; fractions of a cent
    are refused."""

    name, label, reversible = "cents_to_units", "Cents to units", True
    applies_to = frozenset({FieldType.NUMBER, FieldType.MONEY})
    params_help = {"vendor_type": "number (default) or string: how the vendor wants the cents written"}

    def problems(self, params: dict) -> list[str]:
        if params.get("vendor_type", "number") in ("string", "number"):
            return []
        return ["cents_to_units vendor_type must be 'string' or 'number'"]

    def build(self, params: dict, path: Any) -> Compiled:
        as_text = params.get("vendor_type", "number") == "string"

        def forward(value: Any, _record: Mapping) -> str:
            # Whole cents as text or int become "units.cc" by moving the point: exact, and no Decimal needed.
            digits = str(value) if type(value) is int else value if type(value) is str else None
            if digits is not None:
                negative = digits.startswith("-")
                body = digits[1:] if negative else digits
                if body.isdigit() and body.isascii() and len(body) <= MAX_INTEGER_DIGITS:
                    body = body.lstrip("0").rjust(3, "0")
                    units = f"{body[:-2]}.{body[-2:]}"
                    return "-" + units if negative and units != "0.00" else units
            cents = parse_decimal(value, "an amount in cents")
            if cents != cents.to_integral_value():
                raise TransformError("{value} is not a whole number of cents", value)
            return format(DECIMAL_CONTEXT.quantize(DECIMAL_CONTEXT.scaleb(cents, -2), CENT), "f")

        def reverse(value: Any, _out: dict) -> Any:
            cents = DECIMAL_CONTEXT.scaleb(parse_decimal(value, "an amount"), 2)
            if cents != cents.to_integral_value():
                raise TransformError("{value} has fractions of a cent", value)
            return str(int(cents)) if as_text else int(cents)

        return Compiled(forward, reverse)


class _CurrencyMap:
    """Vendor currency values (ids, names) <-> ISO codes through an optional map."""

    def __init__(self, mapping: Mapping[str, str] | None, preferred: Mapping[str, str] | None = None) -> None:
        self.mapping = {key: value.upper() for key, value in (mapping or {}).items()}
        self.reverse, self.ambiguous = _reverse_map(self.mapping, {k.upper(): v for k, v in (preferred or {}).items()})
        self.known: dict[str, str] = {}  # vendor texts already read (a handful of currencies): read once

    def read(self, value: Any) -> str:
        if type(value) is str:
            code = self.known.get(value)
            if code is None:
                code = self._read(value)
                if len(self.known) < 1000:
                    self.known[value] = code
            return code
        return self._read(value)

    def _read(self, value: Any) -> str:
        if self.mapping:
            found = self.mapping.get(_key(value) if not isinstance(value, str) else value.strip())
            if found is not None:
                return found
        try:
            return canonical_currency(value)
        except TransformError:
            if self.mapping:
                raise TransformError("{value} is not in the currency map and is not a currency code", value) from None
            raise

    def write(self, code: str) -> Any:
        if not self.mapping:
            return code
        found = self.reverse.get(code)
        if found is None:
            reason = "several currency map entries" if code in self.ambiguous else "no currency map entry"
            raise TransformError(f"{{value}} has {reason} to write", code)
        return found


def _currency_map_problems(name: str, mapping: Any, preferred: Any = None) -> list[str]:
    if mapping is None:
        return []
    if not isinstance(mapping, dict) or not mapping:
        return [f"{name} currency map must be a non-empty object of vendor value -> currency code"]
    reasons = []
    for vendor, code in mapping.items():
        try:
            canonical_currency(code)
        except TransformError as error:
            reasons.append(f"{name} currency map entry {show(vendor)}: {error}")
    if not reasons:
        _reverse, ambiguous = _reverse_map({k: v.upper() for k, v in mapping.items()},
                                           {k.upper(): v for k, v in (preferred or {}).items()}
                                           if isinstance(preferred, dict) else {})
        for code, vendors in ambiguous.items():
            reasons.append(f"{name} currency map has {', '.join(map(show, vendors))} all for {code}; "
                           f"set preferred[{code!r}]")
    return reasons


class CurrencyCode(Transform):
    """Vendor currency (id, name or code) <-> upper-case ISO 4217 code, through an optional map."""

    name, label, reversible = "currency_code", "Currency code", True
    applies_to = frozenset({FieldType.TEXT, FieldType.CHOICE})
    params_help = {"map": "object: vendor value (id or name) -> ISO code; without it the vendor value is the code",
                   "preferred": "object: ISO code -> vendor value to write when several map to it"}

    def problems(self, params: dict) -> list[str]:
        return _currency_map_problems(self.name, params.get("map"), params.get("preferred"))

    def build(self, params: dict, path: Any) -> Compiled:
        currencies = _CurrencyMap(params.get("map"), params.get("preferred"))
        return Compiled(lambda value, _record: currencies.read(value),
                        lambda value, _out: currencies.write(canonical_currency(value)), canonical=ANY_TYPE, pure=True)


class Money(Transform):
    """Vendor amount (number or text) + a currency <-> {"amount": "12.50", "currency": "EUR"}, exactly.

    The currency is fixed by params (``currency``) or read from a sibling vendor field (``currency_field``, a
    path, optionally through ``currency_map``); with currency_field, writing also writes that sibling.
    """

    name, label, reversible = "money", "Money amount", True
    applies_to = frozenset({FieldType.MONEY})
    params_help = {"currency": "ISO code every amount of this field is in",
                   "currency_field": "path of the vendor field holding the currency (e.g. currency.refName)",
                   "currency_map": "object: vendor currency value -> ISO code, for currency_field",
                   "vendor_type": _VENDOR_TYPE_HELP}

    def problems(self, params: dict) -> list[str]:
        reasons = _vendor_type_problems(self.name, params)
        fixed, field = params.get("currency"), params.get("currency_field")
        if fixed is None and field is None:
            reasons.append("money needs a currency source: currency (e.g. \"EUR\") or currency_field")
        elif fixed is not None and field is not None:
            reasons.append("money takes either currency or currency_field, not both")
        elif fixed is not None:
            try:
                canonical_currency(fixed)
            except TransformError as error:
                reasons.append(f"money currency: {error}")
        else:
            reasons += [f"money currency_field: {problem}" for problem in path_problems(field)]
        if params.get("currency_map") is not None and field is None:
            reasons.append("money currency_map only applies with currency_field")
        return reasons + _currency_map_problems(self.name, params.get("currency_map"))

    def build(self, params: dict, path: Any) -> Compiled:
        vendor_type = params.get("vendor_type", "string")
        fixed = canonical_currency(params["currency"]) if params.get("currency") else None
        field = params.get("currency_field")
        get_currency, set_currency = compile_path(field) if field else (None, None)
        currencies = _CurrencyMap(params.get("currency_map"))

        def forward(value: Any, record: Mapping) -> dict[str, str]:
            if isinstance(value, dict):
                return canonical_money(value)
            amount = canonical_amount(value)
            if fixed is not None:
                return {"amount": amount, "currency": fixed}
            raw = get_currency(record)
            if raw is None or raw == "":
                raise TransformError(f"amount {{value}} has no currency in {field!r}", value)
            return {"amount": amount, "currency": currencies.read(raw)}

        def reverse(value: Any, _out: dict) -> Any:
            money = canonical_money(value)
            if fixed is not None and money["currency"] != fixed:
                raise TransformError(f"{{value}} is in {money['currency']} but this field is kept in {fixed}",
                                     f"{money['amount']} {money['currency']}")
            if field is not None:
                currencies.write(money["currency"])  # fail before anything is written
            return money["amount"] if vendor_type == "string" else _json_number_text(money["amount"])

        def write_currency(value: Any, out: dict) -> None:
            set_currency(out, currencies.write(canonical_money(value)["currency"]))

        if field is None:
            return Compiled(forward, reverse, canonical=ANY_TYPE)
        return Compiled(forward, reverse, after_write=write_currency, sibling_paths=(field,), canonical=ANY_TYPE)


# --- dates and times ---------------------------------------------------------------------------------------

_SAMPLE = datetime(2031, 11, 23, 17, 45, 38)
_FAST_DIRECTIVES = {"d": r"(?P<d>\d\d?)", "m": r"(?P<m>\d\d?)", "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d\d)",
                    "H": r"(?P<H>\d\d?)", "M": r"(?P<M>\d\d?)", "S": r"(?P<S>\d\d?)", "f": r"(?P<f>\d{1,6})"}
_DIRECTIVE = re.compile(r"%(.)")


def _fast_parser(fmt: str) -> Callable[[str], datetime | None] | None:
    """A regex-based reader for numeric strftime formats (several times faster than strptime), or None.

    Returns None from the reader when the text does not match: the caller then asks strptime, whose
    answer (a datetime or a ValueError) decides, so both readers accept the same texts.
    """
    pattern, seen, position = [], set(), 0
    for found in _DIRECTIVE.finditer(fmt):
        pattern.append(re.escape(fmt[position:found.start()]))
        directive = found.group(1)
        if directive == "%":
            pattern.append("%")
        elif directive in _FAST_DIRECTIVES and directive not in seen:
            pattern.append(_FAST_DIRECTIVES[directive])
            seen.add(directive)
        else:
            return None
        position = found.end()
    pattern.append(re.escape(fmt[position:]))
    regex = re.compile("".join(pattern))

    def read(text: str) -> datetime | None:
        match = regex.fullmatch(text)
        if match is None:
            return None
        parts = match.groupdict()
        if "Y" in parts:
            year = int(parts["Y"])
        elif "y" in parts:
            short = int(parts["y"])
            year = 2000 + short if short < 69 else 1900 + short  # strptime's pivot
        else:
            year = 1900
        try:
            return datetime(year, int(parts.get("m", 1)), int(parts.get("d", 1)), int(parts.get("H", 0)),
                            int(parts.get("M", 0)), int(parts.get("S", 0)), int((parts.get("f") or "0").ljust(6, "0")))
        except ValueError:
            return None
    return read


_FAST_FORMATS = {"d": "{0.day:02d}", "m": "{0.month:02d}", "Y": "{0.year:04d}", "y": "{1:02d}",
                 "H": "{0.hour:02d}", "M": "{0.minute:02d}", "S": "{0.second:02d}", "f": "{0.microsecond:06d}"}


def _fast_formatter(fmt: str) -> Callable[[datetime], str] | None:
    """str.format-based writer for the same numeric formats the fast reader handles (strftime is slower)."""
    pieces, position = [], 0
    for found in _DIRECTIVE.finditer(fmt):
        pieces.append(fmt[position:found.start()].replace("{", "{{").replace("}", "}}"))
        directive = found.group(1)
        if directive == "%":
            pieces.append("%")
        elif directive in _FAST_FORMATS:
            pieces.append(_FAST_FORMATS[directive])
        else:
            return None
        position = found.end()
    pieces.append(fmt[position:].replace("{", "{{").replace("}", "}}"))
    template = "".join(pieces)
    return lambda moment: template.format(moment, moment.year % 100)


def _strptime_reader(fmt: str, what: str) -> Callable[[Any], datetime]:
    """Text in ``fmt`` -> naive datetime, with a clear TransformError naming the format and an example."""
    fast = _fast_parser(fmt)

    def read(value: Any) -> datetime:
        text = _text(value, what).strip()
        if len(text) <= 100:
            moment = fast(text) if fast is not None else None
            if moment is not None:
                return moment
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                pass
        example = _SAMPLE.strftime(fmt)
        raise TransformError(f"{{value}} is not {what} in the format {fmt} (e.g. {example})", value)
    return read


def _format_problems(name: str, fmt: Any, sample: datetime, reads: Callable[[datetime], Any]) -> list[str]:
    """A strftime format must be text and must read back what it writes for a sample moment."""
    if not isinstance(fmt, str) or not fmt or len(fmt) > 100:
        return [f"{name} format must be 'iso', 'epoch_ms' or a strftime pattern like %d/%m/%Y"]
    try:
        written = sample.strftime(fmt)
        read = datetime.strptime(written, fmt)
    except ValueError as error:
        return [f"{name} format {fmt!r} does not work: {error}"]
    if reads(read) != reads(sample):
        return [f"{name} format {fmt!r} loses information (it writes {written!r}); "
                "it needs the day, month and year" + (" and the time" if name == "datetime_format" else "")]
    return []


def _epoch_ms(value: Any) -> int:
    """Milliseconds since 1970 from a whole number or digit text (HubSpot sends text)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TransformError(f"expected milliseconds since 1970 but got {kind(value)}: {{value}}", value)
    text = value.strip() if isinstance(value, str) else None
    if text is not None and not (text.lstrip("-").isdigit() and text.isascii() and len(text) <= 16):
        raise TransformError("{value} is not a number of milliseconds since 1970", value)
    millis = int(text) if text is not None else value
    if not -62_135_596_800_000 <= millis <= MAX_EPOCH_MS:
        raise TransformError("{value} is outside the years 1-9999", value)
    return millis


def _is_epoch(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _day(value: Any) -> date:
    """The date of a canonical date value."""
    return date.fromisoformat(canonical_date(value))


class DateFormat(Transform):
    """Vendor date text or epoch milliseconds <-> "YYYY-MM-DD" (format: iso, epoch_ms or a strftime pattern)."""

    name, label, reversible = "date_format", "Date format", True
    applies_to = frozenset({FieldType.DATE})
    params_help = {"format": "iso (default), epoch_ms (midnight UTC, as HubSpot) or a strftime pattern like %d/%m/%Y"}

    def problems(self, params: dict) -> list[str]:
        fmt = params.get("format", "iso")
        if fmt in ("iso", "epoch_ms"):
            return []
        return _format_problems(self.name, fmt, _SAMPLE, lambda moment: moment.date())

    def build(self, params: dict, path: Any) -> Compiled:
        fmt = params.get("format", "iso")

        def read_iso(value: Any) -> str:
            if type(value) is str and len(value.strip()) > 10:
                moment = parse_iso_datetime(value)
                if moment.time() != datetime.min.time():
                    raise TransformError("{value} has a time of day; a date field takes only the date", value)
                return moment.date().isoformat()
            return canonical_date(value)

        if fmt == "iso":
            return Compiled(lambda value, _record: read_iso(value), lambda value, _out: canonical_date(value),
                            canonical=ANY_TYPE)

        if fmt == "epoch_ms":
            def forward(value: Any, _record: Mapping) -> str:
                if not _is_epoch(value):
                    return read_iso(value)
                return (EPOCH + timedelta(milliseconds=_epoch_ms(value))).date().isoformat()

            def reverse(value: Any, _out: dict) -> str:
                return str((_day(value) - EPOCH.date()).days * 86_400_000)
            return Compiled(forward, reverse, canonical=ANY_TYPE)

        read = _strptime_reader(fmt, "a date")
        write = _fast_formatter(fmt) or (lambda day: day.strftime(fmt))

        def reverse_format(value: Any, _out: dict) -> str:
            day = _day(value)
            if day.year < 1000:
                raise TransformError(f"{{value}} is before the year 1000 and cannot be written as {fmt}", value)
            return write(day)
        return Compiled(lambda value, _record: read(value).date().isoformat(), reverse_format, canonical=ANY_TYPE)


def _zone_problems(name: str, zone: Any) -> list[str]:
    if not isinstance(zone, str):
        return [f"{name} timezone must be an IANA name like Europe/Berlin"]
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"{name} timezone {zone!r} is not a known time zone (use an IANA name like Europe/Berlin)"]
    return []


def _utc_text(naive: datetime, zone: ZoneInfo | None, shown: Any) -> str:
    """Canonical UTC text of a wall-clock time in ``zone`` (None: it is UTC); a time skipped by a clock change is
    refused, and an ambiguous one (the hour repeated when clocks go back) is read as the first of the two."""
    if zone is None:
        return naive.isoformat() + "Z"
    offset = zone.utcoffset(naive)  # fold=0: the offset before any transition at this wall time
    if offset < zone.utcoffset(naive.replace(fold=1)):  # later offset bigger: the clocks jumped over this time
        raise TransformError(f"{{value}} does not exist in {zone.key} (the clocks went forward)", shown)
    return (naive - offset).isoformat() + "Z"


class DatetimeFormat(Transform):
    """Vendor date-time <-> canonical UTC text; naive vendor times are read in ``timezone`` (default UTC).

    Reading accepts epoch milliseconds and ISO 8601 for both "iso" and "epoch_ms" (HubSpot sends either);
    the format decides what is written: ISO (UTC with Z, or local time with its offset when a timezone is set),
    epoch milliseconds as text (sub-millisecond digits dropped), or a strftime pattern in local time.
    """

    name, label, reversible = "datetime_format", "Date-time format", True
    applies_to = frozenset({FieldType.DATETIME})
    params_help = {"format": "iso (default), epoch_ms, or a strftime pattern like %d/%m/%Y %H:%M:%S",
                   "timezone": "IANA time zone of the vendor's wall-clock times (default UTC)"}

    def problems(self, params: dict) -> list[str]:
        reasons = _zone_problems(self.name, params.get("timezone", "UTC"))
        fmt = params.get("format", "iso")
        if fmt not in ("iso", "epoch_ms"):
            reasons += _format_problems(self.name, fmt, _SAMPLE, lambda moment: moment.replace(tzinfo=None))
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        fmt = params.get("format", "iso")
        zone_name = params.get("timezone", "UTC")
        zone = None if zone_name in ("UTC", "Etc/UTC") else ZoneInfo(zone_name)

        def forward(value: Any, _record: Mapping) -> str:
            if _is_epoch(value):
                return format_datetime(EPOCH + timedelta(milliseconds=_epoch_ms(value)))
            moment = parse_iso_datetime(value)
            if moment.tzinfo is None:
                return _utc_text(moment, zone, value)
            return format_datetime(moment)

        def moment_of(value: Any) -> datetime:
            moment = parse_iso_datetime(value)
            if moment.tzinfo is None:
                raise TransformError("{value} is not a UTC date and time", value)
            return moment

        if fmt == "iso":
            def reverse(value: Any, _out: dict) -> str:
                moment = moment_of(value)
                return format_datetime(moment) if zone is None else moment.astimezone(zone).isoformat()
            return Compiled(forward, reverse, canonical=ANY_TYPE)

        if fmt == "epoch_ms":
            def reverse_ms(value: Any, _out: dict) -> str:
                return str((moment_of(value) - EPOCH) // timedelta(milliseconds=1))
            return Compiled(forward, reverse_ms, canonical=ANY_TYPE)

        read = _strptime_reader(fmt, "a date and time")
        write = _fast_formatter(fmt) or (lambda moment: moment.strftime(fmt))

        def forward_format(value: Any, _record: Mapping) -> str:
            moment = read(value)
            return _utc_text(moment, zone, value) if moment.tzinfo is None else format_datetime(moment)

        def reverse_format(value: Any, _out: dict) -> str:
            moment = moment_of(value)
            local = moment.astimezone(zone) if zone is not None else moment
            if local.year < 1000:
                raise TransformError(f"{{value}} is before the year 1000 and cannot be written as {fmt}", value)
            return write(local)
        return Compiled(forward_format, reverse_format, canonical=ANY_TYPE)


# --- contact data -------------------------------------------------------------------------------------------

class PhoneE164(Transform):
    """Phone numbers as typed -> E.164 ("+442079460958"), read in default_region when no country code is given."""

    name, label, reversible = "phone_e164", "Phone number (E.164)", False
    applies_to = frozenset({FieldType.TEXT})
    params_help = {"default_region": "two-letter region for numbers without a country code (e.g. GB)",
                   "vendor_format": "e164 (default), international or national: how to write the number"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        region = params.get("default_region")
        if region is not None and (not isinstance(region, str) or not world.is_region(region)):
            reasons.append(f"phone_e164 default_region {show(region)} is not a two-letter region phonenumbers knows")
        if params.get("vendor_format", "e164") not in ("e164", "international", "national"):
            reasons.append("phone_e164 vendor_format must be e164, international or national")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        region = params.get("default_region")
        style = params.get("vendor_format", "e164")

        def forward(value: Any, _record: Mapping) -> str:
            text = _text(value, "a phone number")
            if len(text) > 60:
                raise TransformError("{value} is too long to be a phone number", value)
            e164 = world.parse_phone(text, region)
            if e164 is None:
                where = f" (read in {region})" if region else " (no default_region to read it without +)"
                raise TransformError(f"{{value}} is not a valid phone number{where}", value)
            return e164

        def reverse(value: Any, _out: dict) -> str:
            text = _text(value, "a phone number")
            if style == "e164":
                return text
            e164 = world.parse_phone(text, None)
            if e164 is None:
                raise TransformError("{value} is not a valid phone number", value)
            return world.format_phone(e164, style)

        return Compiled(forward, reverse, canonical=ANY_TYPE, pure=True)


class Country(Transform):
    """Country name, alias ("UK", "Deutschland") or ISO code <-> ISO 3166-1 alpha-2 ("GB")."""

    name, label, reversible = "country", "Country", True
    applies_to = frozenset({FieldType.TEXT, FieldType.CHOICE})
    params_help = {"vendor": "name (default), alpha2 or alpha3: what to write",
                   "names": "object: ISO code -> the vendor's own name for it (read and written)"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        if params.get("vendor", "name") not in ("name", "alpha2", "alpha3"):
            reasons.append("country vendor must be name, alpha2 or alpha3")
        names = params.get("names", {})
        if not isinstance(names, dict) or not all(isinstance(value, str) for value in names.values()):
            reasons.append("country names must be an object of ISO code -> name")
        else:
            known = world.country_tables()[1]
            reasons += [f"country names: {show(code)} is not an ISO 3166-1 alpha-2 code"
                        for code in names if code not in known]
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        _lookup, display, alpha3 = world.country_tables()
        own = dict(params.get("names", {}))
        extra = {world.normalise_name(name): code for code, name in own.items()}
        vendor = params.get("vendor", "name")

        def forward(value: Any, _record: Mapping) -> str:
            text = _text(value, "a country")
            code = world.country_code(text[:100], extra) if len(text) <= 100 else None
            if code is None:
                raise TransformError("{value} is not a country name or code we know", value)
            return code

        def reverse(value: Any, _out: dict) -> str:
            code = _text(value, "a country code")
            if code not in display:
                raise TransformError("{value} is not an ISO 3166-1 alpha-2 country code", value)
            if vendor == "alpha2":
                return code
            if vendor == "alpha3":
                return alpha3[code]
            return own.get(code) or display[code]

        return Compiled(forward, reverse, canonical=ANY_TYPE, pure=True)


TRANSFORMS: dict[str, Transform] = {transform.name: transform for transform in (
    Trim(), Case(), Concat(), SplitPart(), Picklist(), Boolean(), Number(), CentsToUnits(), Money(),
    CurrencyCode(), DateFormat(), DatetimeFormat(), PhoneE164(), Country(),
)}

# Line items build on the classes above, so they are registered once those exist.
from mapping.line_items import LineItems  # noqa: E402

TRANSFORMS[LineItems.name] = LineItems()


def get_transform(name: str) -> Transform:
    """The transform called ``name``; TransformError naming the known ones otherwise."""
    transform = TRANSFORMS.get(name) if isinstance(name, str) else None
    if transform is None:
        raise TransformError(f"unknown transform {show(name)} (known: {', '.join(sorted(TRANSFORMS))})")
    return transform


def transform_choices(field_type: FieldType | str | None = None) -> list[tuple[str, str]]:
    """(name, label) pairs for a form's choices, optionally only those that apply to ``field_type``."""
    wanted = FieldType(field_type) if field_type else None
    return [(transform.name, transform.label) for transform in TRANSFORMS.values()
            if wanted is None or wanted in transform.applies_to]
