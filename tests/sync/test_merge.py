"""The three-way field merge, rule by rule, and the scenarios it decides (4, 5, 6, 9, 12, 15)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from integration_hub.sync.merge import (
    BlockedEdit,
    FieldPolicy,
    MergeResult,
    SideState,
    merge_record,
    same,
    settle_conflict,
)

MON = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TUE = MON + timedelta(days=1)


def erp_owned(name: str = "price", policy: str = "revert_and_log", **kwargs) -> FieldPolicy:
    return FieldPolicy(name, "erp", non_owner_policy=policy, **kwargs)


def crm_owned(name: str = "phone", policy: str = "revert_and_log", **kwargs) -> FieldPolicy:
    return FieldPolicy(name, "crm", non_owner_policy=policy, **kwargs)


def shared(name: str = "name", policy: str = "manual_review", **kwargs) -> FieldPolicy:
    return FieldPolicy(name, "shared", conflict_policy=policy, **kwargs)


def synced(values: dict, **changes) -> SideState:
    """A side that held ``values`` at the last sync and now holds them with ``changes``."""
    return SideState({**values, **changes}, dict(values))


def merge(policies, golden, crm=None, erp=None, **kwargs) -> MergeResult:
    sides = {side: state for side, state in (("crm", crm), ("erp", erp)) if state is not None}
    return merge_record(policies, golden, sides, **kwargs)


# Owned fields ---------------------------------------------------------------------------------------------------


def test_an_owner_change_flows_to_the_non_owner_and_moves_the_owner_base():
    golden = {"price": "10"}
    result = merge([erp_owned()], golden, crm=synced(golden), erp=synced(golden, price="12"))
    assert result.golden == {"price": "12"}
    assert result.writes == {"crm": {"price": "12"}}
    assert result.base == {"erp": {"price": "12"}}
    assert not result.conflicts and not result.blocked and not result.held


def test_a_non_owner_edit_is_reverted_and_logged():
    golden = {"price": "10"}
    result = merge([erp_owned()], golden, crm=synced(golden, price="9"), erp=synced(golden))
    assert result.golden == {}
    assert result.writes == {"crm": {"price": "10"}}
    assert result.base == {}
    [blocked] = result.blocked
    assert (blocked.field, blocked.side, blocked.attempted, blocked.kept) == ("price", "crm", "9", "10")
    assert "CRM edited an ERP-owned field" in blocked.reason and "reverted" in blocked.reason


def test_a_queued_non_owner_price_edit_waits_for_finance_and_never_reaches_the_erp():
    """A rep "fixes" a contract price in the CRM; prices are ERP-owned and queued for finance."""
    golden = {"price": {"amount": "100.00", "currency": "EUR"}, "name": "Acme"}
    policies = [erp_owned(policy="queue", approver_role="finance"), shared()]
    crm = SideState({"price": {"amount": "90.00", "currency": "EUR"}, "name": "Acme"}, golden, TUE)
    result = merge(policies, golden, crm=crm, erp=SideState(golden, golden, MON))
    assert result.writes == {} and result.golden == {} and result.base == {}
    assert result.held == {"price"}
    [conflict] = result.conflicts
    assert conflict.field == "price" and conflict.policy == "queue" and conflict.approver_role == "finance"
    assert conflict.crm_value == {"amount": "90.00", "currency": "EUR"}
    assert conflict.erp_value == golden["price"] and conflict.base == golden["price"]
    assert (conflict.crm_updated_at, conflict.erp_updated_at) == (TUE, MON)
    assert conflict.reason == "CRM edited an ERP-owned field (queued for finance approval)"


def test_a_rep_price_fix_under_revert_and_log_is_undone_and_the_rep_can_see_why():
    """The other rule for a non-owner's edit of a price: the edit is reverted in the CRM and logged with the reason."""
    golden = {"price": {"amount": "100.00", "currency": "EUR"}}
    crm = synced(golden, price={"amount": "90.00", "currency": "EUR"})
    result = merge([erp_owned(approver_role="finance")], golden, crm=crm, erp=synced(golden))
    assert result.writes == {"crm": {"price": golden["price"]}}
    assert "erp" not in result.writes and not result.conflicts
    assert result.blocked == [BlockedEdit("price", "crm", {"amount": "90.00", "currency": "EUR"}, golden["price"],
                                          result.blocked[0].reason)]


def test_when_both_change_an_owned_field_the_owner_wins_and_the_non_owner_edit_is_logged():
    golden = {"price": "10"}
    result = merge([erp_owned()], golden, crm=synced(golden, price="9"), erp=synced(golden, price="12"))
    assert result.golden == {"price": "12"}
    assert result.writes == {"crm": {"price": "12"}}
    assert result.base == {"erp": {"price": "12"}}
    [blocked] = result.blocked
    assert (blocked.side, blocked.attempted, blocked.kept) == ("crm", "9", "12")
    assert "ERP changed it too" in blocked.reason


def test_when_both_change_a_queued_owned_field_the_whole_field_is_held_for_the_approver():
    golden = {"price": "10", "terms": "net30"}
    policies = [erp_owned(policy="queue", approver_role="finance"), erp_owned("terms")]
    result = merge(policies, golden, crm=synced(golden, price="9"), erp=synced(golden, price="12", terms="net45"))
    assert result.held == {"price"}
    assert [c.field for c in result.conflicts] == ["price"]
    assert (result.conflicts[0].crm_value, result.conflicts[0].erp_value) == ("9", "12")
    assert "ERP changed it too" in result.conflicts[0].reason
    # The held field does not move at all; the rest of the record still flows.
    assert result.golden == {"terms": "net45"}
    assert result.writes == {"crm": {"terms": "net45"}}
    assert result.base == {"erp": {"terms": "net45"}}


def test_a_non_owner_edit_to_the_owners_value_is_agreement_not_a_blocked_edit():
    golden = {"price": "10"}
    result = merge([erp_owned(policy="queue")], golden, crm=synced(golden, price="12"),
                   erp=synced(golden, price="12"))
    assert result.golden == {"price": "12"} and result.writes == {}
    assert result.base == {"crm": {"price": "12"}, "erp": {"price": "12"}}
    assert not result.blocked and not result.conflicts


def test_a_non_owner_value_never_becomes_golden_while_the_owner_is_unknown():
    # A CRM-only account (not in the ERP yet) with a value in an ERP-owned field: the field waits for the ERP.
    result = merge([erp_owned(policy="queue"), erp_owned("terms")], {}, crm=SideState({"price": "9", "terms": "x"}, {}))
    assert result.unchanged and not result.held


def test_a_non_owner_edit_is_reverted_to_golden_when_the_owner_was_not_read():
    golden = {"price": "10"}
    result = merge([erp_owned()], golden, crm=synced(golden, price="9"), erp=SideState({}, golden))
    assert result.writes == {"crm": {"price": "10"}}
    assert [(b.attempted, b.kept) for b in result.blocked] == [("9", "10")]


def test_an_unwritable_non_owner_edit_is_logged_once_and_acknowledged():
    golden = {"price": "10"}
    policy = erp_owned(writes_to=frozenset({"erp"}))
    crm = synced(golden, price="9")
    result = merge([policy], golden, crm=crm, erp=synced(golden))
    assert result.writes == {} and result.golden == {}
    assert result.base == {"crm": {"price": "9"}}
    assert "not accepted" in result.blocked[0].reason
    again = merge([policy], golden, crm=SideState(crm.current, {"price": "9"}), erp=synced(golden))
    assert again.unchanged


def test_an_unknown_non_owner_policy_queues_rather_than_overwrites():
    golden = {"price": "10"}
    result = merge([erp_owned(policy="")], golden, crm=synced(golden, price="9"), erp=synced(golden))
    assert result.held == {"price"} and result.writes == {}
    assert "queued for RevOps approval" in result.conflicts[0].reason


# Shared fields --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("changer", ["crm", "erp"])
def test_a_shared_address_change_reaches_the_other_side_in_the_next_sync(changer):
    """A shipping address changed on either side reaches the other."""
    golden = {"ship_city": "Lyon", "ship_street": "1 Rue A"}
    policies = [shared("ship_city", "last_write_wins"), shared("ship_street", "last_write_wins")]
    edited = synced(golden, ship_city="Paris", ship_street="9 Rue B")
    other = "erp" if changer == "crm" else "crm"
    result = merge(policies, golden, **{changer: edited, other: synced(golden)})
    assert result.golden == {"ship_city": "Paris", "ship_street": "9 Rue B"}
    assert result.writes == {other: {"ship_city": "Paris", "ship_street": "9 Rue B"}}
    assert result.base == {changer: {"ship_city": "Paris", "ship_street": "9 Rue B"}}
    assert not result.conflicts and not result.resolved


def test_both_sides_changing_a_shared_field_to_the_same_value_writes_nothing():
    golden = {"name": "Acme"}
    result = merge([shared()], golden, crm=synced(golden, name="Acme Inc"), erp=synced(golden, name="Acme Inc"))
    assert result.golden == {"name": "Acme Inc"} and result.writes == {}
    assert result.base == {"crm": {"name": "Acme Inc"}, "erp": {"name": "Acme Inc"}}


def test_both_sides_renaming_a_shared_name_opens_one_conflict_and_holds_only_that_field():
    """Sales renamed the account, finance corrected the legal name; the rest keeps syncing."""
    golden = {"name": "Acme", "phone": "+33 1", "city": "Lyon"}
    policies = [shared(), crm_owned(), shared("city", "last_write_wins")]
    crm = SideState({**golden, "name": "Acme Rocket Co", "phone": "+33 2"}, golden, MON + timedelta(hours=14))
    erp = SideState({**golden, "name": "ACME SAS", "city": "Paris"}, golden, MON + timedelta(hours=15))
    result = merge(policies, golden, crm=crm, erp=erp)
    [conflict] = result.conflicts
    assert result.held == {"name"}
    assert (conflict.field, conflict.base, conflict.crm_value, conflict.erp_value) == (
        "name", "Acme", "Acme Rocket Co", "ACME SAS")
    assert (conflict.crm_updated_at, conflict.erp_updated_at) == (crm.updated_at, erp.updated_at)
    assert conflict.policy == "manual_review" and conflict.reason == "both changed (manual review)"
    assert conflict.read == {"crm", "erp"}
    assert "name" not in result.golden and all("name" not in w for w in result.writes.values())
    assert all("name" not in b for b in result.base.values())
    assert result.golden == {"phone": "+33 2", "city": "Paris"}
    assert result.writes == {"erp": {"phone": "+33 2"}, "crm": {"city": "Paris"}}


def test_last_write_wins_takes_the_later_edit_and_records_the_decision():
    golden = {"name": "Acme"}
    crm = SideState({"name": "Acme CRM"}, golden, TUE)
    erp = SideState({"name": "Acme ERP"}, golden, MON)
    result = merge([shared(policy="last_write_wins")], golden, crm=crm, erp=erp)
    assert result.golden == {"name": "Acme CRM"}
    assert result.writes == {"erp": {"name": "Acme CRM"}}
    assert result.base == {"crm": {"name": "Acme CRM"}}
    [decision] = result.resolved
    assert decision.winner == "crm" and (decision.crm_value, decision.erp_value) == ("Acme CRM", "Acme ERP")
    assert "last write wins" in decision.reason and not result.conflicts and not result.held


def test_first_write_wins_takes_the_earlier_edit():
    golden = {"name": "Acme"}
    crm = SideState({"name": "Acme CRM"}, golden, TUE)
    erp = SideState({"name": "Acme ERP"}, golden, MON)
    result = merge([shared(policy="first_write_wins")], golden, crm=crm, erp=erp)
    assert result.golden == {"name": "Acme ERP"} and result.writes == {"crm": {"name": "Acme ERP"}}
    assert result.resolved[0].winner == "erp"


@pytest.mark.parametrize("policy", ["last_write_wins", "first_write_wins"])
@pytest.mark.parametrize("stamps", [
    (MON, MON), (MON, None), (None, None), (MON.replace(tzinfo=None), TUE), ("2025-03-04T00:00:00Z", MON),
    (MON, MON.astimezone(UTC).replace(tzinfo=None)),
], ids=["equal", "one-missing", "both-missing", "naive", "text", "naive-other"])
def test_timestamp_policies_never_guess_on_equal_missing_or_unusable_times(policy, stamps):
    golden = {"name": "Acme"}
    crm = SideState({"name": "Acme CRM"}, golden, stamps[0])
    erp = SideState({"name": "Acme ERP"}, golden, stamps[1])
    result = merge([shared(policy=policy)], golden, crm=crm, erp=erp)
    assert result.held == {"name"} and result.writes == {} and result.golden == {}
    assert result.conflicts[0].policy == policy and "manual review" in result.conflicts[0].reason


def test_an_equal_instant_in_another_time_zone_is_a_tie():
    golden = {"name": "Acme"}
    paris = MON.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    result = merge([shared(policy="last_write_wins")], golden, crm=SideState({"name": "A"}, golden, MON),
                   erp=SideState({"name": "B"}, golden, paris))
    assert result.held == {"name"}


def test_an_unknown_conflict_policy_falls_back_to_manual_review():
    golden = {"name": "Acme"}
    result = merge([shared(policy="owner_wins")], golden, crm=synced(golden, name="A"), erp=synced(golden, name="B"))
    assert result.held == {"name"} and result.conflicts[0].policy == "owner_wins"
    assert "manual review" in result.conflicts[0].reason


# Neither side changed -------------------------------------------------------------------------------------------


def test_a_hub_edit_or_resolved_conflict_is_pushed_to_every_side_that_differs():
    golden = {"name": "Acme Group", "price": "11"}
    before = {"name": "Acme", "price": "10"}
    result = merge([shared(), erp_owned()], golden, crm=synced(before), erp=synced(before))
    assert result.golden == {}
    assert result.writes == {"crm": golden, "erp": golden}
    assert result.base == {}


def test_nothing_to_do_when_everything_agrees():
    golden = {"name": "Acme", "price": "10", "lines": [{"sku": "A", "qty": "2"}]}
    policies = [shared(), erp_owned(), shared("lines")]
    result = merge(policies, golden, crm=synced(golden), erp=synced(golden))
    assert result.unchanged and result == MergeResult()


def test_the_hubs_own_write_echoing_back_is_not_a_change():
    golden = {"price": "10"}
    first = merge([erp_owned()], golden, crm=synced(golden), erp=synced(golden, price="12"))
    # The write to the CRM succeeded: its base moved to the written value; the next pull reads it back.
    crm = SideState({"price": "12"}, {**golden, **first.writes["crm"]})
    erp = SideState({"price": "12"}, {**golden, **first.base["erp"]})
    echo = merge([erp_owned()], {**golden, **first.golden}, crm=crm, erp=erp)
    assert echo.unchanged


def test_a_retried_merge_after_a_crash_sends_the_same_writes():
    """A worker died before the writes were sent; the rerun decides exactly the same."""
    golden = {"name": "Acme", "price": "10"}
    crm = synced(golden, name="Acme Inc", price="9")
    erp = synced(golden, price="12")
    policies = [shared(), erp_owned()]
    first = merge(policies, golden, crm=crm, erp=erp)
    again = merge(policies, golden, crm=crm, erp=erp)
    assert first == again
    assert first.writes == {"erp": {"name": "Acme Inc"}, "crm": {"price": "12"}}


# Unknown (unread) fields and empty values -----------------------------------------------------------------------


def test_an_unread_field_is_not_a_change_and_is_not_blanked():
    golden = {"name": "Acme", "fax": None}
    result = merge([shared(), shared("fax")], golden, crm=SideState({}, {"name": "Acme", "fax": "1"}),
                   erp=synced(golden))
    assert result.unchanged


def test_an_unread_field_gets_a_golden_value_the_side_has_not_been_given():
    golden = {"name": "Acme Inc"}
    result = merge([shared()], golden, crm=SideState({}, {"name": "Acme"}), erp=synced(golden))
    assert result.writes == {"crm": {"name": "Acme Inc"}}
    # Once the hub has put it there (base), an unread field is not rewritten at every sync.
    assert merge([shared()], golden, crm=SideState({}, golden), erp=synced(golden)).unchanged


def test_a_present_none_is_a_real_deletion_that_flows():
    golden = {"fax": "+33 9"}
    result = merge([crm_owned("fax")], golden, crm=synced(golden, fax=None), erp=synced(golden))
    assert result.golden == {"fax": None}
    assert result.writes == {"erp": {"fax": None}}
    assert result.base == {"crm": {"fax": None}}


def test_a_non_owner_deleting_an_owned_value_is_reverted():
    golden = {"price": "10"}
    result = merge([erp_owned()], golden, crm=synced(golden, price=None), erp=synced(golden))
    assert result.writes == {"crm": {"price": "10"}} and result.blocked[0].attempted is None


# First sync of a link -------------------------------------------------------------------------------------------


def test_first_sync_takes_values_from_both_sides_into_an_empty_golden_record():
    crm = SideState({"name": "Acme", "phone": "+33 1", "fax": None}, {})
    erp = SideState({"name": None, "price": "10", "fax": None}, {})
    policies = [shared(), crm_owned(), erp_owned(), shared("fax")]
    result = merge(policies, {}, crm=crm, erp=erp)
    assert result.golden == {"name": "Acme", "phone": "+33 1", "price": "10", "fax": None}
    assert result.writes == {"erp": {"name": "Acme", "phone": "+33 1"}, "crm": {"price": "10"}}
    assert result.base == {"crm": {"name": "Acme", "phone": "+33 1", "fax": None}, "erp": {"price": "10", "fax": None}}
    assert not result.conflicts and not result.blocked


@pytest.mark.parametrize("policy", ["revert_and_log", "queue"])
def test_first_sync_the_owner_wins_an_owned_field_and_the_overwritten_value_is_logged(policy):
    crm = SideState({"price": "9"}, {})
    erp = SideState({"price": "10"}, {})
    result = merge([erp_owned(policy=policy)], {}, crm=crm, erp=erp)
    assert result.golden == {"price": "10"} and result.writes == {"crm": {"price": "10"}}
    assert not result.conflicts
    [blocked] = result.blocked
    assert (blocked.side, blocked.attempted, blocked.kept) == ("crm", "9", "10")
    assert "first sync" in blocked.reason


def test_first_sync_shared_different_values_apply_the_conflict_policy():
    crm = SideState({"name": "Acme"}, {}, MON)
    erp = SideState({"name": "ACME SAS"}, {}, TUE)
    manual = merge([shared()], {}, crm=crm, erp=erp)
    assert manual.held == {"name"} and manual.conflicts[0].base is None
    lww = merge([shared(policy="last_write_wins")], {}, crm=crm, erp=erp)
    assert lww.golden == {"name": "ACME SAS"} and lww.writes == {"crm": {"name": "ACME SAS"}}


def test_a_record_linked_on_one_side_only_writes_nothing_to_the_other():
    result = merge([shared(), crm_owned(), erp_owned()], {}, crm=SideState({"name": "Acme", "phone": "1"}, {}))
    assert result.golden == {"name": "Acme", "phone": "1"}
    assert result.writes == {} and set(result.base) == {"crm"}


# Schema drift and one-sided fields ------------------------------------------------------------------------------


def test_a_stopped_side_is_neither_read_nor_written():
    """The ERP stock field vanished; the field stops syncing there instead of writing stale values."""
    golden = {"stock": "200", "name": "Acme"}
    policies = [shared("stock", "last_write_wins", stopped=frozenset({"erp"})),
                shared("name", stopped=frozenset({"crm"}))]
    crm = synced(golden, stock="150", name="CRM name")
    erp = synced(golden, stock=None, name="ERP name")
    result = merge(policies, golden, crm=crm, erp=erp)
    assert result.golden == {"stock": "150", "name": "ERP name"}
    assert result.writes == {}
    assert result.base == {"crm": {"stock": "150"}, "erp": {"name": "ERP name"}}


def test_a_stopped_owner_leaves_golden_as_the_last_value_it_gave():
    golden = {"stock": "200"}
    policy = erp_owned("stock", stopped=frozenset({"erp"}))
    result = merge([policy], golden, crm=synced(golden), erp=synced(golden, stock=None))
    assert result.unchanged


def test_a_field_kept_only_in_the_hub_for_one_side_is_never_written_there():
    golden = {"segment": "smb"}
    policy = crm_owned("segment", writes_to=frozenset({"crm"}))
    result = merge([policy], golden, crm=synced(golden, segment="mid"), erp=SideState({}, {}))
    assert result.golden == {"segment": "mid"} and result.writes == {}


# Open conflicts and their resolution ----------------------------------------------------------------------------


def test_an_open_conflict_holds_the_field_with_no_new_conflict():
    golden = {"name": "Acme", "city": "Lyon"}
    crm = synced(golden, name="A", city="Paris")
    erp = synced(golden, name="B")
    result = merge([shared(), shared("city")], golden, crm=crm, erp=erp, open_conflicts=frozenset({"name"}))
    assert result.held == {"name"} and result.conflicts == []
    assert result.golden == {"city": "Paris"} and result.writes == {"erp": {"city": "Paris"}}


@pytest.mark.parametrize("chosen", ["A", "B", "Acme & Co"])
def test_settling_a_shared_conflict_pushes_the_chosen_value_to_every_side(chosen):
    golden = {"name": "Acme"}
    crm, erp = synced(golden, name="A"), synced(golden, name="B")
    [conflict] = merge([shared()], golden, crm=crm, erp=erp).conflicts
    golden_change, bases = settle_conflict(conflict, chosen)
    golden = {**golden, **golden_change}
    crm = SideState(crm.current, {**crm.base, **bases["crm"]})
    erp = SideState(erp.current, {**erp.base, **bases["erp"]})
    result = merge([shared()], golden, crm=crm, erp=erp)
    assert result.golden == {} and not result.conflicts
    held_before = {"crm": "A", "erp": "B"}
    assert result.writes == {side: {"name": chosen} for side in ("crm", "erp") if chosen != held_before[side]}


@pytest.mark.parametrize(("chosen", "writes"), [("9", {"erp": {"price": "9"}}), ("10", {"crm": {"price": "10"}})],
                         ids=["approved", "rejected"])
def test_settling_a_queued_price_edit_writes_the_approvers_choice(chosen, writes):
    golden = {"price": "10"}
    crm, erp = synced(golden, price="9"), synced(golden)
    policy = erp_owned(policy="queue", approver_role="finance")
    [conflict] = merge([policy], golden, crm=crm, erp=erp).conflicts
    golden_change, bases = settle_conflict(conflict, chosen)
    crm = SideState(crm.current, {**crm.base, **bases.get("crm", {})})
    erp = SideState(erp.current, {**erp.base, **bases.get("erp", {})})
    result = merge([policy], {**golden, **golden_change}, crm=crm, erp=erp)
    assert result.writes == writes and not result.blocked and not result.conflicts


def test_an_edit_made_after_the_conflict_opened_still_counts_after_settling():
    golden = {"name": "Acme"}
    crm, erp = synced(golden, name="A"), synced(golden, name="B")
    [conflict] = merge([shared(policy="last_write_wins")], golden, crm=crm, erp=erp).conflicts
    golden_change, bases = settle_conflict(conflict, "A")
    crm = SideState({"name": "A2"}, {**crm.base, **bases["crm"]})  # the rep edited again meanwhile
    erp = SideState(erp.current, {**erp.base, **bases["erp"]})
    result = merge([shared(policy="last_write_wins")], {**golden, **golden_change}, crm=crm, erp=erp)
    assert result.golden == {"name": "A2"} and result.writes == {"erp": {"name": "A2"}}


# Rule changes, determinism, odd values --------------------------------------------------------------------------


def test_a_rule_change_applies_on_the_next_merge_and_can_be_previewed():
    """RevOps moves phone ownership to the ERP; the same data previews differently."""
    golden = {"phone": "+33 1"}
    crm, erp = synced(golden, phone="+33 2"), synced(golden)
    before = merge([shared("phone", "last_write_wins")], golden, crm=crm, erp=erp)
    after = merge([erp_owned("phone")], golden, crm=crm, erp=erp)
    assert before.writes == {"erp": {"phone": "+33 2"}}
    assert after.writes == {"crm": {"phone": "+33 1"}} and after.blocked[0].attempted == "+33 2"


def test_a_field_listed_twice_is_merged_once_by_its_first_policy():
    golden = {"price": "10"}
    result = merge([erp_owned(), shared("price")], golden, crm=synced(golden, price="9"), erp=synced(golden))
    assert result.writes == {"crm": {"price": "10"}} and len(result.blocked) == 1


def test_side_order_in_the_input_does_not_change_the_result():
    golden = {"name": "Acme"}
    crm = SideState({"name": "A"}, golden, TUE)
    erp = SideState({"name": "B"}, golden, MON)
    policies = [shared(policy="last_write_wins")]
    assert merge_record(policies, golden, {"crm": crm, "erp": erp}) == merge_record(
        policies, golden, {"erp": erp, "crm": crm})


def test_money_and_line_items_compare_by_value():
    golden = {"price": {"amount": "10.00", "currency": "EUR"}, "lines": [{"sku": "A", "qty": "1"}]}
    reordered = {"price": {"currency": "EUR", "amount": "10.00"}, "lines": [{"qty": "1", "sku": "A"}]}
    assert merge([shared("price"), shared("lines")], golden, crm=SideState(reordered, golden),
                 erp=synced(golden)).unchanged
    moved = {**golden, "lines": [{"sku": "A", "qty": "1"}, {"sku": "B", "qty": "2"}]}
    result = merge([shared("price"), shared("lines")], golden, crm=SideState(moved, golden), erp=synced(golden))
    assert result.writes == {"erp": {"lines": moved["lines"]}}


def nested(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


class Unequal:
    def __eq__(self, other):
        raise RuntimeError("no")

    __hash__ = object.__hash__


@pytest.mark.parametrize(("a", "b", "expected"), [
    (1, True, False), (0, False, False), (True, True, True), (1, 1.0, True), (Decimal("1.0"), Decimal("1"), True),
    (float("nan"), float("nan"), True), (Decimal("NaN"), Decimal("NaN"), True), (Decimal("sNaN"), 1, False),
    ("1", 1, False), (None, "", False), ({"a": 1}, {"a": 1, "b": None}, False), ([1, 2], (1, 2), True),
    ([1, 2], [2, 1], False), ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
    (nested(5000), nested(5000), False), (Unequal(), Unequal(), False), (b"x", "x", False),
])
def test_values_compare_structurally_and_odd_ones_never_raise(a, b, expected):
    assert same(a, b) is expected


def test_odd_values_flow_through_the_merge_without_raising():
    odd = [float("nan"), Decimal("sNaN"), nested(5000), Unequal(), {"amount": None}, [], {}, b"\x00", 10 ** 400]
    policies = [shared(f"f{i}", "last_write_wins") for i in range(len(odd))] + [erp_owned(f"o{i}") for i in range(3)]
    crm = SideState({**{f"f{i}": v for i, v in enumerate(odd)}, "o0": odd[0], "o1": odd[3]}, {}, "yesterday")
    erp = SideState({f"f{i}": "x" for i in range(len(odd))} | {"o0": "1", "o1": Unequal()}, {"f0": None}, MON)
    result = merge(policies, {"o2": odd[2]}, crm=crm, erp=erp)
    assert isinstance(result, MergeResult)


def test_last_write_wins_never_orders_two_edits_less_than_a_second_apart():
    """NetSuite stamps whole seconds: an ERP edit stamped 12:00:00 may have been made at 12:00:00.9, after a CRM
    edit at 12:00:00.3. Edits that close are held for a person instead of being ordered by a guess."""
    from datetime import UTC, datetime, timedelta

    at = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    golden = {"name": "A"}
    crm = SideState({"name": "B"}, golden, at + timedelta(milliseconds=300))
    erp = SideState({"name": "C"}, golden, at)
    close = merge([shared(policy="last_write_wins")], golden, crm=crm, erp=erp)
    assert [c.field for c in close.conflicts] == ["name"] and not close.golden
    apart = merge([shared(policy="last_write_wins")], golden, crm=crm,
                  erp=SideState({"name": "C"}, golden, at - timedelta(seconds=1)))
    assert apart.golden == {"name": "B"} and [r.winner for r in apart.resolved] == ["crm"]
