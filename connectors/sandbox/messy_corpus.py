"""The messy corpus's data model: the true organisations and people, and the vendor records that describe them.

A `CorpusRecord` is one record as HubSpot or NetSuite stores it (`fields`, in the vendor's own shape), with what the
vendor never sees kept beside it: the true entity it describes (two records with the same `entity` are one
organisation or person, in one system or across both) and the failure classes it carries (`tags`: class -> the
vendor fields that carry it).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CRM, ERP = "crm", "erp"
# (system, vendor object) of each record kind, in the order a loader writes them (parents first).
CRM_COMPANY, CRM_CONTACT, CRM_DEAL = (CRM, "companies"), (CRM, "contacts"), (CRM, "deals")
ERP_CUSTOMER, ERP_CONTACT = (ERP, "customer"), (ERP, "contact")
KINDS = (CRM_COMPANY, CRM_CONTACT, CRM_DEAL, ERP_CUSTOMER, ERP_CONTACT)


@dataclass(frozen=True, slots=True)
class Organisation:
    """A real company: its name is `core` plus a legal form, spelled the canonical way (`legal_form`)."""

    id: str
    core: str
    legal_form: str
    country: str  # ISO 3166-1 alpha-2
    domain: str
    phone: str  # E.164
    street: str
    city: str
    postcode: str
    industry: str  # a HubSpot industry the emulator offers

    @property
    def name(self) -> str:
        return join_name(self.core, self.legal_form)


@dataclass(frozen=True, slots=True)
class Person:
    """A real person working for an organisation."""

    id: str
    org: str
    first: str
    last: str
    email: str
    phone: str  # E.164, or "" (no direct line)
    title: str


@dataclass(slots=True)
class CorpusRecord:
    """One vendor record of the corpus, and what is known about it beside the data."""

    key: str  # "crm:companies:17": unique in the corpus
    system: str  # CRM or ERP
    object: str  # the vendor's object: companies, contacts, deals | customer, contact
    entity: str  # the true organisation or person ("" when unknown: a public data set's row)
    fields: dict[str, Any]
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # failure class -> vendor fields carrying it
    parent: str | None = None  # the corpus key of a contact's or deal's company (customer)
    archived: bool = False  # HubSpot: archived after loading; NetSuite: inactive (isInactive in `fields`)
    duplicate_of: str | None = None  # the record of the same system this one copies

    @property
    def kind(self) -> tuple[str, str]:
        return self.system, self.object

    def tag(self, name: str, *fields: str) -> None:
        self.tags[name] = tuple(dict.fromkeys((*self.tags.get(name, ()), *fields)))


@dataclass(slots=True)
class Corpus:
    """The records of both systems, and the true entities behind them."""

    seed: int
    records: list[CorpusRecord]
    organisations: dict[str, Organisation]
    people: dict[str, Person]
    by_key: dict[str, CorpusRecord] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.by_key = {record.key: record for record in self.records}

    def __iter__(self) -> Iterator[CorpusRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def get(self, key: str) -> CorpusRecord:
        return self.by_key[key]

    def of(self, system: str, object: str) -> list[CorpusRecord]:
        return [record for record in self.records if record.kind == (system, object)]

    def tagged(self, name: str) -> list[CorpusRecord]:
        return [record for record in self.records if name in record.tags]

    def add(self, record: CorpusRecord) -> CorpusRecord:
        self.records.append(record)
        self.by_key[record.key] = record
        return record


def join_name(core: str, form: str) -> str:
    """A company name from its core and a legal form as written ("Acme" + "Inc." -> "Acme Inc.";
    ", Inc." -> "Acme, Inc."; a prefix form such as 株式会社 goes first when the core is Japanese)."""
    if not form:
        return core
    if form in PREFIX_FORMS:
        return f"{form}{core}"
    if form in SUFFIX_FORMS:
        return f"{core}{form}"
    return f"{core}{form}" if form.startswith(",") else f"{core} {form}"


# Legal forms written without a space, before or after the core (CJK names).
PREFIX_FORMS = frozenset({"株式会社"})
SUFFIX_FORMS = frozenset({"有限公司"})
