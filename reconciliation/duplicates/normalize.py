"""Normalisation for matching (pure: no ORM, no I/O): case, accents, punctuation, legal forms, abbreviations,
websites to registrable domains, phones to E.164, addresses to tokens.

Each function takes whatever a system holds (None, numbers, odd spacing) and returns a comparable string,
or "" when there is nothing to compare. They are deterministic and idempotent: normalising a normalised
value gives it back unchanged.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
import pycountry

# Legal-form suffixes, as tokens after dots are dropped ("B.V." -> "bv", "S.A." -> "sa"). Removed from the
# end of a company name only (never from the middle: "Co-op Bank" keeps its "co").
LEGAL_FORMS = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "company", "cos", "ltd", "limited", "llc", "llp", "lp",
    "plc", "pllc", "pc", "gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "ug", "ev", "bv", "nv", "vof", "sa", "sas",
    "sarl", "sasu", "eurl", "snc", "srl", "spa", "sl", "slu", "sau", "ab", "as", "asa", "aps", "oy", "oyj",
    "pty", "pvt", "pte", "kk", "bhd", "sdn", "sro", "spzoo", "zoo", "kft", "doo", "ltda", "cia", "sc",
    "holding", "holdings", "group",
})
# Words that only separate other words.
STOPWORDS = frozenset({"the", "and", "of", "de", "der", "die", "das", "la", "le", "les", "el", "y", "et", "und"})
# Abbreviations spelled out (both sides end up with the same token).
ABBREVIATIONS = {
    "intl": "international", "int": "international", "internat": "international", "mfg": "manufacturing",
    "mfrs": "manufacturers", "mfr": "manufacturer", "svc": "services", "svcs": "services", "serv": "services",
    "service": "services", "tech": "technologies", "techs": "technologies", "technology": "technologies",
    "technol": "technologies", "sys": "systems", "syst": "systems", "system": "systems", "solns": "solutions",
    "sol": "solutions", "solution": "solutions", "grp": "group", "hldgs": "holdings", "hldg": "holdings",
    "assoc": "associates", "assocs": "associates", "associated": "associates", "bros": "brothers",
    "natl": "national", "nat": "national", "amer": "american", "mgmt": "management", "mgt": "management",
    "dev": "development", "devel": "development", "eng": "engineering", "engr": "engineering",
    "engg": "engineering", "ent": "enterprises", "enterprise": "enterprises", "ind": "industries",
    "inds": "industries", "indus": "industries", "industry": "industries", "lab": "laboratories",
    "labs": "laboratories", "laboratory": "laboratories", "dist": "distribution", "distr": "distribution",
    "distrib": "distribution", "mkt": "marketing", "mktg": "marketing", "pharma": "pharmaceuticals",
    "pharm": "pharmaceuticals", "pharmaceutical": "pharmaceuticals", "univ": "university", "ctr": "center",
    "centre": "center", "cntr": "center", "assn": "association", "comm": "communications",
    "comms": "communications", "communication": "communications", "elec": "electric", "electrical": "electric",
    "fin": "financial", "finl": "financial", "ins": "insurance", "invest": "investments",
    "investment": "investments", "prods": "products", "prod": "products", "product": "products",
    "logistic": "logistics", "log": "logistics", "transp": "transport", "trans": "transport",
    "constr": "construction", "cons": "consulting", "consult": "consulting", "consultants": "consulting",
    "partner": "partners", "ptnrs": "partners", "ptrs": "partners", "resources": "resources", "res": "resources",
    "chem": "chemicals", "chemical": "chemicals", "foods": "food", "auto": "automotive", "aero": "aerospace",
}
# Company-name tokens that carry little identity (for blocking: too frequent to make a good key alone).
GENERIC_NAME_WORDS = frozenset({
    "international", "global", "services", "solutions", "systems", "technologies", "group", "holdings",
    "industries", "enterprises", "partners", "associates", "consulting", "management", "manufacturing",
    "products", "trading", "logistics", "national", "american", "company", "center", "development",
    "engineering", "distribution", "marketing", "financial", "capital", "investments", "software", "digital",
    "network", "networks", "media", "health", "care", "energy", "foods", "food", "retail", "wholesale",
})
# Street words in their short postal form (USPS-like), so "Street" and "St." compare equal.
STREET_WORDS = {
    "street": "st", "str": "st", "strasse": "str", "strase": "str", "avenue": "ave", "av": "ave", "avda": "ave",
    "road": "rd", "boulevard": "blvd", "blvrd": "blvd", "drive": "dr", "drv": "dr", "lane": "ln", "court": "ct",
    "place": "pl", "square": "sq", "parkway": "pkwy", "pky": "pkwy", "highway": "hwy", "terrace": "ter",
    "circle": "cir", "way": "wy", "suite": "ste", "building": "bldg", "floor": "fl", "apartment": "apt",
    "north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
    "southeast": "se", "southwest": "sw", "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th",
    "fifth": "5th", "mount": "mt", "saint": "st", "fort": "ft", "number": "no", "nr": "no",
}
# Mail domains shared by many people: never evidence that two records are the same organisation.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "hotmail.co.uk", "outlook.com",
    "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
    "gmx.de", "gmx.net", "web.de", "t-online.de", "orange.fr", "free.fr", "laposte.net", "mail.com",
    "yandex.ru", "qq.com", "163.com", "zoho.com",
})

_NON_WORD = re.compile(r"[^\w]+")
_SPACES = re.compile(r"\s+")
_AND = re.compile(r"\s*[&+]\s*")
_APOSTROPHES = re.compile(r"['’`´]")
_DIGITS = re.compile(r"\D+")
_SPECIAL_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
                                  "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ı": "i", "þ": "th", "ð": "d"})


def _text(value) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).strip()


@lru_cache(maxsize=65536)
def fold(value: str) -> str:
    """Lower case without accents: "Société Générale" -> "societe generale"."""
    value = value.translate(_SPECIAL_LETTERS)
    if not value.isascii():
        value = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return value.casefold()


def text(value) -> str:
    """Case, accents, punctuation and spacing normalised: "  ACME, Inc. " -> "acme inc"."""
    raw = _text(value)
    if not raw:
        return ""
    folded = _APOSTROPHES.sub("", fold(raw))
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded.replace("_", " "))).strip()


def _drop_abbreviation_dots(value: str) -> str:
    """"B.V." -> "BV", "S.A." -> "SA", "Inc." -> "Inc": dots that shorten, not dots that separate words."""
    return re.sub(r"\b(\w)\.(?=\w\b\.?)", r"\1", value).replace(".", " ")


def name_tokens(value) -> tuple[str, ...]:
    """A company name as comparable tokens: legal forms and stopwords dropped, abbreviations spelled out.

    "ACME Int'l Mfg. Co., Ltd." -> ("acme", "international", "manufacturing").
    A name made only of legal forms keeps its first word ("Holding AG" -> ("holding",)): never empty."""
    raw = _text(value)
    if not raw:
        return ()
    raw = _AND.sub(" and ", _APOSTROPHES.sub("", fold(raw)))
    raw = _drop_abbreviation_dots(raw)
    kept = [ABBREVIATIONS.get(t, t) for t in _NON_WORD.sub(" ", raw.replace("_", " ")).split()]
    while len(kept) > 1 and (kept[-1] in LEGAL_FORMS or kept[-1] in STOPWORDS):  # "GmbH & Co. KG"
        kept.pop()
    if len(kept) > 1 and kept[0] == "the":
        kept.pop(0)
    return tuple(t for t in kept if t not in STOPWORDS) or tuple(kept)


def company_name(value) -> str:
    """The normalised company name as one string: "ACME, Inc." -> "acme"."""
    return " ".join(name_tokens(value))


def person_name(*parts) -> str:
    """A person's name, in any order of its parts: ("Ann-Marie", "O'Neil") -> "ann marie oneil"."""
    return " ".join(t for part in parts for t in text(part).split())


def initials(tokens: tuple[str, ...]) -> str:
    return "".join(t[0] for t in tokens if t)


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


@lru_cache(maxsize=1)
def _psl():
    from publicsuffixlist import PublicSuffixList  # the list ships inside the package: no download at run time

    return PublicSuffixList()


@lru_cache(maxsize=65536)
def registrable_domain(value) -> str:
    """A website, host or e-mail address as its registrable domain: "https://www.shop.acme.co.uk/x" ->
    "acme.co.uk", "jo@mail.acme.com" -> "acme.com". "" when there is none (a bare suffix, an IP, junk)."""
    raw = _text(value).lower()
    if not raw:
        return ""
    if "@" in raw and "://" not in raw:
        raw = raw.rsplit("@", 1)[1]
    raw = _SCHEME.sub("", raw)
    host = re.split(r"[/?#\s]", raw, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    if not host or "." not in host or re.fullmatch(r"[\d.]+", host):
        return ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    return _psl().privatesuffix(host) or ""


def email(value) -> str:
    """An e-mail address lower-cased and trimmed ("" if it is not one): " Jo@ACME.com " -> "jo@acme.com"."""
    raw = _text(value).lower().strip("<>")
    if raw.startswith("mailto:"):
        raw = raw[7:]
    if raw.count("@") != 1 or " " in raw:
        return ""
    local, domain = raw.split("@")
    if not local or "." not in domain:
        return ""
    return f"{local}@{domain}"


def company_domain(value) -> str:
    """The registrable domain, unless it is a free mail domain (gmail.com says nothing about a company)."""
    domain = registrable_domain(value)
    return "" if domain in FREE_MAIL_DOMAINS else domain


# Calling codes for the fast path; anything else goes through phonenumbers.
_TRUNK_10_DIGIT = {"US": "1", "CA": "1"}


@lru_cache(maxsize=65536)
def phone(value, region: str = "US") -> str:
    """A phone number in E.164 ("+14155550123"), read in ``region`` when it has no country code.
    Extensions are dropped; "" when it is not a possible number."""
    raw = _text(value)
    if not raw:
        return ""
    raw = re.split(r"(?i)\s*(?:ext\.?|x|#)\s*\d+\s*$", raw)[0]
    digits = _DIGITS.sub("", raw)
    if len(digits) < 6:
        return ""
    region = (region or "US").upper()
    plus = raw.lstrip().startswith(("+", "00"))
    # Fast path for the North American plan, most numbers in most CRMs; the rest is parsed properly.
    if not plus and region in _TRUNK_10_DIGIT:
        if len(digits) == 10 and digits[0] not in "01":
            return "+1" + digits
        if len(digits) == 11 and digits[0] == "1" and digits[1] not in "01":
            return "+" + digits
    if plus:  # already international: "+44 (0)20 7946 0123", "0049 30 1234567"
        digits = _DIGITS.sub("", raw.replace("(0)", ""))
        if raw.lstrip().startswith("00"):
            digits = digits[2:]
        if 8 <= len(digits) <= 15 and digits[0] != "0":
            return "+" + digits
        return ""

    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def street_tokens(value) -> tuple[str, ...]:
    """A street address as tokens in their short postal form: "12 North Main Street, Suite 4" ->
    ("12", "n", "main", "st", "ste", "4")."""
    raw = _drop_abbreviation_dots(_APOSTROPHES.sub("", fold(_text(value))))
    if not raw:
        return ()
    out = []
    for token in _NON_WORD.sub(" ", raw).split():
        if token.endswith("strasse") and len(token) > 7:  # "Hauptstrasse" -> "haupt str"
            out += [token[:-7], "str"]
            continue
        out.append(STREET_WORDS.get(token, token))
    return tuple(out)


def street(value) -> str:
    return " ".join(street_tokens(value))


def postcode(value) -> str:
    """A postal code without spaces or dashes, upper case; US ZIP+4 as its five digits."""
    raw = re.sub(r"[\s-]+", "", _text(value)).upper()
    if len(raw) == 9 and raw.isdigit():
        return raw[:5]
    return raw


@lru_cache(maxsize=4096)
def country(value) -> str:
    """A country as its ISO alpha-2 code ("Deutschland"/"Germany"/"DEU"/"de" -> "DE"); "" when unknown."""
    raw = _text(value)
    if not raw:
        return ""
    if len(raw) == 2 and raw.isalpha():
        return raw.upper()

    known = {"usa": "US", "united states of america": "US", "uk": "GB", "great britain": "GB",
             "england": "GB", "deutschland": "DE", "holland": "NL", "the netherlands": "NL"}
    folded = text(raw)
    if folded in known:
        return known[folded]
    try:
        return pycountry.countries.lookup(raw).alpha_2
    except LookupError:
        try:
            return pycountry.countries.search_fuzzy(raw)[0].alpha_2
        except LookupError:
            return ""


def identifier(value) -> str:
    """A tax id, SKU or account number: letters and digits only, upper case ("de 123-456" -> "DE123456")."""
    return re.sub(r"[^0-9A-Za-z]", "", _text(value)).upper()
