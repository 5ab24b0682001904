"""Numbers and money: vendor numbers, whole cents, currency codes and amounts in a currency, all exact."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mapping.paths import compile_path, path_problems
from mapping.transforms.base import ANY_TYPE, Compiled, Transform, _key, _reverse_map
from mapping.types import (
    CENT,
    DECIMAL_CONTEXT,
    MAX_INTEGER_DIGITS,
    FieldType,
    TransformError,
    canonical_amount,
    canonical_currency,
    canonical_money,
    canonical_number,
    format_number,
    parse_decimal,
    show,
)


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
    path, optionally through ``currency_map``); with currency_field, writing also writes that sibling. An empty
    currency field takes ``default_currency`` where the vendor does the same (a HubSpot amount is in the account's
    company currency, a NetSuite customer in its subsidiary's); without one, the amount holds its field.
    """

    name, label, reversible = "money", "Money amount", True
    applies_to = frozenset({FieldType.MONEY})
    params_help = {"currency": "ISO code every amount of this field is in",
                   "currency_field": "path of the vendor field holding the currency (e.g. currency.refName)",
                   "currency_map": "object: vendor currency value -> ISO code, for currency_field",
                   "default_currency": "ISO code an amount is in when its currency_field is empty (the vendor's "
                                       "base currency)",
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
        if params.get("default_currency") is not None:
            if field is None:
                reasons.append("money default_currency only applies with currency_field")
            try:
                canonical_currency(params["default_currency"])
            except TransformError as error:
                reasons.append(f"money default_currency: {error}")
        return reasons + _currency_map_problems(self.name, params.get("currency_map"))

    def build(self, params: dict, path: Any) -> Compiled:
        vendor_type = params.get("vendor_type", "string")
        fixed = canonical_currency(params["currency"]) if params.get("currency") else None
        field = params.get("currency_field")
        get_currency, set_currency = compile_path(field) if field else (None, None)
        currencies = _CurrencyMap(params.get("currency_map"))
        default = canonical_currency(params["default_currency"]) if params.get("default_currency") else None

        def forward(value: Any, record: Mapping) -> dict[str, str]:
            if isinstance(value, dict):
                return canonical_money(value)
            amount = canonical_amount(value)
            if fixed is not None:
                return {"amount": amount, "currency": fixed}
            raw = get_currency(record)
            if (raw is None or raw == "") and default is not None:
                return {"amount": amount, "currency": default}
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
