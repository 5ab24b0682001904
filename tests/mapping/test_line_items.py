"""Line items: one canonical form read from and written to each vendor's lines, exactly, in Decimal."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.default_template import DEAL_RULES
from mapping.line_items import canonical_lines, line_amount, lines_total
from mapping.pipeline import RuleSpec, check_specs, compile_rules
from mapping.types import TransformError


def spec() -> RuleSpec:
    rule = next(r for r in DEAL_RULES if r["field"] == "lines")
    return RuleSpec(rule["field"], rule["field_type"], rule["crm_path"], rule["erp_path"], rule["crm_transforms"],
                    rule["erp_transforms"])


CRM, ERP = compile_rules([spec()], "crm"), compile_rules([spec()], "erp")


def money(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


def test_hubspot_lines_read_as_canonical_lines():
    deal = {"deal_currency_code": "USD", "line_items": [
        {"id": "7", "hs_product_id": "1017", "quantity": "500", "price": "12.50", "discount": "0.51",
         "amount": "5995.00"},
        {"id": "8", "hs_product_id": "1020", "quantity": "3", "price": "10", "hs_discount_percentage": "15"}]}
    assert CRM.to_canonical(deal).values["lines"] == [
        {"item": "1017", "quantity": "500", "unit_price": money("12.50"), "discount": money("0.51")},
        {"item": "1020", "quantity": "3", "unit_price": money("10.00"), "discount": money("1.50")}]


def test_netsuite_keeps_the_net_rate_and_the_discount_in_its_own_column():
    lines = [{"item": "101", "quantity": "500", "unit_price": money("12.50"), "discount": money("0.51")}]
    written = ERP.to_vendor({"lines": lines}).values["item"]
    assert written == [{"item": {"id": "101"}, "quantity": 500, "rate": 11.99, "custcol_hub_discount": 0.51}]
    read = ERP.to_canonical({"currency": "USD", "item": [{**written[0], "item": {"id": "101", "refName": "WID-100"},
                                                          "amount": 5995.0, "line": 1}]})
    assert read.values["lines"] == lines
    # An order keyed in the ERP (no hub column) reads as its net price with no discount.
    assert ERP.to_canonical({"currency": "USD", "item": [{"item": {"id": "9"}, "quantity": 2, "rate": 21.6}]}) \
        .values["lines"] == [{"item": "9", "quantity": "2", "unit_price": money("21.60"), "discount": money("0.00")}]


@pytest.mark.parametrize(("document", "reason"), [
    ({"deal_currency_code": "USD", "line_items": [{"hs_product_id": "1", "price": "2"}]}, "line 1 has no quantity"),
    ({"deal_currency_code": "USD", "line_items": [{"quantity": "1", "price": "2"}]}, "line 1 has no item"),
    ({"deal_currency_code": "USD", "line_items": [{"hs_product_id": "1", "quantity": "1", "price": "two"}]},
     "'two' is not a unit price"),
    ({"line_items": [{"hs_product_id": "1", "quantity": "1", "price": "2"}]}, "no currency in 'deal_currency_code'"),
])
def test_a_bad_line_holds_the_document_with_a_clear_reason(document, reason):
    result = CRM.to_canonical(document)
    assert "lines" not in result.values and reason in result.errors["lines"]


def test_amounts_and_totals_round_half_up_to_the_cent():
    lines = canonical_lines([{"item": "1", "quantity": "3", "unit_price": money("0.125"), "discount": None},
                             {"item": "2", "quantity": "1.5", "unit_price": money("10.00"), "discount": money("0.01")}])
    assert [line_amount(line) for line in lines] == [Decimal("0.38"), Decimal("14.99")]
    assert lines_total(lines) == Decimal("15.37") and lines_total([]) == Decimal("0.00")
    with pytest.raises(TransformError, match="unknown keys 'colour'"):
        canonical_lines([{"item": "1", "quantity": "1", "unit_price": money("1.00"), "colour": "red"}])


def test_the_template_lines_pass_the_publish_checks():
    assert check_specs([spec()]) == []
    broken = spec()
    broken.erp_transforms = [{"name": "line_items", "params": {"item": "item.id", "quantity": "quantity"}}]
    assert any("needs the unit_price path" in problem for problem in check_specs([broken]))


cents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2)


@st.composite
def lines_strategy(draw):
    lines = []
    for item in draw(st.lists(st.integers(1, 10**6).map(str), min_size=0, max_size=12)):
        price = draw(cents)
        discount = draw(st.decimals(min_value=Decimal("0.00"), max_value=price, places=2))
        quantity = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2))
        lines.append({"item": item, "quantity": str(quantity.normalize()) if quantity != quantity.to_integral()
                      else str(int(quantity)), "unit_price": money(str(price)), "discount": money(str(discount))})
    return canonical_lines(lines)


@settings(max_examples=300, deadline=None)
@given(lines=lines_strategy())
def test_written_lines_read_back_as_the_same_lines_in_both_systems(lines):
    for mapper, currency_field in ((CRM, "deal_currency_code"), (ERP, "currency")):
        vendor = mapper.to_vendor({"lines": lines})
        assert vendor.errors == {}
        root = next(iter(vendor.values))
        back = mapper.to_canonical({currency_field: "USD", root: vendor.values[root]})
        assert back.values["lines"] == lines
