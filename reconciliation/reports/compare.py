"""How a reconciliation compares values: as the engine compares them (empty is empty, money by amount and
currency), and a cheap fingerprint of a record's synced fields so a side is kept in memory as digests only."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integration_hub.kernel.money import Money

UNKNOWN = object()  # a value the hub cannot place (an unlinked reference, a value the rules cannot read)


def comparable(value: Any) -> Any:
    """Canonical values compare as the engine compares them: absent, None and "" are the same empty value;
    money by amount and currency."""
    if type(value) is str:  # the common case first: this runs for every field of every record read
        return value or None
    if value is None or value == [] or value == {}:
        return None
    money = Money.of(value)
    return money.stored() if money is not None else value  # "6200", "6200.0" and "6200.00" are one amount




def _money_part(value: dict) -> Any:
    """Money from a mapper (canonical: "6200.00"), taken as it is: amounts spelled two ways would only make
    a candidate, which the field-by-field check then compares normalised."""
    if "amount" in value:
        return value.get("amount"), value.get("currency")
    return repr(sorted(value.items()))


def fingerprinter(fields: list[str], money_fields: list[str]) -> Callable[[dict[str, Any]], int]:
    """A 64-bit fingerprint of the synced fields (Python's hash: stable within the one process that compares,
    which is all it is used for).

    The mappers give canonical values -- text, numbers and dates as text, booleans, money as a dict, an empty
    value as None, a value the rules could not read as UNKNOWN -- so every field but money is taken as it is
    (one C-level pass), and money as (amount, currency). Equal values always give equal fingerprints; a
    difference the normalised field-by-field comparison would not see (UNKNOWN on one side, None on the other)
    can only make a candidate, never hide a mismatch."""
    money = frozenset(money_fields)
    plain = tuple(f for f in fields if f not in money)
    priced = tuple(f for f in fields if f in money)

    def slow(values: dict[str, Any]) -> int:
        return hash(tuple(repr(_part(values.get(f))) for f in fields))

    def digest(values: dict[str, Any]) -> int:
        get = values.get
        parts = tuple(map(get, plain))
        if priced:
            parts += tuple([_money_part(v) if type(v) is dict else v for v in map(get, priced)])
        try:
            return hash(parts)
        except TypeError:  # a value of a type no canonical form has: fingerprinted the careful way
            return slow(values)
    return digest


def _part(value: Any) -> Any:
    """One non-text value as `_digest` fingerprints it."""
    if value is UNKNOWN:
        return None
    kind = type(value)
    if kind is dict:
        return _money_part(value)
    if kind is list:
        return repr(value) if value else None
    return value


def comparable_fields(values: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {f: (UNKNOWN if values.get(f) is UNKNOWN else comparable(values.get(f))) for f in fields}


def shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    money = Money.of(value)
    if money is not None:
        return str(money)
    return repr(value) if isinstance(value, str) else str(value)
