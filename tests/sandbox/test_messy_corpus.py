"""The messy corpus: reproducible for a seed, every failure class present, each record's tags true of its data
(and the untagged records free of them), loadable into the emulators as the vendors hold it, and the public
restaurants set read whole without its label column."""
from __future__ import annotations

import csv
import unicodedata
from datetime import datetime

import phonenumbers
import pytest
import requests
from rapidfuzz.distance import Levenshtein

from connectors.models import ConnectedSystem
from connectors.sandbox import DEFAULT_TOKEN, start_emulator
from connectors.sandbox.messy import (
    CRM,
    ERP,
    FAILURE_CLASSES,
    MissingData,
    expected_to_flow,
    generate,
    load_corpus,
    restaurant_companies,
    restaurants_dir,
)
from connectors.sandbox.messy_corpus import join_name
from connectors.sandbox.messy_faults import EMOJI, LEGAL_FORM_VARIANTS, LIMITS
from integration_hub.records.models import RecordLink
from integration_hub.sync import engine, outbox
from mapping.default_template import INDUSTRIES, LIFECYCLE_CRM, TERMS

PHONE_KINDS = {("crm", "companies"), ("crm", "contacts"), ("erp", "customer"), ("erp", "contact")}
NAME_OF = {("crm", "companies"): "name", ("erp", "customer"): "companyName", ("crm", "contacts"): "lastname",
           ("erp", "contact"): "lastName"}


@pytest.fixture(scope="module")
def corpus():
    return generate(1200, seed=11)


def snapshot(corpus):
    return [(r.key, r.entity, r.fields, r.tags, r.parent, r.archived, r.duplicate_of) for r in corpus]


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another():
    assert snapshot(generate(300, seed=3)) == snapshot(generate(300, seed=3))
    assert snapshot(generate(300, seed=3)) != snapshot(generate(300, seed=4))


def test_each_system_holds_the_records_asked_for_and_some_organisations_are_in_both(corpus):
    for system in (CRM, ERP):
        assert sum(1 for r in corpus if r.system == system and r.object != "deals") == 1200
    crm = {r.entity for r in corpus.of(CRM, "companies")}
    erp = {r.entity for r in corpus.of(ERP, "customer")}
    assert crm & erp and crm - erp and erp - crm
    assert corpus.of(CRM, "deals")


def test_every_failure_class_appears(corpus):
    missing = [name for name in FAILURE_CLASSES if not corpus.tagged(name)]
    assert not missing, f"classes no record carries: {missing}"


def test_phones_are_tagged_for_what_they_are(corpus):
    for record in corpus:
        phone = record.fields.get("phone")
        if record.kind not in PHONE_KINDS or not phone:
            continue
        number = phonenumbers.parse(phone, "US")
        if "local_phone" in record.tags:
            assert len(phonenumbers.normalize_digits_only(phone)) in (7, 8) and not phonenumbers.is_valid_number(
                number), phone
            with pytest.raises(phonenumbers.NumberParseException):
                phonenumbers.parse(phone, None)  # no region makes it E.164: it has no area code to read
        elif "vanity_phone" in record.tags:
            assert any(c.isalpha() for c in phone), phone
            assert len(phonenumbers.normalize_digits_only(phonenumbers.convert_alpha_characters_in_number(phone))) >= 7
        elif "phone_extension" in record.tags:
            assert phonenumbers.is_valid_number(number) and number.extension, phone
        else:
            assert phonenumbers.is_valid_number(number) and not number.extension, (record.key, phone)


def test_missing_currencies_are_deal_amounts_without_one(corpus):
    for record in corpus.of(CRM, "deals"):
        if "missing_currency" in record.tags:
            assert record.fields["amount"] and "deal_currency_code" not in record.fields
        else:
            assert record.fields["deal_currency_code"]
    assert all(record.fields["currency"] for record in corpus.of(ERP, "customer"))  # NetSuite always has one


def test_names_carry_their_legal_form_variants_and_typos(corpus):
    variants = corpus.tagged("legal_form_variant")
    for record in variants:
        org = corpus.organisations[record.entity]
        name = record.fields[NAME_OF[record.kind]]
        assert any(form in name for form in LEGAL_FORM_VARIANTS[org.legal_form]) and name != org.name
    for record in corpus.tagged("name_typo"):
        if {"over_long", "emoji_name"} & set(record.tags):
            continue  # more was appended to the name
        value = record.fields[NAME_OF[record.kind]]
        if record.entity in corpus.organisations:
            org = corpus.organisations[record.entity]
            truth = [join_name(org.core, form) for form in (org.legal_form, *LEGAL_FORM_VARIANTS[org.legal_form])]
        else:
            truth = [corpus.people[record.entity].last]
        assert 1 <= min(Levenshtein.distance(value, name) for name in truth) <= 2, (value, truth)
    untouched = [r for r in corpus.of(ERP, "customer") if not r.tags and not r.archived]
    assert untouched and all(r.fields["companyName"] == corpus.organisations[r.entity].name for r in untouched)


def test_duplicates_are_second_records_of_the_same_entity_in_the_same_system(corpus):
    duplicates = corpus.tagged("duplicate")
    assert {r.kind for r in duplicates} >= PHONE_KINDS
    for record in duplicates:
        original = corpus.get(record.duplicate_of)
        assert original.kind == record.kind and original.entity == record.entity and original.key != record.key
    emails = [r.fields["email"].casefold() for r in corpus.of(CRM, "contacts") if r.fields.get("email")]
    assert len(emails) == len(set(emails))  # HubSpot keeps emails unique: a duplicate person has another or none


def test_unicode_right_to_left_and_emoji_names_are_tagged_where_they_are(corpus):
    for record in corpus.tagged("rtl_name"):
        names = " ".join(str(record.fields.get(f) or "") for f in record.tags["rtl_name"])
        assert any(unicodedata.name(c, "").startswith(("ARABIC", "HEBREW")) for c in names)
    for org in corpus.organisations.values():
        if org.country in ("SA", "IL"):
            for record in corpus.of(CRM, "companies") + corpus.of(ERP, "customer"):
                if record.entity == org.id and record.fields[NAME_OF[record.kind]]:
                    assert "rtl_name" in record.tags and "unicode_name" in record.tags
    for record in corpus.tagged("emoji_name"):
        assert any(e in str(record.fields[f]) for f in record.tags["emoji_name"] for e in EMOJI)
    for record in corpus:
        if "unicode_name" not in record.tags and record.kind in NAME_OF:
            assert str(record.fields.get(NAME_OF[record.kind]) or "").isascii()


def test_blank_required_fields_are_blank_and_such_records_are_not_expected_to_flow(corpus):
    for record in corpus.tagged("blank_required"):
        assert record.tags["blank_required"] and all(not record.fields.get(f) for f in record.tags["blank_required"])
        assert not expected_to_flow(record)
    kept = [r for r in corpus.of(CRM, "companies") if "blank_required" not in r.tags]
    assert all(r.fields["name"] for r in kept)


def test_long_notes_are_ten_kilobytes_or_more(corpus):
    for record in corpus.tagged("long_note"):
        [field] = record.tags["long_note"]
        assert len(record.fields[field].encode()) >= 10_000


def test_unknown_picklist_values_are_values_the_template_does_not_map(corpus):
    for record in corpus.of(CRM, "companies") + corpus.of(CRM, "contacts") + corpus.of(ERP, "customer"):
        field, known = {"companies": ("industry", INDUSTRIES), "contacts": ("lifecyclestage", LIFECYCLE_CRM),
                        "customer": ("terms", TERMS)}[record.object]
        if "unknown_picklist" in record.tags:
            assert record.fields[field] not in known and record.tags["unknown_picklist"] == (field,)
        elif field in record.fields:
            assert record.fields[field] in known, (record.key, record.fields[field])


def test_archived_references_point_at_archived_companies(corpus):
    for record in corpus.of(CRM, "contacts") + corpus.of(ERP, "contact") + corpus.of(CRM, "deals"):
        parent = corpus.get(record.parent)
        assert ("archived_reference" in record.tags) == parent.archived
        if parent.system == ERP:
            assert parent.fields["isInactive"] is parent.archived


def test_over_long_values_are_longer_than_the_other_system_takes(corpus):
    for record in corpus.tagged("over_long"):
        for field in record.tags["over_long"]:
            assert len(record.fields[field]) > LIMITS[field]
        assert expected_to_flow(record) == ("name" not in record.tags["over_long"] and not record.archived)
    for record in corpus.of(CRM, "companies"):
        if "over_long" not in record.tags:
            assert len(record.fields["name"]) <= LIMITS["name"] and len(record.fields["address"]) <= 150


def test_bad_dates_are_placeholders_and_other_close_dates_are_plausible(corpus):
    for record in corpus.of(CRM, "deals"):
        year = datetime.fromisoformat(record.fields["closedate"]).year
        assert (year < 1990 or year > 2050) == ("bad_date" in record.tags)


def test_the_corpus_loads_into_running_emulators_as_the_vendors_hold_it():
    corpus = generate(150, seed=5)
    hubspot, netsuite = start_emulator("hubspot"), start_emulator("netsuite")
    bearer = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    try:
        loaded = load_corpus(corpus, hubspot=hubspot, netsuite=netsuite)
        assert loaded.refused == {}
        assert len(loaded.ids) == len(corpus)

        contact = next(r for r in corpus.of(CRM, "contacts") if "archived_reference" in r.tags)
        company = corpus.get(contact.parent)
        body = requests.get(f"{hubspot.url}/crm/v4/objects/contacts/{loaded.ids[contact.key]}/associations/companies",
                            headers=bearer, timeout=5).json()
        assert [str(row["toObjectId"]) for row in body["results"]] == [loaded.ids[company.key]]
        gone = requests.get(f"{hubspot.url}/crm/v3/objects/companies/{loaded.ids[company.key]}", headers=bearer,
                            timeout=5)
        assert gone.status_code == 404  # archived: only its contacts still point at it

        unknown = corpus.tagged("unknown_picklist")[0]
        [field] = unknown.tags["unknown_picklist"]
        if unknown.system == CRM:
            read = requests.get(f"{hubspot.url}/crm/v3/objects/{unknown.object}/{loaded.ids[unknown.key]}",
                                params={"properties": field}, headers=bearer, timeout=5).json()
            assert read["properties"][field] == unknown.fields[field]

        person = next(r for r in corpus.of(ERP, "contact") if "archived_reference" in r.tags)
        read = requests.get(f"{netsuite.url}/services/rest/record/v1/contact/{loaded.ids[person.key]}",
                            headers=bearer, timeout=5).json()
        assert read["company"]["id"] == loaded.ids[person.parent]
        customer = requests.get(f"{netsuite.url}/services/rest/record/v1/customer/{loaded.ids[person.parent]}",
                                headers=bearer, timeout=5).json()
        assert customer["isInactive"] is True
        assert "duplicate" not in str(customer) and "tags" not in customer  # what is known beside the data stays
    finally:
        hubspot.stop()
        netsuite.stop()


@pytest.mark.django_db
def test_a_loaded_corpus_syncs_through_the_real_engine(published, emulators):
    hubspot, netsuite = emulators
    corpus = generate(120, seed=9)
    loaded = load_corpus(corpus, hubspot=hubspot, netsuite=netsuite)
    account = published["account"]
    account.crm_creates = "always"
    account.save()
    ConnectedSystem.objects.update(rollout_stage="two_way")
    engine.sync_run_execute(run=engine.sync_run_create(mapping=account))
    outbox.dispatch_all_until_empty()

    clean = [r for r in corpus.of(CRM, "companies") if not r.tags and not r.archived]
    assert clean
    for record in clean:
        link = RecordLink.objects.get(system=account.crm_system, entity_type="account",
                                      external_id=loaded.ids[record.key])
        assert RecordLink.objects.filter(record=link.record, system=account.erp_system).exists(), record.fields


def test_the_restaurants_set_is_read_whole_without_its_label_column():
    try:
        companies = restaurant_companies()
    except MissingData as missing:
        pytest.skip(str(missing))
    with (restaurants_dir() / "restaurant.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(companies) == len(rows) == 864
    for company, row in zip(companies, rows, strict=True):
        assert company.system == CRM and company.object == "companies" and company.entity == ""
        assert (company.fields["name"], company.fields["phone"]) == (row["name"].strip(), row["phone"].strip())
        assert row["class"] not in company.fields.values() and "class" not in company.fields
    assert len({c.key for c in companies}) == 864


def test_a_missing_restaurants_set_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(MissingData, match=str(tmp_path)):
        restaurant_companies(tmp_path)
