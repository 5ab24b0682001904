"""Country names and phone numbers: lookups built once from pycountry and phonenumbers' metadata."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
import pycountry
from phonenumbers import PhoneMetadata

# Names people type that ISO 3166 does not list (or lists only in an official long form).
COUNTRY_ALIASES = {
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "united kingdom of great britain": "GB",
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "america": "US", "united states of america": "US",
    "deutschland": "DE", "bundesrepublik deutschland": "DE", "allemagne": "DE",
    "osterreich": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH",
    "holland": "NL", "nederland": "NL", "netherlands": "NL", "belgie": "BE", "belgique": "BE",
    "france": "FR", "espana": "ES", "italia": "IT", "polska": "PL", "sverige": "SE", "norge": "NO",
    "danmark": "DK", "suomi": "FI", "eire": "IE", "republic of ireland": "IE", "portugal": "PT",
    "czech republic": "CZ", "cesko": "CZ", "russia": "RU", "south korea": "KR", "korea": "KR",
    "north korea": "KP", "vietnam": "VN", "iran": "IR", "syria": "SY", "laos": "LA", "moldova": "MD",
    "tanzania": "TZ", "venezuela": "VE", "bolivia": "BO", "taiwan": "TW", "ivory coast": "CI",
    "cote d'ivoire": "CI", "macedonia": "MK", "turkey": "TR", "turkiye": "TR", "uae": "AE", "emirates": "AE",
    "cape verde": "CV", "swaziland": "SZ", "burma": "MM", "vatican": "VA", "brunei": "BN",
    "hong kong": "HK", "macau": "MO", "palestine": "PS", "micronesia": "FM", "congo-kinshasa": "CD",
    "democratic republic of the congo": "CD", "drc": "CD", "congo-brazzaville": "CG", "east timor": "TL",
}

_NOT_WORD = re.compile(r"[^\w'.-]+")


def normalise_name(text: str) -> str:
    """Case-, accent- and spacing-insensitive key for a country name ("  Österreich " -> "osterreich")."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    folded = _NOT_WORD.sub(" ", folded).strip()
    return folded[4:] if folded.startswith("the ") else folded


@lru_cache(maxsize=1)
def country_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(lookup: normalised name/code -> alpha-2, alpha-2 -> display name, alpha-2 -> alpha-3)."""
    lookup: dict[str, str] = {}
    names: dict[str, str] = {}
    alpha3: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        alpha3[code] = country.alpha_3
        names[code] = getattr(country, "common_name", None) or country.name
        for text in (country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)):
            if text:
                lookup.setdefault(normalise_name(text), code)
    for alias, code in COUNTRY_ALIASES.items():
        lookup.setdefault(normalise_name(alias), code)
    for code in names:  # codes win over names: "CH" is Switzerland even though no name is "ch"
        lookup[code.lower()] = code
        lookup[alpha3[code].lower()] = code
    return lookup, names, alpha3


@lru_cache(maxsize=1)
def exact_country_names() -> dict[str, str]:
    """Names and codes exactly as ISO writes them -> alpha-2 (skips normalising the common case)."""
    exact = {}
    for country in pycountry.countries:
        for text in (country.name, getattr(country, "common_name", None), country.alpha_2, country.alpha_3):
            if text:
                exact.setdefault(text, country.alpha_2)
    return exact


def country_code(text: str, extra: dict[str, str] | None = None) -> str | None:
    """ISO 3166-1 alpha-2 code for a country name, alias, alpha-2 or alpha-3 code; None if unknown."""
    if not extra:
        found = exact_country_names().get(text)
        if found is not None:
            return found
    key = normalise_name(text)
    if extra and key in extra:
        return extra[key]
    return country_tables()[0].get(key)


# --- phones -------------------------------------------------------------------------------------------

_PHONE_SEPARATORS = str.maketrans("", "", " -.()/\u00a0\u2009\u202f\u2010\u2011\u2012\u2013")
_E164_CANDIDATE = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)


@lru_cache(maxsize=512)
def _national_pattern(calling_code: int) -> tuple[re.Pattern[str], tuple[int, ...], str] | None:
    """(national number pattern, possible lengths, national prefix) for a calling code, or None if unknown."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code)
    if not regions:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, regions[0])
    if metadata is None or metadata.general_desc is None or not metadata.general_desc.national_number_pattern:
        return None
    desc = metadata.general_desc
    return re.compile(desc.national_number_pattern), tuple(desc.possible_length or ()), metadata.national_prefix or ""


def plausible(calling_code: int, national: str) -> bool:
    """True when the national number fits the numbering plan of its calling code (phonenumbers' metadata)."""
    plan = _national_pattern(calling_code)
    if plan is None:
        return False
    pattern, lengths, _prefix = plan
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def fast_e164(text: str) -> str | None:
    """E.164 for text already in international form ("+44 20 7946 0958"), or None to take the full parser.

    Only answers when the digits after "+" split into a known calling code and a national number that fits its
    plan and does not start with the national prefix, which is exactly when phonenumbers would give the same.
    """
    compact = text.translate(_PHONE_SEPARATORS)
    if not _E164_CANDIDATE.fullmatch(compact):
        return None
    for size in (1, 2, 3):
        calling_code = int(compact[1:1 + size])
        if calling_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = compact[1 + size:]
            plan = _national_pattern(calling_code)
            if plan and plan[2] and national.startswith(plan[2]):
                return None
            return compact if plausible(calling_code, national) else None
    return None


@lru_cache(maxsize=256)
def _region_plan(region: str) -> tuple[int, str, tuple[str, ...], str] | None:
    """(calling code, national prefix, other prefixes stripped when parsing, international prefix) for a region,
    or None when its prefix rules are patterns only the full parser handles."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    prefix = metadata.national_prefix or ""
    for_parsing = metadata.national_prefix_for_parsing or prefix
    international = metadata.international_prefix or ""
    plain_prefixes = not for_parsing or for_parsing.replace("|", "").isdigit()
    if not plain_prefixes or not international.isdigit() or metadata.national_prefix_transform_rule:
        return None
    others = tuple(option for option in for_parsing.split("|") if option and option != prefix)
    return metadata.country_code, prefix, others, international


def fast_national(text: str, region: str | None) -> str | None:
    """E.164 for a number written nationally ("020 7946 0958" in GB), or None to take the full parser.

    Used only for regions whose national prefix is a plain digit string, and only when the number fits the
    plan after removing it: then phonenumbers would strip it the same way.
    """
    if not region:
        return None
    plan = _region_plan(region)
    if plan is None:
        return None
    calling_code, prefix, others, international = plan
    digits = text.translate(_PHONE_SEPARATORS)
    if not digits.isdigit() or not digits.isascii() or len(digits) > 17:
        return None
    if digits.startswith(international):
        return fast_e164("+" + digits[len(international):])
    if any(digits.startswith(other) for other in others):
        return None
    if prefix and digits.startswith(prefix):
        digits = digits[len(prefix):]
    return f"+{calling_code}{digits}" if plausible(calling_code, digits) else None


def parse_phone(text: str, region: str | None) -> str | None:
    """E.164 for a phone number in any usual form, read in ``region`` when it has no country code; None if not."""
    fast = fast_e164(text) if "+" in text else fast_national(text, region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not plausible(number.country_code, phonenumbers.national_significant_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str, style: str) -> str:
    """An E.164 number written as "international" or "national" for the vendor."""
    number = phonenumbers.parse(e164, None)
    fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL if style == "international" else \
        phonenumbers.PhoneNumberFormat.NATIONAL
    return phonenumbers.format_number(number, fmt)


def is_region(region: str) -> bool:
    """True for a region phonenumbers knows ("GB", "US")."""
    return region in phonenumbers.SUPPORTED_REGIONS
