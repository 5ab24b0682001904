"""The failure classes of real CRM and ERP data, applied to a corpus at their rates and tagged on each record.

A rate is the share of the records a class can apply to that carry it (our estimate for a CRM and an ERP a few
years in use; change them here). Each class is placed by quota (at least one record when any can carry it), so
a corpus of any size shows every class and the same seed gives the same records. Every value stays one the vendor
itself accepts and stores: HubSpot keeps any text in a text property and only the options its portal has in a
picklist (the loader gives the portal HubSpot's real options beyond the emulator's short lists).
"""
from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable

import phonenumbers

from connectors.sandbox.messy_corpus import (
    CRM_COMPANY,
    CRM_CONTACT,
    CRM_DEAL,
    ERP_CONTACT,
    ERP_CUSTOMER,
    Corpus,
    CorpusRecord,
    join_name,
)
from connectors.sandbox.messy_entities import US_AREA_CODES

FAILURE_CLASSES = {
    "local_phone": "a local number without its area code (7 or 8 digits): no region makes it E.164",
    "vanity_phone": "a phone number written with letters (555-CALL-NOW, 1-800-FLOWERS)",
    "phone_extension": "a phone number with an extension (ext. 12, x12, #12), which E.164 cannot hold",
    "missing_currency": "a deal amount without its currency (HubSpot leaves it to the portal's; a NetSuite record "
                        "always has one, its subsidiary's, so the ERP side has none of these)",
    "legal_form_variant": "the legal form spelled another way (Inc / Inc. / Incorporated, GmbH / Gmbh, S.A. / SA)",
    "name_typo": "a typing error in a name (letters swapped, dropped or doubled)",
    "duplicate": "the same person or company entered twice in one system",
    "unicode_name": "a name outside ASCII (accents, CJK, Arabic, Hebrew, emoji)",
    "rtl_name": "a name in a right-to-left script (Arabic, Hebrew)",
    "emoji_name": "a name with an emoji in it",
    "blank_required": "a required field left blank (no company name; no last name and no email)",
    "long_note": "a note or description of 10 kB or more",
    "unknown_picklist": "a picklist value the vendor accepts and the default template does not map",
    "archived_reference": "a reference to an archived (HubSpot) or inactive (NetSuite) company",
    "over_long": "a value longer than the other system's field takes",
    "bad_date": "a placeholder date (1900-01-01, 2099-12-31, the Unix epoch)",
}
# The fields a record cannot be created without in the other system (NetSuite's required fields; the default
# template requires the same of HubSpot records), and the lengths NetSuite's fields take.
REQUIRED = {CRM_COMPANY: ("name",), CRM_CONTACT: ("lastname",), ERP_CUSTOMER: ("companyName",),
            ERP_CONTACT: ("lastName",)}
LIMITS = {"name": 83, "companyName": 83, "address": 150, "jobtitle": 99}
NAME_FIELDS = {CRM_COMPANY: ("name",), CRM_CONTACT: ("firstname", "lastname"), CRM_DEAL: ("dealname",),
               ERP_CUSTOMER: ("companyName",), ERP_CONTACT: ("firstName", "lastName")}
# Where a record names its company, as the vendor reads it.
REFERENCE_FIELDS = {CRM_CONTACT: "associatedcompanyid", CRM_DEAL: "associations.companies", ERP_CONTACT: "company"}
PHONE_CLASSES = ("local_phone", "vanity_phone", "phone_extension")

LEGAL_FORM_VARIANTS = {
    "Inc": ("Inc.", "Incorporated", ", Inc.", "INC"), "LLC": ("L.L.C.", "Llc", ", LLC"),
    "Corp": ("Corp.", "Corporation"), "Ltd": ("Ltd.", "Limited", "LTD"), "PLC": ("plc", "P.L.C."),
    "GmbH": ("Gmbh", "G.m.b.H.", "GMBH"), "AG": ("A.G.", "Aktiengesellschaft"), "SARL": ("S.A.R.L.", "Sàrl"),
    "S.A.": ("SA", "S.A"), "S.L.": ("SL", "S.L"), "有限公司": ("Co., Ltd.", "Co. Ltd"), "株式会社": ("K.K.", "KK"),
}
# HubSpot's own options beyond the emulator's short lists (a real portal has them): the template maps none.
EXTRA_INDUSTRIES = ("RESTAURANTS", "HOSPITALITY", "FOOD_BEVERAGES", "AIRLINES_AVIATION", "CONSTRUCTION",
                    "HOSPITAL_HEALTH_CARE")
EXTRA_LIFECYCLE_STAGES = ("subscriber", "marketingqualifiedlead", "salesqualifiedlead", "evangelist")
# NetSuite terms are a list the account extends; the template knows Net 15/30/60 and Due on receipt.
EXTRA_TERMS = ("Net 45", "Net 90", "2% 10 Net 30", "1% 10 Net 30")
VANITY_WORDS = ("FLOWERS", "CALL-NOW", "NEW-ROOF", "GO-FEDEX", "BUY-BIKE", "FIX-PIPE", "GET-HELP")
EMOJI = ("🚀", "☕", "🌸", "🍕", "⭐", "🔧", "🥐")
EXTENSIONS = (" ext. ", " x", " #", " ext ")
PLACEHOLDER_DATES = ("1900-01-01T00:00:00.000Z", "2099-12-31T00:00:00.000Z", "1970-01-01T00:00:00.000Z")
NOTE_BYTES = 10_000


def typo(text: str, rng: random.Random) -> str:
    """One typing error in a word of `text`: two letters swapped, one dropped or one doubled."""
    positions = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()
                 and text[i] != text[i + 1]]
    if not positions:
        return text + text[-1]
    i = rng.choice(positions)
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == "drop":
        return text[:i] + text[i + 1:]
    return text[:i] + text[i] + text[i:]


def variant_name(core: str, legal_form: str, rng: random.Random) -> str:
    """The company name with its legal form spelled another way."""
    return join_name(core, rng.choice(LEGAL_FORM_VARIANTS[legal_form]))


def is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def has_emoji(text: str) -> bool:
    return any(unicodedata.category(c) == "So" and ord(c) > 0x2000 for c in text)


def expected_to_flow(record: CorpusRecord) -> bool:
    """Whether the other system can hold this record: it is live, and the fields it cannot be created without
    are filled and fit (what is left may be held field by field)."""
    required = REQUIRED.get(record.kind, ())
    broken = set(record.tags.get("blank_required", ())) | set(record.tags.get("over_long", ()))
    return not record.archived and not broken.intersection(required)


# -- the classes, each a function (record, corpus, rng) -> did it apply -----------------------------------


def _phone_free(record: CorpusRecord) -> bool:
    return bool(record.fields.get("phone")) and not any(name in record.tags for name in PHONE_CLASSES)


def _local_phone(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    if not _phone_free(record):
        return False
    number = phonenumbers.parse(_e164_of(record, corpus))
    digits = str(number.national_number)
    local = digits[-7:] if number.country_code == 1 else digits[-8:]
    if phonenumbers.is_valid_number(phonenumbers.parse(local, "US")):
        return False  # a whole number by itself (California's 310-XXXX): not a local one
    record.fields["phone"] = f"{local[:3]}-{local[3:]}" if len(local) == 7 else f"{local[:4]} {local[4:]}"
    record.tag("local_phone", "phone")
    return True


def _vanity_phone(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    if not _phone_free(record) or not _e164_of(record, corpus).startswith("+1"):
        return False
    word = rng.choice(VANITY_WORDS)
    record.fields["phone"] = rng.choice((f"1-800-{word}", f"1-888-{word}", f"555-{word}",
                                         f"({rng.choice(US_AREA_CODES)}) {word}"))
    record.tag("vanity_phone", "phone")
    return True


def _phone_extension(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    if not _phone_free(record):
        return False
    record.fields["phone"] = f"{record.fields['phone']}{rng.choice(EXTENSIONS)}{rng.randint(2, 4999)}"
    record.tag("phone_extension", "phone")
    return True


def _e164_of(record: CorpusRecord, corpus: Corpus) -> str:
    """The true number behind a record's phone (the organisation's or the person's)."""
    if record.entity in corpus.people:
        return corpus.people[record.entity].phone or corpus.organisations[corpus.people[record.entity].org].phone
    return corpus.organisations[record.entity].phone


def _missing_currency(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    if not record.fields.get("amount") or "deal_currency_code" not in record.fields:
        return False
    del record.fields["deal_currency_code"]
    record.tag("missing_currency", "deal_currency_code", "amount")
    return True


def _legal_form_variant(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    org = corpus.organisations[record.entity]
    field = NAME_FIELDS[record.kind][0]
    if not record.fields.get(field) or "legal_form_variant" in record.tags or "name_typo" in record.tags:
        return False
    record.fields[field] = variant_name(org.core, org.legal_form, rng)
    record.tag("legal_form_variant", field)
    return True


def _name_typo(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    field = NAME_FIELDS[record.kind][-1]  # a company's name, a person's last name
    value = record.fields.get(field) or ""
    if "name_typo" in record.tags or len(value) < 4:
        return False
    if record.entity in corpus.organisations:
        org = corpus.organisations[record.entity]
        if org.core not in value:
            return False
        record.fields[field] = value.replace(org.core, typo(org.core, rng), 1)
    else:
        record.fields[field] = typo(value, rng)
    record.tag("name_typo", field)
    return True


def _emoji_name(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    field = NAME_FIELDS[record.kind][0]
    if not record.fields.get(field):
        return False
    record.fields[field] = f"{record.fields[field]} {rng.choice(EMOJI)}"
    record.tag("emoji_name", field)
    return True


def _blank_required(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    fields = ("name",) if record.kind == CRM_COMPANY else ("lastname", "email")
    if {"over_long", "legal_form_variant", "name_typo"} & set(record.tags) or any(
            not record.fields.get(field) for field in fields):
        return False
    for field in fields:
        record.fields[field] = ""
    record.tag("blank_required", *fields)
    return True


def _long_note(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    field = "description" if record.kind == CRM_COMPANY else "comments"
    paragraphs: list[str] = []
    while len("\n\n".join(paragraphs).encode()) < NOTE_BYTES:
        paragraphs.append(" ".join(rng.choice(NOTE_SENTENCES) for _ in range(8)))
    record.fields[field] = "\n\n".join(paragraphs)
    record.tag("long_note", field)
    return True


NOTE_SENTENCES = ("Called about the renewal; they want a quote by Friday.", "Prefers invoices by email.",
                  "Warehouse closed on public holidays, deliveries before 2 pm.", "Met at the trade fair.",
                  "Asked for the volume discount again.", "New buyer since March, very price sensitive.",
                  "Kündigungsfrist drei Monate zum Quartalsende.", "Livraison uniquement le matin.",
                  "支払いは月末締め翌月末払い。", "يرجى التواصل مع المدير المالي قبل الشحن.")


def _unknown_picklist(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    field, options = {CRM_COMPANY: ("industry", EXTRA_INDUSTRIES), CRM_CONTACT: ("lifecyclestage",
                                                                                   EXTRA_LIFECYCLE_STAGES),
                      ERP_CUSTOMER: ("terms", EXTRA_TERMS)}[record.kind]
    record.fields[field] = rng.choice(options)
    record.tag("unknown_picklist", field)
    return True


def _archived_reference(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    """Archive (deactivate) the record's company: every contact and deal of that company now refers to it."""
    if not record.parent or "archived_reference" in record.tags:
        return False
    parent = corpus.get(record.parent)
    parent.archived = True
    if parent.system == "erp":
        parent.fields["isInactive"] = True
    for child in corpus:
        if child.parent == parent.key:
            child.tag("archived_reference", REFERENCE_FIELDS[child.kind])
    return True


def _over_long(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    field = {CRM_COMPANY: rng.choice(("name", "address")), CRM_CONTACT: "jobtitle"}[record.kind]
    value = record.fields.get(field) or ""
    if not value or "blank_required" in record.tags:
        return False
    filler = {"name": " – Division of {core} Holdings International Trading, Distribution and Services Group",
              "address": ", Building 4, Floor 3, Suite 300, Industrial Park North, Gate B (deliveries through the "
                         "loading dock at the back, ring the bell twice, ask for the warehouse manager on duty)",
              "jobtitle": " and Interim Regional Vice President of Strategic Procurement, Supplier Relationships "
                          "and Continuous Improvement (EMEA)"}[field]
    core = corpus.organisations[record.entity].core if record.entity in corpus.organisations else ""
    while len(value) <= LIMITS[field]:
        value += filler.format(core=core)
    record.fields[field] = value
    record.tag("over_long", field)
    return True


def _bad_date(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> bool:
    record.fields["closedate"] = rng.choice(PLACEHOLDER_DATES)
    record.tag("bad_date", "closedate")
    return True


Fault = Callable[[CorpusRecord, Corpus, random.Random], bool]
# (class, applies to, rate, how): in this order, so a later class sees what the earlier ones did.
PLAN: tuple[tuple[str, tuple[tuple[str, str], ...], float, Fault], ...] = (
    ("local_phone", (CRM_COMPANY, CRM_CONTACT, ERP_CUSTOMER, ERP_CONTACT), 0.05, _local_phone),
    ("vanity_phone", (CRM_COMPANY, ERP_CUSTOMER), 0.01, _vanity_phone),
    ("phone_extension", (CRM_COMPANY, CRM_CONTACT, ERP_CUSTOMER, ERP_CONTACT), 0.04, _phone_extension),
    ("missing_currency", (CRM_DEAL,), 0.08, _missing_currency),
    ("legal_form_variant", (CRM_COMPANY, ERP_CUSTOMER), 0.10, _legal_form_variant),
    ("name_typo", (CRM_COMPANY, CRM_CONTACT, ERP_CUSTOMER, ERP_CONTACT), 0.02, _name_typo),
    ("over_long", (CRM_COMPANY, CRM_CONTACT), 0.01, _over_long),
    ("blank_required", (CRM_COMPANY, CRM_CONTACT), 0.01, _blank_required),
    ("emoji_name", (CRM_COMPANY, CRM_CONTACT), 0.01, _emoji_name),
    ("long_note", (CRM_COMPANY, ERP_CUSTOMER, ERP_CONTACT), 0.01, _long_note),
    ("unknown_picklist", (CRM_COMPANY, CRM_CONTACT, ERP_CUSTOMER), 0.03, _unknown_picklist),
    ("archived_reference", (CRM_CONTACT, ERP_CONTACT), 0.01, _archived_reference),
    ("bad_date", (CRM_DEAL,), 0.03, _bad_date),
)


def apply_faults(corpus: Corpus, rng: random.Random) -> None:
    """Give each class its quota of the records it applies to, then tag what the data itself shows (names
    outside ASCII, right-to-left names, emoji)."""
    for _name, kinds, rate, fault in PLAN:
        for kind in kinds:
            candidates = [record for record in corpus.of(*kind) if record.duplicate_of is None]
            quota = max(1, round(rate * len(candidates))) if candidates else 0
            rng.shuffle(candidates)
            done = 0
            for record in candidates:
                if done >= quota:
                    break
                done += fault(record, corpus, rng)
    for record in corpus:
        observe(record)


def observe(record: CorpusRecord) -> None:
    """Tag the classes a record's names show by themselves."""
    for field in NAME_FIELDS.get(record.kind, ()):
        value = str(record.fields.get(field) or "")
        if not value.isascii():
            record.tag("unicode_name", field)
        if is_rtl(value):
            record.tag("rtl_name", field)
        if has_emoji(value):
            record.tag("emoji_name", field)


def duplicate_fields(record: CorpusRecord, corpus: Corpus, rng: random.Random) -> dict:
    """The fields of a second record of the same company or person, as someone entered it again: the name
    mistyped or its legal form spelled another way, the phone typed another way."""
    fields = dict(record.fields)
    name = NAME_FIELDS[record.kind][-1]
    org = corpus.organisations.get(record.entity)
    if org is not None and rng.random() < 0.5 and org.legal_form in LEGAL_FORM_VARIANTS:
        fields[name] = variant_name(org.core, org.legal_form, rng)
    elif fields.get(name):
        fields[name] = fields[name].replace(org.core, typo(org.core, rng), 1) if org and org.core in fields[name] \
            else typo(fields[name], rng)
    if org is not None and fields.get("phone"):
        fields["phone"] = org.phone if rng.random() < 0.5 else fields["phone"]
    return fields


def duplicate_tags(original: CorpusRecord, fields: dict, corpus: Corpus) -> dict[str, tuple[str, ...]]:
    """What a duplicate's name shows beside being a duplicate."""
    name = NAME_FIELDS[original.kind][-1]
    tags: dict[str, tuple[str, ...]] = {"duplicate": ()}
    org = corpus.organisations.get(original.entity)
    if fields.get(name) != original.fields.get(name):
        legal = org is not None and any(fields[name] == join_name(org.core, form)
                                        for form in LEGAL_FORM_VARIANTS.get(org.legal_form, ()))
        tags["legal_form_variant" if legal else "name_typo"] = (name,)
    return tags

