"""Vendor field paths: getters never raise, setters build what is missing."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.paths import PathError, compile_path, get_path, path_problems, root, set_path

NETSUITE = {"companyName": "Acme", "currency": {"id": "4", "refName": "EUR"},
            "addressbook": {"items": [{"addressbookaddress": {"addr1": "1 High St", "city": "London"}}]}}


def test_a_top_level_path_reads_the_field():
    assert get_path({"city": "Leeds"}, "city") == "Leeds"


def test_a_dotted_path_reads_inside_a_reference():
    assert get_path(NETSUITE, "currency.refName") == "EUR"


def test_a_numeric_part_indexes_a_list():
    assert get_path(NETSUITE, "addressbook.items.0.addressbookaddress.addr1") == "1 High St"


def test_a_numeric_part_also_works_as_an_object_key():
    assert get_path({"lines": {"0": "first"}}, "lines.0") == "first"


@pytest.mark.parametrize("record", [
    {}, {"currency": None}, {"currency": "EUR"}, {"currency": ["EUR"]}, {"currency": 4}, None, "text", [1, 2], 42,
])
def test_a_getter_returns_none_for_missing_or_mistyped_parts(record):
    assert get_path(record, "currency.refName") is None


def test_a_getter_never_indexes_into_text():
    assert get_path({"name": "Acme"}, "name.0") is None


def test_a_getter_returns_none_past_the_end_of_a_list():
    assert get_path(NETSUITE, "addressbook.items.3.addressbookaddress.addr1") is None


def test_a_setter_creates_objects_and_lists_on_the_way():
    record: dict = {}
    set_path(record, "addressbook.items.1.addressbookaddress.addr1", "2 Low St")
    assert record == {"addressbook": {"items": [None, {"addressbookaddress": {"addr1": "2 Low St"}}]}}


def test_a_setter_keeps_what_is_already_there():
    record = {"currency": {"id": "4", "refName": "EUR"}}
    set_path(record, "currency.id", "2")
    assert record == {"currency": {"id": "2", "refName": "EUR"}}


def test_a_setter_sets_a_list_element_in_place():
    record = {"tags": ["a", "b"]}
    set_path(record, "tags.1", "z")
    assert record == {"tags": ["a", "z"]}


def test_a_setter_refuses_to_walk_through_text():
    with pytest.raises(PathError, match="'currency' holds str"):
        set_path({"currency": "EUR"}, "currency.id", "4")


def test_a_setter_refuses_a_record_that_is_not_an_object():
    setter = compile_path("city")[1]
    with pytest.raises(PathError, match="not an object"):
        setter(["not", "a", "dict"], "Leeds")


@pytest.mark.parametrize(("path", "reason"), [
    ("", "the field path is empty"),
    ("a..b", "the field path 'a..b' has an empty part"),
    ("a.b c", "has a part with characters a field name cannot have: 'b c'"),
    ("items.1000", "has a list index above 999: 1000"),
    ("x" * 301, "the field path is longer than 300 characters"),
])
def test_malformed_paths_are_refused_with_the_reason(path, reason):
    assert any(reason in problem for problem in path_problems(path))
    with pytest.raises(PathError):
        compile_path(path)


def test_a_path_that_is_not_text_is_refused():
    assert path_problems(["a", "b"]) == ["a field path must be text, not list"]
    with pytest.raises(PathError, match="must be text"):
        compile_path(["a"])  # type: ignore[arg-type]


def test_root_is_the_top_level_field():
    assert root("currency.refName") == "currency"
    assert root("city") == "city"


def test_compiled_paths_are_cached():
    assert compile_path("currency.id") is compile_path("currency.id")


parts = st.lists(st.from_regex(r"[a-z][a-zA-Z0-9_]{0,8}", fullmatch=True) | st.integers(0, 5).map(str),
                 min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(parts, st.one_of(st.text(max_size=5), st.integers(), st.none()))
def test_whatever_a_setter_writes_its_getter_reads_back(path_parts, value):
    path = ".".join(path_parts)
    getter, setter = compile_path(path)
    record: dict = {}
    setter(record, value)
    assert getter(record) == value


@settings(max_examples=150, deadline=None)
@given(parts, st.recursive(st.none() | st.text(max_size=3) | st.integers(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                         max_size=3),
                           max_leaves=8))
def test_a_getter_never_raises_on_any_structure(path_parts, record):
    compile_path(".".join(path_parts))[0](record)


def test_a_selector_picks_the_line_by_its_flag_not_its_position():
    from mapping.paths import get_path

    record = {"addressBook": [{"defaultShipping": False, "addressBookAddress": {"zip": "62565"}},
                              {"defaultShipping": True, "addressBookAddress": {"zip": "62704"}}]}
    assert get_path(record, "addressBook.defaultShipping=true.addressBookAddress.zip") == "62704"
    assert get_path(record, "addressBook.defaultBilling=true.addressBookAddress.zip") is None
    assert get_path({"addressBook": "not a list"}, "addressBook.defaultShipping=true.addressBookAddress.zip") is None


def test_a_selector_setter_updates_the_matching_line_or_adds_one():
    from mapping.paths import set_path

    record = {"addressBook": [{"defaultShipping": True, "addressBookAddress": {"zip": "1"}}]}
    set_path(record, "addressBook.defaultShipping=true.addressBookAddress.zip", "62704")
    set_path(record, "addressBook.defaultBilling=true.addressBookAddress.city", "Springfield")
    assert record["addressBook"] == [
        {"defaultShipping": True, "addressBookAddress": {"zip": "62704"}},
        {"defaultBilling": True, "addressBookAddress": {"city": "Springfield"}},
    ]


def test_a_path_cannot_end_with_a_selector():
    from mapping.paths import path_problems

    assert path_problems("addressBook.defaultShipping=true") == [
        "the field path 'addressBook.defaultShipping=true' ends with a selector; name the field inside it"]
    problem = path_problems("addressBook.=true.city")[0]
    assert problem.startswith("the field path 'addressBook.=true.city' has a selector")


def test_a_line_selected_by_two_flags_is_split_before_one_flag_is_written():
    from mapping.paths import unshare_selected_lines

    book = [{"id": 7, "label": "Main", "defaultShipping": True, "defaultBilling": True,
             "addressBookAddress": {"addr1": "1 Harbour Road", "city": "Portsmouth"}}]
    lists = {"addressBook": book}
    unshare_selected_lines(lists, ["addressBook.defaultShipping=true.addressBookAddress.addr1"],
                           ["addressBook.defaultShipping=true.addressBookAddress.addr1",
                            "addressBook.defaultBilling=true.addressBookAddress.addr1"])
    billing, shipping = book
    assert (billing["id"], billing["defaultBilling"], billing["defaultShipping"]) == (7, True, False)
    assert "id" not in shipping and (shipping["defaultShipping"], shipping["defaultBilling"]) == (True, False)
    assert shipping["addressBookAddress"] == billing["addressBookAddress"]
    assert shipping["addressBookAddress"] is not billing["addressBookAddress"]  # writing one leaves the other


def test_lines_are_left_alone_when_nothing_else_reads_them_or_both_are_written():
    from mapping.paths import unshare_selected_lines

    ship = "addressBook.defaultShipping=true.addressBookAddress.addr1"
    bill = "addressBook.defaultBilling=true.addressBookAddress.addr1"
    shared = [{"defaultShipping": True, "defaultBilling": True, "addressBookAddress": {}}]
    unshare_selected_lines({"addressBook": shared}, [ship, bill], [ship, bill])
    assert len(shared) == 1
    alone = [{"defaultShipping": True, "addressBookAddress": {}}]
    unshare_selected_lines({"addressBook": alone}, [ship], [ship, bill])
    assert len(alone) == 1
