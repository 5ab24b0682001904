"""The compiled pipeline: whole records both ways, field-level failures, and publish-time checks."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mapping.pipeline import MappingResult, RuleSpec, check_specs, compile_rules, spec_problems
from mapping.types import FieldType, MappingError

T = FieldType
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from mapping_pipeline import account_specs, records  # noqa: E402

TRIM = {"name": "trim", "params": {}}


def specs() -> list[RuleSpec]:
    return [
        RuleSpec("name", T.TEXT, "name", "companyName", [TRIM], [TRIM], {"required": True, "max_length": 20}),
        RuleSpec("credit_limit", T.MONEY, "credit_limit", "creditLimit",
                 [{"name": "money", "params": {"currency": "EUR"}}],
                 [{"name": "money", "params": {"currency_field": "currency.id", "vendor_type": "number",
                                               "currency_map": {"4": "EUR", "1": "USD"}}}], {"min": 0}),
        RuleSpec("stage", T.CHOICE, "lifecyclestage", "entityStatus.id",
                 [{"name": "picklist", "params": {"map": {"lead": "lead", "customer": "customer"}}}],
                 [{"name": "picklist", "params": {"map": {"6": "lead", "13": "customer"}}}],
                 {"choices": ["lead", "customer"]}),
        RuleSpec("city", T.TEXT, "city", "addressbook.items.0.addressbookaddress.city", [TRIM], [TRIM], {}),
        RuleSpec("updated", T.DATETIME, "hs_lastmodifieddate", "lastModifiedDate", [], [], {}),
    ]


CRM = {"name": " Acme ", "credit_limit": "5000", "lifecyclestage": "customer", "city": "Leeds",
       "hs_lastmodifieddate": "2024-01-02T10:11:12.345Z"}
ERP = {"companyName": "Acme", "creditLimit": 5000, "currency": {"id": "4", "refName": "EUR"},
       "entityStatus": {"id": "13"}, "addressbook": {"items": [{"addressbookaddress": {"city": "Leeds"}}]},
       "lastModifiedDate": "2024-01-02T10:11:12.345Z"}
CANONICAL = {"name": "Acme", "credit_limit": {"amount": "5000.00", "currency": "EUR"}, "stage": "customer",
             "city": "Leeds", "updated": "2024-01-02T10:11:12.345000Z"}


def test_a_crm_record_maps_to_canonical_values():
    assert compile_rules(specs(), "crm").to_canonical(CRM) == MappingResult(CANONICAL, {})


def test_an_erp_record_with_references_and_sublists_maps_to_the_same_values():
    assert compile_rules(specs(), "erp").to_canonical(ERP) == MappingResult(CANONICAL, {})


def test_canonical_values_map_to_each_vendor_shape():
    assert compile_rules(specs(), "erp").to_vendor(CANONICAL) == MappingResult({
        "companyName": "Acme", "creditLimit": 5000, "currency": {"id": "4"}, "entityStatus": {"id": "13"},
        "addressbook": {"items": [{"addressbookaddress": {"city": "Leeds"}}]},
        "lastModifiedDate": "2024-01-02T10:11:12.345000Z"}, {})
    assert compile_rules(specs(), "crm").to_vendor(CANONICAL).values["credit_limit"] == "5000.00"


def test_a_record_with_one_bad_field_keeps_the_others_and_names_the_bad_one():
    result = compile_rules(specs(), "crm").to_canonical({**CRM, "credit_limit": "lots"})
    assert result.errors == {"credit_limit": "'lots' is not an amount"}
    assert set(result.values) == {"name", "stage", "city", "updated"}
    assert not result.ok


def test_a_validation_failure_is_reported_like_a_transform_failure():
    result = compile_rules(specs(), "crm").to_canonical({**CRM, "name": "x" * 25, "credit_limit": "-1"})
    assert result.errors == {"name": "longer than 20 characters (25)", "credit_limit": "below minimum 0"}
    assert "name" not in result.values


def test_missing_and_empty_fields_map_to_none_and_required_ones_fail():
    result = compile_rules(specs(), "crm").to_canonical({"name": "", "city": None})
    assert result.errors == {"name": "required"}
    assert result.values == {"credit_limit": None, "stage": None, "city": None, "updated": None}


def test_text_that_trims_to_nothing_is_empty():
    assert compile_rules(specs(), "crm").to_canonical({**CRM, "city": "   "}).values["city"] is None


def test_to_vendor_writes_only_the_fields_given_and_clears_with_none():
    result = compile_rules(specs(), "crm").to_vendor({"name": "Acme", "city": None})
    assert result == MappingResult({"name": "Acme", "city": None}, {})


def test_to_vendor_can_be_limited_to_some_fields():
    result = compile_rules(specs(), "erp").to_vendor(CANONICAL, only=["stage"])
    assert result.values == {"entityStatus": {"id": "13"}}


def test_to_vendor_reports_a_value_it_cannot_write_and_writes_the_rest():
    values = {**CANONICAL, "credit_limit": {"amount": "5.00", "currency": "JPY"}, "stage": "partner"}
    result = compile_rules(specs(), "erp").to_vendor(values)
    assert result.errors == {"credit_limit": "'JPY' has no currency map entry to write",
                             "stage": "'partner' is not one of: lead, customer"}
    assert "creditLimit" not in result.values and "currency" not in result.values
    assert result.values["companyName"] == "Acme"


def test_to_vendor_refuses_a_value_that_is_not_in_canonical_form():
    result = compile_rules(specs(), "crm").to_vendor({"updated": "yesterday", "credit_limit": 12.5})
    assert result.errors == {"updated": "'yesterday' is not an ISO 8601 date and time",
                             "credit_limit": "expected an amount with a currency but got a number: 12.5 "
                                             "(add a money transform that names the currency)"}


def test_a_field_without_a_path_on_a_side_is_not_mapped_there():
    only_crm = RuleSpec("score", T.NUMBER, "hs_score", "", [{"name": "number", "params": {}}], [], {})
    assert compile_rules([only_crm], "erp").fields == ()
    assert compile_rules([only_crm], "crm").to_canonical({"hs_score": "7.50"}).values == {"score": "7.5"}


def test_a_sensitive_field_keeps_its_value_out_of_errors():
    spec = RuleSpec("tax_id", T.TEXT, "tax_id", "vatRegNumber", [], [], {"pattern": r"GB\d{9}"}, sensitive=True)
    mapper = compile_rules([spec], "crm")
    assert mapper.to_canonical({"tax_id": "GB12"}).errors == {"tax_id": "does not match the pattern GB\\d{9}"}
    spec = RuleSpec("salary", T.NUMBER, "salary", "salary", [{"name": "number", "params": {}}], [], {},
                    sensitive=True)
    result = compile_rules([spec], "crm").to_canonical({"salary": "lots"})
    assert result.errors == {"salary": "the value is not a number"}


def test_a_record_that_is_not_an_object_fails_every_field_without_raising():
    result = compile_rules(specs(), "crm").to_canonical(["not", "a", "record"])
    assert set(result.errors) == {"name", "credit_limit", "stage", "city", "updated"}
    assert result.values == {}


def test_concat_reads_several_paths_and_writes_them_back():
    spec = RuleSpec("contact_name", T.TEXT, ["firstname", "lastname"], ["firstName", "lastName"],
                    [{"name": "concat", "params": {}}], [{"name": "concat", "params": {}}], {"max_length": 60})
    crm = compile_rules([spec], "crm")
    assert crm.to_canonical({"firstname": "Mary Ann", "lastname": "Smith"}).values == {"contact_name": "Mary Ann Smith"}
    assert compile_rules([spec], "erp").to_vendor({"contact_name": "Mary Ann Smith"}).values == {
        "firstName": "Mary Ann", "lastName": "Smith"}
    assert crm.to_vendor({"contact_name": None}).values == {"firstname": None, "lastname": None}


def test_split_part_fields_share_one_vendor_text_and_are_written_together():
    lines = [RuleSpec(f"line{index + 1}", T.TEXT, "address", f"addr{index + 1}",
                      [{"name": "split_part", "params": {"index": index}}], [], {}) for index in range(2)]
    crm = compile_rules(lines, "crm")
    assert crm.to_canonical({"address": "1 High St\nUnit 4"}).values == {"line1": "1 High St", "line2": "Unit 4"}
    assert crm.to_vendor({"line1": "2 Low St", "line2": "Unit 5"}).values == {"address": "2 Low St\nUnit 5"}
    assert crm.to_vendor({"line1": "2 Low St", "line2": None}).values == {"address": "2 Low St"}
    assert crm.to_vendor({"line1": "2 Low St", "line2": "Unit 5"}, only=["line2"]).values == {
        "address": "2 Low St\nUnit 5"}


def test_hostile_strings_give_errors_or_pass_through_safely():
    result = compile_rules(specs(), "crm").to_canonical({
        **CRM, "name": "a\x00b", "city": "\u200fלונדון 😀", "credit_limit": "9" * 10_000_000,
        "lifecyclestage": {"nested": ["garbage"]}})
    assert result.errors == {
        "name": "'a\\x00b' contains a NUL character, which cannot be stored",
        "credit_limit": "'9999999999999999999999999999999999999999'… (10000000 characters) is not an amount",
        "stage": "expected a single value but got an object: {'nested': ['garbage']}",
    }
    assert result.values["city"] == "\u200fלונדון 😀"


def test_a_text_longer_than_any_field_is_refused_before_validation():
    result = compile_rules(specs(), "crm").to_canonical({**CRM, "city": "x" * 10_000_000})
    assert result.errors["city"] == ("'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… (10000000 characters) is longer "
                                     "than the 100000-character limit for any text")


class Fields(dict):
    """Vendor fields in a dict subclass: read by the per-field readers, not the compiled whole-record reader."""


def test_an_unexpected_exception_in_a_field_is_contained(monkeypatch):
    from mapping.transforms import TRANSFORMS, Compiled
    from mapping.transforms.base import _same_text

    def boom(value, record):
        raise RuntimeError("boom")
    trim = TRANSFORMS["trim"]
    build = trim.build
    monkeypatch.setattr(trim, "build", lambda params, path: Compiled(boom, _same_text) if path == "name"
                        else build(params, path))
    mapper = compile_rules(specs(), "crm")
    # a dict (the compiled whole-record reader) and a dict subclass (the per-field loop) fail alike
    for record in (CRM, Fields(CRM)):
        result = mapper.to_canonical(record)
        assert result.errors == {"name": "unexpected error while mapping (RuntimeError: boom)"}
        assert "city" in result.values


def test_the_whole_record_reader_gives_what_the_per_field_readers_give():
    """Dicts take the compiled reader (paths walked inline, pure transforms remembered); other mappings the
    per-field loop: the same values and the same errors, record after record (the memo included)."""
    for side, sample in (("crm", CRM), ("erp", ERP)):
        mapper = compile_rules(specs(), side)
        broken = {**sample, "name": None, "lifecyclestage": "nope", "entityStatus": {"id": "99"},
                  "credit_limit": "abc", "creditLimit": "abc", "city": 12}
        for record in [sample, broken, sample, broken, {}, {"addressbook": {"items": "x"}}]:
            assert mapper.to_canonical(record) == mapper.to_canonical(Fields(record))
    crm_records, erp_records = records(300)
    for side, sample in (("crm", crm_records), ("erp", erp_records)):
        mapper = compile_rules(account_specs(), side)
        for record in sample * 2:  # the second time from the memo
            assert mapper.to_canonical(record) == mapper.to_canonical(Fields(record))


def test_compile_rules_names_the_field_that_cannot_compile():
    bad = RuleSpec("stage", T.CHOICE, "stage", "stage", [{"name": "picklist", "params": {}}], [], {})
    with pytest.raises(MappingError, match="stage: CRM side cannot compile: picklist: picklist map must be"):
        compile_rules([bad], "crm")
    with pytest.raises(MappingError, match="side must be 'crm' or 'erp'"):
        compile_rules([], "warehouse")


def test_the_account_rule_set_round_trips_every_generated_record():
    account = account_specs()
    crm_records, erp_records = records(300)
    crm, erp = compile_rules(account, "crm"), compile_rules(account, "erp")
    for crm_record, erp_record in zip(crm_records, erp_records, strict=True):
        from_crm, from_erp = crm.to_canonical(crm_record), erp.to_canonical(erp_record)
        assert from_crm.ok and from_erp.ok, (from_crm.errors, from_erp.errors)
        for mapper, values in ((erp, from_crm.values), (crm, from_erp.values)):
            written = mapper.to_vendor(values)
            assert written.ok, written.errors
            assert mapper.to_canonical(written.values).values == values


# --- check_specs -----------------------------------------------------------------------------------------

def test_sound_specs_have_no_problems():
    assert check_specs(specs(), {"name", "credit_limit", "lifecyclestage", "city", "hs_lastmodifieddate"},
                       {"companyName", "creditLimit", "currency", "entityStatus", "addressbook",
                        "lastModifiedDate"}) == []
    assert check_specs(account_specs()) == []


def test_a_path_the_system_does_not_have_is_reported():
    problems = check_specs(specs(), {"name"}, None)
    assert "credit_limit: CRM path 'credit_limit' is not a field of the CRM system" in problems
    assert "city: CRM path 'city' is not a field of the CRM system" in problems


def test_a_money_currency_field_the_system_does_not_have_is_reported():
    problems = check_specs(specs()[1:2], None, {"creditLimit"})
    assert problems == ["credit_limit: ERP path 'currency.id' (money currency_field) is not a field of the ERP system"]


def test_a_money_field_without_a_currency_source_is_reported():
    spec = RuleSpec("balance", T.MONEY, "balance", "balance", [{"name": "cents_to_units", "params": {}}], [], {})
    assert check_specs([spec]) == [
        "balance: money field has no currency source on the CRM side "
        "(add a money transform with currency or currency_field)",
        "balance: money field has no currency source on the ERP side "
        "(add a money transform with currency or currency_field)"]


def test_money_must_be_the_last_transform():
    spec = RuleSpec("balance", T.MONEY, "balance", "balance",
                    [{"name": "money", "params": {"currency": "EUR"}}, {"name": "cents_to_units", "params": {}}],
                    [{"name": "money", "params": {"currency": "EUR"}}], {})
    assert check_specs([spec]) == [
        "balance: CRM side: money must be the last transform (it makes the amount and currency)"]


def test_a_transform_that_cannot_apply_to_the_field_type_is_reported():
    spec = RuleSpec("active", T.BOOLEAN, "active", "isinactive", [{"name": "trim", "params": {}}],
                    [{"name": "boolean", "params": {}}], {})
    assert check_specs([spec]) == [
        "active: CRM side: trim does not apply to boolean fields (only to: choice, reference, text)"]


def test_an_unknown_transform_is_reported():
    spec = RuleSpec("name", T.TEXT, "name", "companyName", [{"name": "strip", "params": {}}], [], {})
    assert check_specs([spec]) == [
        "name: CRM side: unknown transform 'strip' (known: boolean, case, cents_to_units, concat, country, "
        "currency_code, date_format, datetime_format, line_items, money, number, phone_e164, picklist, split_part, "
        "trim)"]


def test_picklist_gaps_against_the_validation_choices_and_vendor_options_are_reported():
    spec = RuleSpec("stage", T.CHOICE, "lifecyclestage", "entityStatus.id",
                    [{"name": "picklist", "params": {"map": {"lead": "lead"}}}],
                    [{"name": "picklist", "params": {"map": {"6": "lead", "13": "customer"}}}],
                    {"choices": ["lead", "customer"]})
    assert check_specs([spec], crm_options={"lifecyclestage": ["lead", "Prospect"]}) == [
        "stage: CRM side: picklist map has no CRM value for the choice 'customer'",
        "stage: CRM side: picklist map has no entry for CRM value 'Prospect' and unknown='reject'"]


def test_bad_validation_rules_are_reported():
    spec = RuleSpec("name", T.TEXT, "name", "companyName", [], [], {"pattern": "(", "min": 1})
    assert check_specs([spec]) == ["name: pattern does not compile: missing ), unterminated subpattern at position 0",
                                   "name: min does not apply to text fields"]


def test_several_paths_need_concat_and_concat_needs_several_paths():
    spec = RuleSpec("contact", T.TEXT, ["firstname", "lastname"], "fullName", [TRIM],
                    [{"name": "concat", "params": {}}], {})
    assert check_specs([spec]) == ["contact: CRM side: several paths need a concat transform first to join them",
                                   "contact: ERP side: concat needs several paths (a list of ERP fields)"]


def test_malformed_paths_and_transform_lists_are_reported():
    spec = RuleSpec("city", T.TEXT, "address..city", "city", ["trim"], [], {})  # type: ignore[list-item]
    assert check_specs([spec]) == ["city: CRM side: the field path 'address..city' has an empty part",
                                   'city: CRM side: transforms must be a list of {"name": ..., "params": ...}']


def test_a_field_defined_twice_and_a_path_written_twice_are_reported():
    one = RuleSpec("name", T.TEXT, "name", "companyName", [], [], {})
    two = RuleSpec("legal_name", T.TEXT, "name", "legalName", [], [], {})
    assert check_specs([one, one, two]) == [
        "name: the field is defined more than once",
        "legal_name, name: CRM path 'name' is written by more than one field (only split_part fields may share a path)"]


def test_an_unknown_field_type_is_reported():
    spec = RuleSpec("x", "colour", "x", "x", [], [], {})  # type: ignore[arg-type]
    assert check_specs([spec]) == ["x: unknown field type 'colour' (known: text, number, money, date, datetime, "
                                   "boolean, choice, reference, line_items)"]


def test_spec_problems_gives_one_rules_reasons_without_the_field_prefix():
    spec = RuleSpec("balance", T.MONEY, "balance", "", [], [], {})
    assert spec_problems(spec) == [
        "money field has no currency source on the CRM side (add a money transform with currency or currency_field)"]
