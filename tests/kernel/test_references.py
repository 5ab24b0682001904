"""Golden ids ("record:<id>"): built from a record's id and read back, and nothing else taken for one."""
from __future__ import annotations

import pytest

from integration_hub.kernel.references import golden_id, has_golden_prefix, record_id_of
from mapping.types import FieldType
from reconciliation.conflicts.derive import account_id_of
from reconciliation.conflicts.values import parse_input


def test_a_golden_id_round_trips():
    assert golden_id(42) == "record:42"
    assert record_id_of(golden_id(42)) == 42
    assert record_id_of("record:0") == 0


@pytest.mark.parametrize("value", [None, 42, "42", "record:", "record:abc", "record:-1", "record:4 2", "Record:42",
                                   {"id": "42"}])
def test_anything_else_points_at_no_record(value):
    assert record_id_of(value) is None


def test_the_prefix_alone_says_a_value_is_written_as_a_golden_id():
    # the sync holds a reference written as a golden id whose id it cannot read, rather than sending it on
    assert has_golden_prefix("record:abc") and has_golden_prefix("record:42")
    assert not has_golden_prefix("42") and not has_golden_prefix(42) and not has_golden_prefix(None)


def test_a_typed_record_number_becomes_its_golden_id():
    assert parse_input("42", FieldType.REFERENCE) == "record:42"
    assert parse_input(42, FieldType.REFERENCE) == "record:42"
    assert parse_input("record:42", FieldType.REFERENCE) == "record:42"


def test_an_account_is_found_through_the_first_golden_reference():
    assert account_id_of("contact", 7, {"account": "record:12", "company": "record:13"}) == 12
    assert account_id_of("contact", 7, {"account": "hs-12", "customer": "record:13"}) == 13
    assert account_id_of("contact", 7, {"account": "record:x"}) is None
    assert account_id_of("account", 7, {"account": "record:12"}) == 7
