"""Validation of canonical values, and of the validation settings themselves."""
from __future__ import annotations

import pytest

from mapping.types import FieldType
from mapping.validation import check_rules, compile_validator, validate

T = FieldType


def test_required_refuses_an_empty_value():
    assert validate(None, T.TEXT, {"required": True}) == ["required"]
    assert validate("", T.TEXT, {"required": True}) == ["required"]
    assert validate([], T.LINE_ITEMS, {"required": True}) == ["required"]


def test_an_empty_value_passes_when_not_required():
    assert validate(None, T.TEXT, {"max_length": 3, "pattern": "x"}) == []


def test_false_is_a_value_not_an_empty_one():
    assert validate(False, T.BOOLEAN, {"required": True}) == []


def test_max_length_counts_characters_and_says_how_many():
    assert validate("x" * 93, T.TEXT, {"max_length": 80}) == ["longer than 80 characters (93)"]
    assert validate("é" * 80, T.TEXT, {"max_length": 80}) == []


def test_pattern_must_match_the_whole_value():
    assert validate("CUST-12345", T.TEXT, {"pattern": r"CUST-\d+"}) == []
    assert validate("XCUST-12345", T.TEXT, {"pattern": r"CUST-\d+"}) == ["'XCUST-12345' does not match CUST-\\d+"]
    assert validate("CUST-12345x", T.TEXT, {"pattern": r"CUST-\d+"}) == ["'CUST-12345x' does not match CUST-\\d+"]


def test_pattern_is_not_run_on_huge_values():
    assert validate("a" * 20_000, T.TEXT, {"pattern": "a+"}) == [
        "too long to check against the pattern (20000 characters)"]


def test_choices_name_the_options():
    assert validate("Prospectt", T.CHOICE, {"choices": ["Lead", "Customer"]}) == [
        "'Prospectt' is not one of: Lead, Customer"]
    assert validate("Lead", T.CHOICE, {"choices": ["Lead", "Customer"]}) == []


def test_min_and_max_bound_numbers():
    assert validate("-1", T.NUMBER, {"min": 0}) == ["below minimum 0"]
    assert validate("1000.01", T.NUMBER, {"max": "1000"}) == ["above maximum 1000"]
    assert validate("0", T.NUMBER, {"min": 0, "max": 0}) == []


def test_min_and_max_bound_money_amounts():
    assert validate({"amount": "-0.01", "currency": "EUR"}, T.MONEY, {"min": 0}) == ["below minimum 0"]
    assert validate({"amount": "5.00", "currency": "EUR"}, T.MONEY, {"max": 4.5}) == ["above maximum 4.5"]


def test_several_broken_rules_are_all_reported():
    assert validate("abc", T.TEXT, {"max_length": 2, "pattern": r"\d+"}) == [
        "longer than 2 characters (3)", "'abc' does not match \\d+"]


@pytest.mark.parametrize(("value", "field_type", "reason"), [
    ({"amount": "abc", "currency": "EUR"}, T.MONEY, "'abc' is not an amount"),
    ({"amount": "1.00", "currency": "EURO"}, T.MONEY, "'EURO' is not a three-letter currency code"),
    ({"amount": "1.00", "currency": "XYZ"}, T.MONEY, "'XYZ' is not an ISO 4217 currency code"),
    ({"amount": "1.00"}, T.MONEY, "money needs exactly 'amount' and 'currency'"),
    ("12.50", T.MONEY, "expected an amount with a currency but got text"),
    ("2024-02-30", T.DATE, "'2024-02-30' is not a real date"),
    ("02/01/2024", T.DATE, "'02/01/2024' is not a date in the form YYYY-MM-DD"),
    ("2024-01-02T10:00:00", T.DATETIME, "has no time zone"),
    ("soon", T.DATETIME, "'soon' is not an ISO 8601 date and time"),
    ("yes", T.BOOLEAN, "'yes' is not true or false"),
    ("twelve", T.NUMBER, "'twelve' is not a number"),
    (["a"], T.LINE_ITEMS, "expected a list of line items"),
    ({"x": 1}, T.TEXT, "expected text but got an object"),
    ("a\x00b", T.TEXT, "contains a NUL character"),
])
def test_a_value_of_the_wrong_form_is_reported(value, field_type, reason):
    problems = validate(value, field_type, {})
    assert len(problems) == 1 and reason in problems[0]


def test_a_canonical_value_of_each_type_passes():
    for value, field_type in [("Acme", T.TEXT), ("12.5", T.NUMBER), ({"amount": "1.00", "currency": "EUR"}, T.MONEY),
                              ("2024-01-02", T.DATE), ("2024-01-02T10:00:00Z", T.DATETIME), (True, T.BOOLEAN),
                              ("lead", T.CHOICE), ("12", T.REFERENCE), ([{"sku": "A", "qty": "2"}], T.LINE_ITEMS)]:
        assert validate(value, field_type, {}) == [], field_type


def test_validate_compares_bounds_on_the_canonical_amount():
    assert validate({"amount": " 7 ", "currency": "eur"}, T.MONEY, {"max": 7}) == []


# --- check_rules ----------------------------------------------------------------------------------------

def test_sound_rules_have_no_problems():
    assert check_rules(T.TEXT, {"required": True, "max_length": 80, "pattern": r"[A-Z]\w*"}) == []
    assert check_rules(T.CHOICE, {"choices": ["Lead", "Customer"]}) == []
    assert check_rules(T.MONEY, {"min": 0, "max": "1000000"}) == []
    assert check_rules(T.TEXT, None) == []


@pytest.mark.parametrize(("field_type", "rules", "problem"), [
    (T.TEXT, {"pattern": "("}, "pattern does not compile: missing ), unterminated subpattern at position 0"),
    (T.TEXT, {"pattern": "(a+)+$"},
     "pattern repeats a group that itself repeats (like (a+)+), which can hang on some values"),
    (T.TEXT, {"pattern": r"(\w+\s?)*"},
     "pattern repeats a group that itself repeats (like (a+)+), which can hang on some values"),
    (T.TEXT, {"pattern": ""}, "pattern must be a non-empty regular expression"),
    (T.BOOLEAN, {"max_length": 5}, "max_length does not apply to boolean fields"),
    (T.TEXT, {"max_length": 0}, "max_length must be a whole number of at least 1 (got 0)"),
    (T.TEXT, {"max_length": True}, "max_length must be a whole number of at least 1 (got true)"),
    (T.NUMBER, {"min": 10, "max": 5}, "min 10 is greater than max 5"),
    (T.NUMBER, {"min": "ten"}, "min must be a number (got 'ten')"),
    (T.TEXT, {"min": 0}, "min does not apply to text fields"),
    (T.TEXT, {"choices": ["a"]}, "choices only apply to choice fields, not text"),
    (T.CHOICE, {"choices": []}, "choices must be a non-empty list of options"),
    (T.CHOICE, {"choices": ["a", "a"]}, "choices lists 'a' more than once"),
    (T.TEXT, {"required": "yes"}, "required must be true or false"),
    (T.TEXT, {"maxlength": 5}, "unknown validation rule 'maxlength' (known: required, max_length, pattern, choices, "
                               "min, max, required_for_create)"),
    (T.REFERENCE, {"required_for_create": 1}, "required_for_create must be true or false"),
    (T.DATE, {"pattern": r"\d+"}, "pattern does not apply to date fields"),
])
def test_broken_rules_are_reported_with_the_reason(field_type, rules, problem):
    assert check_rules(field_type, rules) == [problem]


def test_rules_that_are_not_an_object_are_reported():
    assert check_rules(T.TEXT, ["required"]) == ["validation must be an object of rule -> setting"]


def test_an_unknown_field_type_is_reported():
    assert check_rules("colour", {}) == ["unknown field type 'colour'"]


def test_safe_repeated_groups_are_accepted():
    assert check_rules(T.TEXT, {"pattern": r"[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"}) == []
    assert check_rules(T.TEXT, {"pattern": r"([a-z]+\.)+[a-z]{2,}"}) == []


# --- the compiled validator (hot path) ------------------------------------------------------------------

def test_no_rules_compile_to_no_validator():
    assert compile_validator(T.TEXT, {}) is None


def test_the_compiled_validator_joins_several_reasons():
    check = compile_validator(T.TEXT, {"required": True, "max_length": 2, "pattern": r"\d+"})
    assert check(None) == "required"
    assert check("12") is None
    assert check("abc") == "longer than 2 characters (3); 'abc' does not match \\d+"


def test_the_compiled_validator_keeps_sensitive_values_out_of_messages():
    check = compile_validator(T.CHOICE, {"choices": ["a", "b"]}, sensitive=True)
    assert check("secret") == "the value is not one of: a, b"
    check = compile_validator(T.TEXT, {"pattern": r"\d+"}, sensitive=True)
    assert check("secret") == "does not match the pattern \\d+"


def test_the_compiled_length_validator_matches_validate():
    check = compile_validator(T.TEXT, {"max_length": 80, "required": True})
    assert check("x" * 93) == "longer than 80 characters (93)"
    assert check("") == "required"
