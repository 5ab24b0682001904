"""A messy-data corpus for the sandboxes: records of both systems with the failure classes real CRMs and ERPs
have, seeded and reproducible, and the public restaurants set as CRM companies.

    corpus = generate(records=2000, seed=7)      # about 2000 records per system
    loaded = load_corpus(corpus, hubspot=..., netsuite=...)   # running emulators (the tests' `emulators`)
    loaded.ids["crm:companies:12"]               # the vendor's id of a corpus record

Each system holds `records` records: companies (customers) and their contacts; HubSpot also has deals. Some
organisations and people are in both systems (written each system's way), some in one only; a few are entered
twice in one system. `messy_faults.FAILURE_CLASSES` lists the classes; each record carries its own in `tags`,
kept beside the data (the vendors never see them), with the true entity it describes in `entity`.
"""
from __future__ import annotations

import random
from collections import Counter

from connectors.sandbox.messy_corpus import (
    CRM,
    CRM_COMPANY,
    CRM_CONTACT,
    CRM_DEAL,
    ERP,
    ERP_CONTACT,
    ERP_CUSTOMER,
    Corpus,
    CorpusRecord,
    Organisation,
)
from connectors.sandbox.messy_entities import Entities
from connectors.sandbox.messy_faults import (
    FAILURE_CLASSES,
    apply_faults,
    duplicate_fields,
    duplicate_tags,
    expected_to_flow,
    typo,
)
from connectors.sandbox.messy_load import Loaded, MissingData, load_corpus, restaurant_companies, restaurants_dir

COMPANY_SHARE = 0.4  # of a system's records: companies; the rest are their contacts
SHARED_ORGS = 0.3  # of a system's companies: the organisation is a record in the other system too
SHARED_PEOPLE = 0.3  # of a system's contacts: the person is in the other system too (at a shared organisation)
DUPLICATE_COMPANIES = 0.03  # of a system's companies: a second record of an organisation it has already
DUPLICATE_PEOPLE = 0.04  # of a system's contacts: a second record of a person it has already
DEALS_PER_COMPANY = 0.25


def generate(records: int = 1000, *, seed: int = 0, deals: int | None = None) -> Corpus:
    """`records` records per system (companies and contacts), plus HubSpot deals (a quarter of the companies
    unless `deals` says), the same for the same arguments."""
    rng = random.Random(seed)
    entities = Entities(rng)
    corpus = Corpus(seed=seed, records=[], organisations={}, people={})
    keys: Counter[tuple[str, str]] = Counter()

    def add(kind: tuple[str, str], entity: str, fields: dict, **extra) -> CorpusRecord:
        keys[kind] += 1
        return corpus.add(CorpusRecord(key=f"{kind[0]}:{kind[1]}:{keys[kind]}", system=kind[0], object=kind[1],
                                       entity=entity, fields=fields, **extra))

    companies = max(1, round(records * COMPANY_SHARE))
    contacts = max(0, records - companies)
    copies = round(companies * DUPLICATE_COMPANIES)
    unique = companies - copies
    shared = round(unique * SHARED_ORGS)
    orgs: dict[str, list[Organisation]] = {CRM: [], ERP: []}
    for i in range(shared + 2 * (unique - shared)):
        org = entities.organisation()
        corpus.organisations[org.id] = org
        for side in (CRM, ERP) if i < shared else (CRM,) if i < unique else (ERP,):
            orgs[side].append(org)
    shared_orgs = [org for org in orgs[CRM] if org.id in {o.id for o in orgs[ERP]}]
    in_both = {org.id for org in shared_orgs}
    company_of: dict[tuple[str, str], CorpusRecord] = {}
    numbers = iter(range(10_001, 10**6))
    for side, kind in ((CRM, CRM_COMPANY), (ERP, ERP_CUSTOMER)):
        rng.shuffle(orgs[side])
        for org in orgs[side]:
            both = org.id in in_both
            fields = entities.hubspot_company(org, customer=both) if side == CRM else \
                entities.netsuite_customer(org, next(numbers), customer=both or rng.random() < 0.6)
            company_of[(side, org.id)] = add(kind, org.id, fields)
        for original in rng.sample([company_of[(side, org.id)] for org in orgs[side]], copies):
            fields = duplicate_fields(original, corpus, rng)
            if side == ERP:
                fields["entityId"] = f"CUST-{next(numbers):05d}"
            add(kind, original.entity, fields, duplicate_of=original.key,
                tags=duplicate_tags(original, fields, corpus))

    copied_people = round(contacts * DUPLICATE_PEOPLE)
    unique_people = contacts - copied_people
    both_people = round(unique_people * SHARED_PEOPLE) if shared_orgs else 0
    plan = [(CRM, ERP)] * both_people + [(CRM,), (ERP,)] * (unique_people - both_people)
    for sides in plan:
        org = rng.choice(shared_orgs if len(sides) == 2 else orgs[sides[0]])
        person = entities.person(org)
        corpus.people[person.id] = person
        for side in sides:
            company = company_of[(side, org.id)]
            if side == CRM:
                add(CRM_CONTACT, person.id, entities.hubspot_contact(person, company.fields), parent=company.key)
            else:
                add(ERP_CONTACT, person.id, entities.netsuite_contact(person), parent=company.key)
    for kind in (CRM_CONTACT, ERP_CONTACT):
        for original in rng.sample(corpus.of(*kind), copied_people):
            fields, tags = _person_again(original, corpus, entities, rng)
            add(kind, original.entity, fields, parent=original.parent, duplicate_of=original.key, tags=tags)

    crm_companies = [company_of[(CRM, org.id)] for org in orgs[CRM]]
    for _ in range(round(companies * DEALS_PER_COMPANY) if deals is None else deals):
        company = rng.choice(crm_companies)
        add(CRM_DEAL, company.entity, entities.hubspot_deal(corpus.organisations[company.entity]),
            parent=company.key)
    apply_faults(corpus, rng)
    return corpus


def _person_again(original: CorpusRecord, corpus: Corpus, entities: Entities,
                  rng: random.Random) -> tuple[dict, dict[str, tuple[str, ...]]]:
    """A person entered a second time: same name, phone and company; another email (HubSpot keeps emails
    unique) or none; now and then the last name mistyped."""
    fields = dict(original.fields)
    tags: dict[str, tuple[str, ...]] = {"duplicate": ()}
    email = "email"
    if original.system == CRM or rng.random() < 0.5:
        fields[email] = "" if rng.random() < 0.4 else entities.personal_email(corpus.people[original.entity])
    last = "lastname" if original.system == CRM else "lastName"
    if rng.random() < 0.3 and len(fields.get(last) or "") >= 4:
        fields[last] = typo(fields[last], rng)
        tags["name_typo"] = (last,)
    if not fields[email]:
        del fields[email]
    return fields, tags


__all__ = ["CRM", "ERP", "FAILURE_CLASSES", "Corpus", "CorpusRecord", "Loaded", "MissingData", "expected_to_flow",
           "generate", "load_corpus", "restaurant_companies", "restaurants_dir"]
