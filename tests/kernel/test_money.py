"""Money: read from a stored value, spelled as the sync spells it, shown as people read it; and the places that
compare, total or show money agree with the sync's canonical form where they used to differ."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration_hub.kernel.money import Money, amount_text
from integration_hub.kernel.templatetags.hub_tags import show_value
from mapping.types import FieldType, canonical_amount, canonical_money
from reconciliation.conflicts.derive import amount_at_stake
from reconciliation.conflicts.values import parse_input
from reconciliation.reports import compare


@pytest.mark.parametrize(("amount", "text"), [
    (Decimal("12"), "12.00"), (Decimal("12.5"), "12.50"), (Decimal("12.500"), "12.50"), (Decimal("0.125"), "0.125"),
    (Decimal("1E+2"), "100.00"), (Decimal("-0.00"), "0.00"), (Decimal("0"), "0.00"), (Decimal("-3.1"), "-3.10"),
    (Decimal("0.0000001"), "0.0000001"), (Decimal("123456789012345678901234567890.5"),
                                         "123456789012345678901234567890.50"),
])
def test_amount_text_is_the_sync_spelling(amount, text):
    assert amount_text(amount) == text == canonical_amount(amount)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-10**29, max_value=10**29)
       .filter(lambda d: d.as_tuple().exponent >= -20))
@settings(max_examples=300, deadline=None)
def test_amount_text_agrees_with_the_mapping_for_every_amount(amount):
    assert amount_text(amount) == canonical_amount(amount)


def test_money_of_a_stored_value():
    assert Money.of({"amount": "12.50", "currency": "EUR"}) == Money(Decimal("12.50"), "EUR")
    assert Money.of({"amount": 12, "currency": "EUR"}) == Money(Decimal(12), "EUR")
    assert Money.of({"amount": 0.1, "currency": "EUR"}).amount == Decimal("0.1")  # a float's text, not its noise
    assert Money.of({"amount": "12.50", "currency": None}) == Money(Decimal("12.50"), "")


@pytest.mark.parametrize("value", [
    None, "12.50 EUR", 12, [], {}, {"amount": "12.50"}, {"amount": "12.50", "currency": "EUR", "note": "x"},
    {"amount": "twelve", "currency": "EUR"}, {"amount": "NaN", "currency": "EUR"},
    {"amount": "Infinity", "currency": "EUR"}, {"amount": True, "currency": "EUR"},
    {"amount": None, "currency": "EUR"}, {"amount": ["1"], "currency": "EUR"},
    {"amount": "1e999999", "currency": "EUR"}, {"amount": "9" * 200, "currency": "EUR"},
])
def test_anything_else_is_not_money(value):
    assert Money.of(value) is None


def test_stored_and_shown():
    money = Money(Decimal("1200.5"), "USD")
    assert money.stored() == {"amount": "1200.50", "currency": "USD"}
    assert canonical_money(money.stored()) == money.stored()
    assert str(money) == "1200.50 USD"
    assert str(Money(Decimal("7"))) == "7.00"


@pytest.mark.parametrize(("typed", "currency", "parts"), [
    ("1,200.50 EUR", "", ("1200.50", "EUR")),
    ("EUR 1200.50", "USD", ("1200.50", "EUR")),
    ("12.5", "USD", ("12.5", "USD")),
    ("twelve", "USD", ("twelve", "USD")),
    ("1,2 50 EUR", "USD", ("12 50 EUR", "USD")),  # not two parts: left whole for the canonical form to refuse
])
def test_split_text_as_people_write_money(typed, currency, parts):
    assert Money.split_text(typed, currency) == parts


# --- the copies, where they used to disagree with the sync's form ---------------------------------------------

def test_a_report_total_is_spelled_as_the_sync_spells_amounts():
    # 0.125 + 12.375 used to be reported as "12.500"; and a zero is never "-0.00"
    assert amount_text(Decimal("0.125") + Decimal("12.375")) == "12.50"
    assert amount_text(Decimal("5.00") - Decimal("5.00")) == "0.00"


def test_the_report_compares_money_in_the_sync_form():
    assert compare.comparable({"amount": "6200", "currency": "USD"}) == {"amount": "6200.00", "currency": "USD"}
    assert compare.comparable({"amount": "-0.00", "currency": "USD"}) == {"amount": "0.00", "currency": "USD"}
    # only {"amount", "currency"} is money (the sync's form); anything else is compared as it is
    assert compare.comparable({"amount": "6200"}) == {"amount": "6200"}
    assert compare.comparable({"amount": "x", "currency": "USD"}) == {"amount": "x", "currency": "USD"}
    assert compare.shown({"amount": "6200.0", "currency": "USD"}) == "6200.00 USD"


def test_money_is_shown_in_the_sync_form():
    assert show_value({"amount": "12.5", "currency": "EUR"}) == "12.50 EUR"
    assert show_value({"amount": "12.50", "currency": "EUR"}) == "12.50 EUR"
    assert show_value({"amount": "twelve", "currency": "EUR"}) == '{"amount": "twelve", "currency": "EUR"}'


def test_the_amount_at_stake_reads_only_money():
    assert amount_at_stake({"amount": "100.00", "currency": "USD"}, {"amount": "60", "currency": "USD"}) == (
        Decimal("40.00"), "USD")
    assert amount_at_stake({"amount": "100"}, {"amount": "NaN", "currency": "USD"}) == (Decimal(0), "")


def test_typed_money_keeps_its_parts_for_the_canonical_form_to_check():
    assert parse_input("1,200.50 eur", FieldType.MONEY, "USD") == {"amount": "1200.50", "currency": "eur"}
    assert parse_input(12.5, FieldType.MONEY, "USD") == {"amount": "12.5", "currency": "USD"}
    assert parse_input("twelve", FieldType.MONEY, "USD") == {"amount": "twelve", "currency": "USD"}
