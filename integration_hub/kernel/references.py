"""Golden ids: how one golden record's value points at another ("record:42").

Reference fields and line items hold the hub's golden id of the record they point at; each system keeps its
own ids, which the sync translates through links on the way in and out.
"""
from __future__ import annotations

from typing import Any

GOLDEN_PREFIX = "record:"


def golden_id(record_id: int | str) -> str:
    """The golden id of a record (its id as a number or as digits): "record:<id>"."""
    return f"{GOLDEN_PREFIX}{record_id}"


def has_golden_prefix(value: Any) -> bool:
    """Whether a value is written as a golden id ("record:..."), whether or not a usable id follows."""
    return isinstance(value, str) and value.startswith(GOLDEN_PREFIX)


def record_id_of(value: Any) -> int | None:
    """The record id a golden id points at; None for anything else (a vendor's id, "record:abc")."""
    if isinstance(value, str) and value.startswith(GOLDEN_PREFIX) and value[len(GOLDEN_PREFIX):].isdigit():
        return int(value[len(GOLDEN_PREFIX):])
    return None
