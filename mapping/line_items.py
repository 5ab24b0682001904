"""Line items: one canonical form for a document's lines in every system, and the arithmetic on it.

A canonical line (every value a string or a money dict, never a float)::

    {"item": "<the item's id>", "quantity": "150",
     "unit_price": {"amount": "24.00", "currency": "USD"},   # the negotiated price of one unit
     "discount": {"amount": "2.40", "currency": "USD"}}      # taken off each unit ("0.00" when none)

``item`` is the source system's id of the item as read; the sync engine turns it into the golden id
("record:<id>") through the item links and back into the target system's id on the way out. A line's amount is
quantity x (unit price - discount), rounded half-up to the cent; a document's total is the sum of its lines'
amounts. The `line_items` transform maps a vendor's list of lines to this form and back: where the vendor keeps
the price net of the discount (NetSuite's `rate`), reading adds the discount back and writing takes it off, so a
document read back from the vendor is the one that was written, to the cent.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integration_hub.kernel.money import Money, amount_text
from mapping.paths import compile_path, path_problems
from mapping.transforms.base import ANY_TYPE, Compiled, Transform
from mapping.transforms.numbers_and_money import _CurrencyMap, _json_number_text, _vendor_type_problems
from mapping.types import (
    CENT,
    DECIMAL_CONTEXT,
    FieldType,
    TransformError,
    canonical_amount,
    canonical_currency,
    canonical_money,
    canonical_number,
    canonical_reference,
    kind,
    parse_decimal,
    show,
)

LINE_KEYS = ("item", "quantity", "unit_price", "discount")
MAX_LINES = 1000  # a document with more lines than this is refused, not read


def zero(currency: str) -> dict[str, str]:
    return Money(Decimal(0), currency).stored()


def line_amount(line: Mapping[str, Any]) -> Decimal:
    """quantity x (unit price - discount), rounded half-up to the cent."""
    net = Decimal(line["unit_price"]["amount"]) - Decimal((line.get("discount") or {}).get("amount") or "0")
    return DECIMAL_CONTEXT.multiply(Decimal(line["quantity"]), net).quantize(CENT, rounding=ROUND_HALF_UP)


def lines_total(lines: list[Mapping[str, Any]] | None) -> Decimal:
    """The sum of the lines' amounts (0 for no lines)."""
    return sum((line_amount(line) for line in lines or ()), Decimal("0.00"))


def lines_currencies(lines: list[Mapping[str, Any]] | None) -> set[str]:
    """The currencies the lines' prices are in."""
    return {line["unit_price"]["currency"] for line in lines or () if isinstance(line.get("unit_price"), dict)}


def canonical_line(line: Any, position: int) -> dict[str, Any]:
    """A canonical line from a line of canonical values (the form the hub stores and compares)."""
    if not isinstance(line, dict):
        raise TransformError(f"line {position} is {kind(line)}, not a line: {{value}}", line)
    unknown = sorted(set(line) - set(LINE_KEYS))
    if unknown:
        raise TransformError(f"line {position} has unknown keys {', '.join(map(show, unknown))}", line)
    if line.get("item") in (None, ""):
        raise TransformError(f"line {position} has no item", line)
    if line.get("quantity") in (None, ""):
        raise TransformError(f"line {position} has no quantity", line)
    price = canonical_money(line.get("unit_price"))
    discount = canonical_money(line["discount"]) if line.get("discount") is not None else zero(price["currency"])
    if discount["currency"] != price["currency"]:
        raise TransformError(f"line {position}: the discount is in {discount['currency']} but the price in "
                             f"{price['currency']}", line)
    return {"item": str(line["item"]), "quantity": canonical_number(line["quantity"]),
            "unit_price": price, "discount": discount}


def canonical_lines(value: Any) -> list[dict[str, Any]]:
    """Canonical form of a whole list of lines (TransformError naming the first bad line)."""
    if not isinstance(value, list):
        raise TransformError(f"expected a list of line items but got {kind(value)}: {{value}}", value)
    if len(value) > MAX_LINES:
        raise TransformError(f"a document has at most {MAX_LINES} lines, this one {len(value)}", None)
    return [canonical_line(line, position) for position, line in enumerate(value, start=1)]


class LineItems(Transform):
    """A vendor's list of lines <-> canonical lines (see the module docstring), prices exact to the cent."""

    name, label, reversible = "line_items", "Line items", True
    applies_to = frozenset({FieldType.LINE_ITEMS})
    params_help = {
        "item": "path in a line of the item reference (item.id for NetSuite, hs_product_id for HubSpot)",
        "quantity": "path in a line of the quantity",
        "unit_price": "path in a line of the unit price",
        "discount": "path in a line of the discount per unit (optional: without it lines carry no discount)",
        "discount_percent": "path in a line of a discount in per cent of the unit price, read when the discount "
                            "per unit is empty (written as a discount per unit)",
        "price_is_net": "true when the vendor's unit price has the discount taken off already (NetSuite rate)",
        "currency": "ISO code every line is priced in",
        "currency_field": "path in the document of the currency its lines are priced in",
        "vendor_type": "string (default) or number: how quantities and amounts are written",
    }

    def problems(self, params: dict) -> list[str]:
        reasons = _vendor_type_problems(self.name, params)
        for key in ("item", "quantity", "unit_price"):
            if not params.get(key):
                reasons.append(f"line_items needs the {key} path of a line")
        for key in ("item", "quantity", "unit_price", "discount", "discount_percent", "currency_field"):
            if params.get(key):
                reasons += [f"line_items {key}: {problem}" for problem in path_problems(params[key])]
        fixed, field = params.get("currency"), params.get("currency_field")
        if (fixed is None) == (field is None):
            reasons.append("line_items needs one currency source: currency or currency_field")
        elif fixed is not None:
            try:
                canonical_currency(fixed)
            except TransformError as error:
                reasons.append(f"line_items currency: {error}")
        if not isinstance(params.get("price_is_net", False), bool):
            reasons.append("line_items price_is_net must be true or false")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        get_item, set_item = compile_path(params["item"])
        get_quantity, set_quantity = compile_path(params["quantity"])
        get_price, set_price = compile_path(params["unit_price"])
        get_discount, set_discount = compile_path(params["discount"]) if params.get("discount") else (None, None)
        get_percent = compile_path(params["discount_percent"])[0] if params.get("discount_percent") else None
        net = bool(params.get("price_is_net"))
        as_text = params.get("vendor_type", "string") == "string"
        fixed = canonical_currency(params["currency"]) if params.get("currency") else None
        get_currency = compile_path(params["currency_field"])[0] if params.get("currency_field") else None
        currencies = _CurrencyMap(None)

        def number_out(text: str) -> Any:
            return text if as_text else _json_number_text(text)

        def forward(value: Any, record: Mapping) -> list[dict[str, Any]]:
            if not isinstance(value, list):
                raise TransformError(f"expected a list of lines but got {kind(value)}: {{value}}", value)
            if len(value) > MAX_LINES:
                raise TransformError(f"a document has at most {MAX_LINES} lines, this one {len(value)}", None)
            currency = fixed
            if currency is None:
                raw = get_currency(record)
                if raw in (None, ""):
                    raise TransformError(f"the lines have no currency in {params['currency_field']!r}", None)
                currency = currencies.read(raw)
            lines = []
            for position, vendor_line in enumerate(value, start=1):
                if not isinstance(vendor_line, Mapping):
                    raise TransformError(f"line {position} is {kind(vendor_line)}, not a line: {{value}}", vendor_line)
                item = get_item(vendor_line)
                if item in (None, ""):
                    raise TransformError(f"line {position} has no item", None)
                quantity = get_quantity(vendor_line)
                if quantity in (None, ""):
                    raise TransformError(f"line {position} has no quantity", None)
                price = get_price(vendor_line)
                if price in (None, ""):
                    raise TransformError(f"line {position} has no unit price", None)
                discount = get_discount(vendor_line) if get_discount else None
                off = parse_decimal(discount, "a discount") if discount not in (None, "") else Decimal(0)
                unit = parse_decimal(price, "a unit price")
                percent = get_percent(vendor_line) if get_percent and not off else None
                if percent not in (None, ""):
                    off = DECIMAL_CONTEXT.multiply(unit, parse_decimal(percent, "a discount in per cent")) / 100
                lines.append({
                    "item": canonical_reference(item), "quantity": canonical_number(quantity),
                    "unit_price": {"amount": amount_text(unit + off) if net else canonical_amount(price),
                                   "currency": currency},
                    "discount": {"amount": amount_text(off), "currency": currency}})
            return lines

        def reverse(value: Any, _out: dict) -> list[dict[str, Any]]:
            out = []
            for position, line in enumerate(canonical_lines(value), start=1):
                discount = Decimal(line["discount"]["amount"])
                if discount and not net and set_discount is None:
                    raise TransformError(f"line {position} has a discount of {line['discount']['amount']} and "
                                         "this system's lines carry none", None)
                price = Decimal(line["unit_price"]["amount"])
                vendor_line: dict[str, Any] = {}
                set_item(vendor_line, line["item"])
                set_quantity(vendor_line, number_out(line["quantity"]))
                set_price(vendor_line, number_out(amount_text(price - discount) if net else
                                                  line["unit_price"]["amount"]))
                if set_discount is not None:
                    set_discount(vendor_line, number_out(line["discount"]["amount"]))
                out.append(vendor_line)
            return out

        return Compiled(forward, reverse, canonical=ANY_TYPE)
