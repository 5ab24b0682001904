"""Ids posted by pages' forms (a version, a system, ticked rows): read as what the database can hold.

int() takes what no id is ("²" is a digit to str.isdigit and not to int; 40 nines overflow the column), and a
lookup by a string that is not a number fails deep in the ORM: both were server errors. Here an id is ASCII digits
within a database id's range, and a required one that is not says so (400)."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import BadRequest

MAX_ID = 2**63 - 1  # BigAutoField


def as_id(value) -> int | None:
    """The id a posted value names, or None when it names none."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def posted_ids(values: Iterable) -> list[int]:
    """The ids among posted values (ticked rows); the rest are left out."""
    return [number for number in map(as_id, values) if number is not None]


def posted_id(data, name: str, *, what: str) -> int:
    """A required id from a form: BadRequest (400 with the reason) when it is missing or not an id."""
    number = as_id(data.get(name, ""))
    if number is None:
        raise BadRequest(f"Choose {what}: {data.get(name, '')!r} is not one.")
    return number
