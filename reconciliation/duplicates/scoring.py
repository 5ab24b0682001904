"""Scoring a pair of records from per-feature similarities, with the evidence for each feature (pure).

Each entity has a profile: the features it compares (name, domain, phone, address, e-mail, tax id, SKU, ...),
how each is read from the canonical values and normalised, and its weights. A feature whose value is missing
on either side says nothing (contribution 0). Otherwise its similarity ``s`` (0..1) becomes a contribution
between ``-disagree`` (at or below the feature's ``floor``) and ``+agree`` (identical), linearly in between.
The score is the logistic of ``bias + sum(contributions)``: 0..1, read as "how sure are we". Weights and
thresholds can be tuned per entity (settings.DUPLICATES, see ``profile_for``); the evidence of a pair lists
every feature with both sides' values, the compared (normalised) values, the similarity and the contribution.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from reconciliation.duplicates import normalize as n

Prepared = dict[str, Any]  # feature name -> normalised value ("" / () when missing), plus "_raw" originals


@dataclass(frozen=True)
class Feature:
    """One thing two records are compared on."""

    name: str
    label: str
    kind: str  # company_name | person_name | text | street | exact | phone
    agree: float  # points when identical
    disagree: float  # points taken away when different (at or below ``floor``)
    floor: float = 0.0  # similarity at or below which the feature counts fully against


@dataclass(frozen=True)
class Profile:
    """How one entity type is compared: features and weights, the score's bias, the two thresholds."""

    entity_type: str
    features: tuple[Feature, ...]
    bias: float
    # At or above ``upper`` a match is near-certain (the sync links it); from ``lower`` it is a candidate.
    lower: float = 0.5
    upper: float = 0.97
    prepare: Callable[[Mapping[str, Any]], Prepared] = field(default=lambda values: {}, compare=False)

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)


# --- reading canonical values ------------------------------------------------------------------

def _first(values: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = values.get(name)
        if value not in (None, "") and not isinstance(value, dict | list):
            return value
    return None


def _region(values: Mapping[str, Any]) -> str:
    code = n.country(_first(values, "shipping_country", "billing_country", "country"))
    return code or "US"


def prepare_account(values: Mapping[str, Any]) -> Prepared:
    name = _first(values, "name", "legal_name", "company_name")
    website = _first(values, "domain", "website", "url")
    phone = _first(values, "phone")
    street = _first(values, "shipping_street", "billing_street", "street")
    city = _first(values, "shipping_city", "billing_city", "city")
    postcode = _first(values, "shipping_postcode", "billing_postcode", "postcode", "zip")
    tax = _first(values, "tax_id", "vat_number", "vat_id", "ein")
    mail = _first(values, "email")
    tokens = n.name_tokens(name)
    return {
        "name": " ".join(tokens), "name_tokens": tokens,
        "country": n.country(_first(values, "shipping_country", "billing_country", "country")),
        "domain": n.company_domain(website) or n.company_domain(mail),
        "phone": n.phone(phone, _region(values)) if phone else "",
        "street": n.street(street), "city": n.text(city), "postcode": n.postcode(postcode),
        "tax_id": n.identifier(tax), "email": n.email(mail),
        "_raw": {"name": name, "domain": website, "phone": phone, "street": street, "city": city,
                 "postcode": postcode, "tax_id": tax, "email": mail},
    }


def prepare_contact(values: Mapping[str, Any]) -> Prepared:
    first = _first(values, "first_name", "firstname")
    last = _first(values, "last_name", "lastname")
    full = _first(values, "full_name")
    mail = _first(values, "email")
    phone = _first(values, "phone", "mobile_phone")
    account = values.get("account") if isinstance(values.get("account"), str) else None
    name = n.person_name(first, last) if (first or last) else n.person_name(full)
    shown = " ".join(str(p) for p in (first, last) if p) or full
    return {
        "name": name, "first": n.text(first), "last": n.text(last), "email": n.email(mail),
        "phone": n.phone(phone, _region(values)) if phone else "", "account": account or "",
        "job_title": n.text(_first(values, "job_title", "title")),
        "_raw": {"name": shown, "email": mail, "phone": phone, "account": account,
                 "job_title": _first(values, "job_title", "title")},
    }


def prepare_item(values: Mapping[str, Any]) -> Prepared:
    sku = _first(values, "sku", "item_number")
    name = _first(values, "name")
    description = _first(values, "description")
    return {
        "sku": n.identifier(sku), "name": n.text(name), "name_tokens": tuple(n.text(name).split()),
        "description": n.text(description),
        "_raw": {"sku": sku, "name": name, "description": description},
    }


# --- similarity per kind -----------------------------------------------------------------------

def company_name_similarity(a: str, b: str, ta: tuple[str, ...] = (), tb: tuple[str, ...] = ()) -> float:
    """0..1 for two normalised company names: typos, transposed words, a missing word, an acronym."""
    if a == b:
        return 1.0
    best = max(fuzz.token_sort_ratio(a, b), 0.95 * fuzz.token_set_ratio(a, b))
    ta = ta or tuple(a.split())
    tb = tb or tuple(b.split())
    if best < 90 and len(ta) != len(tb) and ta and tb:  # a dropped word and a typo: "scytha outfitters" / "sctyha"
        short, long = (ta, tb) if len(ta) < len(tb) else (tb, ta)
        aligned = sum(max(fuzz.ratio(s, t) for t in long) for s in short) / len(short)
        best = max(best, 0.9 * aligned)
    for short, long in ((ta, tb), (tb, ta)):  # "ibm" and "international business machines"
        if len(short) == 1 and len(long) >= 2 and len(short[0]) >= 2 and short[0] == n.initials(long):
            best = max(best, 90.0)
    return best / 100.0


def person_name_similarity(a: str, b: str) -> float:
    """0..1 for two normalised person names, in either order, typos forgiven."""
    if a == b:
        return 1.0
    return max(fuzz.token_sort_ratio(a, b) / 100.0, JaroWinkler.similarity(a, b) * 0.97)


def text_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    return max(fuzz.token_sort_ratio(a, b), 0.9 * fuzz.token_set_ratio(a, b)) / 100.0


def street_similarity(a: str, b: str) -> float:
    """Street lines: the house number must agree; the rest may carry typos or a suite."""
    if a == b:
        return 1.0
    na = next((t for t in a.split() if t[:1].isdigit()), "")
    nb = next((t for t in b.split() if t[:1].isdigit()), "")
    if na and nb and na != nb:
        return 0.0
    return max(fuzz.token_sort_ratio(a, b), 0.95 * fuzz.token_set_ratio(a, b)) / 100.0


def _similarity(feature: Feature, a: Prepared, b: Prepared) -> float | None:
    va, vb = a.get(feature.name), b.get(feature.name)
    if not va or not vb:
        return None
    kind = feature.kind
    if kind == "exact" or kind == "phone":
        return 1.0 if va == vb else 0.0
    if kind == "company_name":
        return company_name_similarity(va, vb, a.get("name_tokens", ()), b.get("name_tokens", ()))
    if kind == "person_name":
        return person_name_similarity(va, vb)
    if kind == "street":
        return street_similarity(va, vb)
    return text_similarity(va, vb)


def contribution(feature: Feature, similarity: float | None) -> float:
    """Points for one feature: 0 when unknown, -disagree at the floor, +agree when identical."""
    if similarity is None:
        return 0.0
    if similarity >= 1.0:
        return feature.agree
    if similarity <= feature.floor:
        return -feature.disagree
    t = (similarity - feature.floor) / (1.0 - feature.floor)
    return -feature.disagree + t * (feature.agree + feature.disagree)


def logistic(x: float) -> float:
    if x < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


EXACT_KINDS = frozenset({"exact", "phone"})


def score(profile: Profile, a: Prepared, b: Prepared, threshold: float = 0.0) -> float:
    """The pair's score, 0..1 (the fast path: no evidence).

    With a ``threshold``, a pair that cannot reach it even if every fuzzy feature agreed is answered 0.0
    before any fuzzy comparison: the exact features are summed first, they cost a dict look-up."""
    total = profile.bias
    fuzzy = []
    for feature in profile.features:
        va = a.get(feature.name)
        vb = b.get(feature.name)
        if not va or not vb:
            continue
        if feature.kind in EXACT_KINDS:
            total += feature.agree if va == vb else -feature.disagree
        else:
            fuzzy.append(feature)
    if threshold > 0.0:
        room = sum(f.agree for f in fuzzy)
        if total + room < logit(threshold):
            return 0.0
    for feature in fuzzy:
        total += contribution(feature, _similarity(feature, a, b))
    return logistic(total)


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def evidence(profile: Profile, a: Prepared, b: Prepared) -> tuple[float, list[dict[str, Any]]]:
    """The score and, per feature, both sides' values as held, as compared, the similarity and the points."""
    total = profile.bias
    rows = []
    raw_a, raw_b = a.get("_raw", {}), b.get("_raw", {})
    for feature in profile.features:
        similarity = _similarity(feature, a, b)
        points = contribution(feature, similarity)
        total += points
        rows.append({
            "feature": feature.name, "label": feature.label,
            "left": _shown(raw_a.get(feature.name)), "right": _shown(raw_b.get(feature.name)),
            "left_compared": _shown(a.get(feature.name)), "right_compared": _shown(b.get(feature.name)),
            "similarity": None if similarity is None else round(similarity, 3),
            "weight": feature.agree, "contribution": round(points, 2),
        })
    return logistic(total), rows


def _shown(value: Any) -> Any:
    if value in (None, "", ()):
        return None
    return value if isinstance(value, str | int | float) else str(value)


# --- the profiles --------------------------------------------------------------------------------

ACCOUNT = Profile(
    entity_type="account", bias=-7.0, lower=0.5, upper=0.97, prepare=prepare_account,
    features=(
        Feature("name", "Name", "company_name", agree=7.0, disagree=5.0, floor=0.45),
        Feature("domain", "Website domain", "exact", agree=5.0, disagree=2.0),
        Feature("phone", "Phone", "phone", agree=4.0, disagree=1.5),
        Feature("street", "Street", "street", agree=2.5, disagree=2.0, floor=0.5),
        Feature("postcode", "Postcode", "exact", agree=1.5, disagree=1.5),
        Feature("city", "City", "text", agree=0.5, disagree=1.5, floor=0.6),
        Feature("tax_id", "Tax id", "exact", agree=8.0, disagree=12.0),
        Feature("email", "E-mail", "exact", agree=3.0, disagree=0.5),
    ),
)

CONTACT = Profile(
    entity_type="contact", bias=-6.0, lower=0.5, upper=0.97, prepare=prepare_contact,
    features=(
        Feature("name", "Name", "person_name", agree=5.0, disagree=6.0, floor=0.6),
        Feature("email", "E-mail", "exact", agree=6.0, disagree=1.5),
        Feature("phone", "Phone", "phone", agree=3.0, disagree=1.0),
        Feature("account", "Account", "exact", agree=2.0, disagree=2.0),
        Feature("job_title", "Job title", "text", agree=0.5, disagree=0.5, floor=0.5),
    ),
)

ITEM = Profile(
    entity_type="item", bias=-5.0, lower=0.5, upper=0.97, prepare=prepare_item,
    features=(
        Feature("sku", "SKU", "exact", agree=8.0, disagree=4.0),
        Feature("name", "Name", "text", agree=4.0, disagree=3.0, floor=0.6),
        Feature("description", "Description", "text", agree=1.5, disagree=0.5, floor=0.5),
    ),
)

PROFILES: dict[str, Profile] = {p.entity_type: p for p in (ACCOUNT, CONTACT, ITEM)}
ENTITY_TYPES = tuple(PROFILES)


def profile_for(entity_type: str, overrides: Mapping[str, Any] | None = None) -> Profile:
    """The entity's profile with tuned weights and thresholds applied, e.g.
    ``{"bias": -6, "lower": 0.6, "upper": 0.98, "features": {"phone": {"agree": 5, "disagree": 1}}}``."""
    try:
        profile = PROFILES[entity_type]
    except KeyError:
        raise ValueError(f"no duplicate detection for {entity_type!r} (only {', '.join(ENTITY_TYPES)})") from None
    if not overrides:
        return profile
    tuned = {name: overrides.get(name, getattr(profile, name)) for name in ("bias", "lower", "upper")}
    per_feature = overrides.get("features", {}) or {}
    features = tuple(replace(f, **{k: float(v) for k, v in per_feature.get(f.name, {}).items()
                                   if k in ("agree", "disagree", "floor")})
                     for f in profile.features)
    if not 0 < float(tuned["lower"]) <= float(tuned["upper"]) <= 1:
        raise ValueError(f"{entity_type}: thresholds must satisfy 0 < lower <= upper <= 1")
    return replace(profile, features=features, bias=float(tuned["bias"]), lower=float(tuned["lower"]),
                   upper=float(tuned["upper"]))
