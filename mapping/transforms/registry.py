"""The transforms by name: what a rule's steps name, and the choices a form offers."""
from __future__ import annotations

from mapping.line_items import LineItems
from mapping.transforms.base import Transform
from mapping.transforms.choices import Boolean, Picklist
from mapping.transforms.contact import Country, PhoneE164
from mapping.transforms.dates import DateFormat, DatetimeFormat
from mapping.transforms.numbers_and_money import CentsToUnits, CurrencyCode, Money, Number
from mapping.transforms.text import Case, Concat, SplitPart, Trim
from mapping.types import FieldType, TransformError, show

TRANSFORMS: dict[str, Transform] = {transform.name: transform for transform in (
    Trim(), Case(), Concat(), SplitPart(), Picklist(), Boolean(), Number(), CentsToUnits(), Money(),
    CurrencyCode(), DateFormat(), DatetimeFormat(), PhoneE164(), Country(), LineItems(),
)}


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
