"""Template filters for showing canonical values."""
from __future__ import annotations

import json

from django import template
from django.utils.dateparse import parse_datetime

from integration_hub.kernel.money import Money

register = template.Library()


@register.filter
def show_value(value) -> str:
    """A canonical value as a person reads it: money as '12.50 EUR', empty as '—'."""
    if value is None or value == "":
        return "—"
    money = Money.of(value)
    if money is not None:
        return str(money)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.filter
def iso_datetime(value: str | None) -> str:
    parsed = parse_datetime(value) if value else None
    return parsed.strftime("%Y-%m-%d %H:%M") if parsed else "—"
