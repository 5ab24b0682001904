"""Normalisation rules: what two spellings of the same thing must compare equal, and what must not."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.duplicates import normalize as n

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüéèçñ", min_size=3, max_size=10)
NAME_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGÄÖÜéèçñß&.,'-() 0123", max_size=40)


@pytest.mark.parametrize("spelling", ["Acme Inc", "ACME, Inc.", "Acme Incorporated", "acme inc.", "The Acme Company",
                                      "Acme LLC", "ACME Corp.", "Acme Co., Ltd."])
def test_legal_forms_case_and_punctuation_do_not_matter(spelling):
    assert n.company_name(spelling) == "acme"


@pytest.mark.parametrize(("a", "b"), [
    ("Nordwind B.V.", "Nordwind BV"), ("Nordwind GmbH", "Nordwind G.m.b.H."), ("Nordwind S.A.", "NORDWIND SA"),
    ("Nordwind GmbH & Co. KG", "Nordwind AG"), ("Nordwind S.L.", "Nordwind SL"), ("Nordwind PLC", "Nordwind Ltd"),
    ("Société Générale S.A.", "Societe Generale"), ("Müller Logistik", "MULLER LOGISTIK GmbH"),
    ("Acme Int'l Mfg. Co.", "ACME International Manufacturing"), ("Smith & Sons", "Smith and Sons Ltd"),
    ("Acme Tech Solns", "Acme Technologies Solutions"), ("Acme Grp", "Acme"),
])
def test_spellings_of_one_company_normalise_alike(a, b):
    assert n.company_name(a) == n.company_name(b)


def test_a_legal_form_is_removed_from_the_end_only_and_never_empties_a_name():
    assert n.company_name("Co-op Bank") == "co op bank"
    assert n.company_name("Corp Holdings Inc") == "corp"
    assert n.company_name("Holding AG") == "holding"
    assert n.company_name("") == "" and n.company_name(None) == "" and n.company_name({"x": 1}) == ""


def test_different_companies_stay_different():
    assert n.company_name("Acme Logistics") != n.company_name("Acme Foods")
    assert n.company_name("Acme Inc") != n.company_name("Acne Inc")


@given(NAME_TEXT)
@settings(max_examples=300, deadline=None)
def test_company_name_is_idempotent(raw):
    once = n.company_name(raw)
    assert n.company_name(once) == once


@given(st.lists(WORD, min_size=1, max_size=4), st.sampled_from(["Inc", "Inc.", ", Inc.", "Incorporated", "LLC",
                                                                  "Ltd", "GmbH", "B.V.", "S.A.", ""]))
@settings(max_examples=200, deadline=None)
def test_case_and_legal_form_never_change_the_normalised_name(words, legal):
    base = " ".join(words)
    assert n.company_name(f"{base.upper()} {legal}") == n.company_name(base.title())


@pytest.mark.parametrize(("value", "domain"), [
    ("https://www.acme.com/contact?x=1", "acme.com"), ("WWW.ACME.COM", "acme.com"), ("acme.com", "acme.com"),
    ("http://shop.acme.co.uk", "acme.co.uk"), ("jo@mail.acme.de", "acme.de"), ("acme.com:8080/x", "acme.com"),
    ("https://user@acme.io/", "acme.io"), ("192.168.0.1", ""), ("co.uk", ""), ("not a url", ""), (None, ""),
])
def test_websites_and_addresses_reduce_to_the_registrable_domain(value, domain):
    assert n.registrable_domain(value) == domain


def test_free_mail_domains_are_no_company_evidence():
    assert n.company_domain("jo@gmail.com") == ""
    assert n.company_domain("jo@acme.com") == "acme.com"


@pytest.mark.parametrize("spelling", ["(415) 555-0123", "415.555.0123", "+1 415 555 0123", "1-4155550123",
                                      "415-555-0123 ext. 12", "+1 (415) 555-0123", "001 415 555 0123"])
def test_us_phones_become_e164(spelling):
    assert n.phone(spelling, "US") == "+14155550123"


@pytest.mark.parametrize(("spelling", "region"), [("+44 (0)20 7946 0123", "US"), ("0044 20 7946 0123", "US"),
                                                  ("020 7946 0123", "GB"), ("+442079460123", "DE")])
def test_international_phones_become_e164(spelling, region):
    assert n.phone(spelling, region) == "+442079460123"


@pytest.mark.parametrize("junk", ["", None, "n/a", "123", "call me"])
def test_what_is_not_a_phone_number_is_empty(junk):
    assert n.phone(junk) == ""


@given(st.integers(min_value=2_000_000_000, max_value=9_999_999_999).filter(lambda x: str(x)[3] not in "01"),
       st.sampled_from(["({a}) {b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "1{a}{b}{c}", "{a}-{b}-{c} x99"]))
def test_every_format_of_a_us_number_is_the_same_e164(number, pattern):
    digits = str(number)
    formatted = pattern.format(a=digits[:3], b=digits[3:6], c=digits[6:])
    assert n.phone(formatted, "US") == "+1" + digits


def test_street_tokens_use_the_short_postal_form():
    assert n.street("12 North Main Street, Suite 4") == n.street("12 N. Main St. Ste 4") == "12 n main st ste 4"
    assert n.street("Hauptstraße 5") == "haupt str 5"


def test_postcodes_countries_and_identifiers():
    assert n.postcode("94105-1234") == "94105" and n.postcode("ec1a 1bb") == "EC1A1BB"
    assert n.country("Deutschland") == n.country("Germany") == n.country("DEU") == n.country("de") == "DE"
    assert n.country("Atlantis") == ""
    assert n.identifier("de 123-456.789") == "DE123456789"
    assert n.email(" Jo@ACME.com ") == "jo@acme.com" and n.email("jo at acme") == ""


@given(NAME_TEXT)
@settings(max_examples=200, deadline=None)
def test_text_is_idempotent_and_plain(raw):
    once = n.text(raw)
    assert n.text(once) == once
    assert once == once.strip() and "  " not in once
