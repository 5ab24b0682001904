"""Contact data: phone numbers in E.164 and countries as ISO codes."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mapping import world
from mapping.transforms.base import ANY_TYPE, Compiled, Transform, _text
from mapping.types import FieldType, KeptAsTyped, TransformError, canonical_text, show


class PhoneE164(Transform):
    """Phone numbers as typed -> E.164 ("+442079460958"), read in default_region when no country code is given."""

    name, label, reversible = "phone_e164", "Phone number (E.164)", False
    applies_to = frozenset({FieldType.TEXT})
    params_help = {"default_region": "two-letter region for numbers without a country code (e.g. GB)",
                   "vendor_format": "e164 (default), international or national: how to write the number",
                   "unparseable": "hold (default): a number that cannot be E.164 holds its field; keep: it flows "
                                  "as typed (the other system takes text) and is flagged"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        if params.get("unparseable", "hold") not in ("hold", "keep"):
            reasons.append("phone_e164 unparseable must be hold or keep")
        region = params.get("default_region")
        if region is not None and (not isinstance(region, str) or not world.is_region(region)):
            reasons.append(f"phone_e164 default_region {show(region)} is not a two-letter region phonenumbers knows")
        if params.get("vendor_format", "e164") not in ("e164", "international", "national"):
            reasons.append("phone_e164 vendor_format must be e164, international or national")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        region = params.get("default_region")
        style = params.get("vendor_format", "e164")
        keep = params.get("unparseable") == "keep"

        def forward(value: Any, _record: Mapping) -> str:
            text = _text(value, "a phone number")
            if len(text) > 60:
                raise TransformError("{value} is too long to be a phone number", value)
            e164 = world.parse_phone(text, region)
            if e164 is None:
                where = f" (read in {region})" if region else " (no default_region to read it without +)"
                if keep:
                    raise KeptAsTyped(f"{{value}} is not a valid phone number{where}: kept as typed", value,
                                      canonical_text(" ".join(text.split())))
                raise TransformError(f"{{value}} is not a valid phone number{where}", value)
            return e164

        def reverse(value: Any, _out: dict) -> str:
            text = _text(value, "a phone number")
            if style == "e164" or (keep and not text.startswith("+")):  # a number kept as typed is written so
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
