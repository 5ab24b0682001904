"""Deciding a conflict: the golden record, both sandboxes, stale values refused, typed values checked, audit."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from connectors.models import ConnectedSystem
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncRun
from reconciliation.conflicts import services
from reconciliation.conflicts.models import Conflict
from tests.conflicts.conftest import edit, external_id, sync

pytestmark = pytest.mark.django_db


def test_taking_the_erp_name_reaches_the_crm_and_the_golden_record(live, revops_user, pushed):
    globex = live.name.record
    assert live.name.status == "open" and live.name.crm_value == "Globex (Sales East)"

    with pushed:
        decided = services.conflict_decide(conflict=live.name, choice="erp", user=revops_user,
                                           comment="legal name from finance")

    assert decided.status == "resolved" and decided.chosen_value == "Globex Corp."
    assert decided.decided_by == revops_user and decided.comment == "legal name from finance"
    globex.refresh_from_db()
    assert globex.values["name"] == "Globex Corp."
    assert live.company(globex)["name"] == "Globex Corp."  # pushed to HubSpot
    assert live.customer(globex)["companyName"] == "Globex Corp."  # NetSuite already had it
    run = SyncRun.objects.get(pk=decided.decision_run_id)
    assert run.trigger == "decision" and run.requested_by == revops_user
    sent = OutboundChange.objects.get(run=run, record=globex)
    assert sent.side == "crm" and sent.status == OutboundStatus.SENT and sent.values == {"name": "Globex Corp."}
    again = sync(live.account)  # nothing bounces back, no new conflict
    assert again.counts["conflicts"] == 0 and not Conflict.objects.filter(record=globex, status="open").exists()


def test_a_typed_value_is_written_to_both_systems(live, revops_user, pushed):
    globex = live.name.record
    with pushed:
        decided = services.conflict_decide(conflict=live.name, choice="value", value="  Globex Holdings ",
                                           user=revops_user)
    assert decided.chosen_value == "Globex Holdings" and decided.decision == "value"
    assert live.company(globex)["name"] == "Globex Holdings"
    assert live.customer(globex)["companyName"] == "Globex Holdings"
    globex.refresh_from_db()
    assert globex.values["name"] == "Globex Holdings" and globex.provenance["name"]["actor"] == revops_user.username


def test_finance_takes_the_reps_price_and_it_reaches_the_erp_that_owns_it(live, finance_user, pushed):
    conflict = live.price_conflict
    assert conflict.approver_role == "finance" and conflict.crm_value == {"amount": "11.00", "currency": "USD"}
    with pytest.raises(ValidationError) as refused:
        services.conflict_decide(conflict=conflict, choice="crm", user=finance_user)
    assert "comment" in refused.value.message_dict  # finance fields need a reason
    with pushed:
        services.conflict_decide(conflict=conflict, choice="crm", user=finance_user, comment="agreed discount")
    item = live.netsuite.store.table("inventoryItem")[external_id(conflict.record, live.price.erp_system)]
    assert item["basePrice"] == 11.0


def test_shadow_mode_stores_the_decisions_write_and_sends_nothing(client, live, revops_user, pushed):
    globex = live.name.record
    ConnectedSystem.objects.filter(pk=live.account.crm_system_id).update(rollout_stage="shadow")
    client.force_login(revops_user)
    page = client.get(f"/conflicts/{live.name.pk}/").content.decode()
    assert 'CRM · HubSpot <span class="badge badge-grey"' in page  # the page says the CRM is in shadow
    with pushed:
        decided = services.conflict_decide(conflict=live.name, choice="erp", user=revops_user)
    change = OutboundChange.objects.get(run_id=decided.decision_run_id, record=globex)
    assert change.status == OutboundStatus.SHADOW and change.values == {"name": "Globex Corp."}
    assert live.company(globex)["name"] == "Globex (Sales East)"  # the CRM was not written


def test_a_side_that_changed_since_is_refused_and_the_conflict_refreshed(live, revops_user):
    globex = live.name.record
    edit(live.account.crm_system, "companies", external_id(globex, live.account.crm_system),
         {"name": "Globex (Sales West)"})
    with pytest.raises(services.ConflictStale) as stale:
        services.conflict_decide(conflict=live.name, choice="erp", user=revops_user)
    assert "changed since — review again" in str(stale.value) and "CRM" in str(stale.value)
    conflict = Conflict.objects.get(pk=live.name.pk)
    assert conflict.status == "open" and conflict.crm_value == "Globex (Sales West)"
    assert conflict.erp_value == "Globex Corp."
    globex.refresh_from_db()
    assert globex.values["name"] == "Globex Corporation"  # nothing applied
    assert live.company(globex)["name"] == "Globex (Sales West)"
    # Reviewed again on the fresh values, the decision goes through.
    decided = services.conflict_decide(conflict=conflict, choice="crm", user=revops_user)
    assert decided.chosen_value == "Globex (Sales West)"


def test_typed_values_are_checked_against_the_fields_rule(live, revops_user, finance_user):
    cases = [
        (live.name, revops_user, "x" * 90, "longer than 83 characters"),
        (live.name, revops_user, "", "required"),
        (live.price_conflict, finance_user, "-3", "below minimum 0"),
        (live.price_conflict, finance_user, "twelve", "'twelve' is not an amount"),
        (live.price_conflict, finance_user, "12.50 XYZ", "'XYZ' is not an ISO 4217 currency code"),
    ]
    for conflict, user, typed, reason in cases:
        with pytest.raises(ValidationError) as invalid:
            services.conflict_decide(conflict=conflict, choice="value", value=typed, user=user, comment="typed")
        assert [m for m in invalid.value.message_dict["value"] if reason in m], (typed, invalid.value)
    assert Conflict.objects.filter(status="open").count() == 2  # nothing applied


def test_a_typed_price_takes_the_conflicts_currency(live, finance_user, pushed):
    with pushed:
        decided = services.conflict_decide(conflict=live.price_conflict, choice="value", value="12", user=finance_user,
                                           comment="new list price")
    assert decided.chosen_value == {"amount": "12.00", "currency": "USD"}


def test_rejecting_keeps_both_sides_and_the_pair_stays_diverged(live, revops_user, pushed):
    globex = live.name.record
    with pushed:
        decided = services.conflict_decide(conflict=live.name, choice="reject", user=revops_user,
                                           comment="two legal entities, both right")
    assert decided.status == "rejected" and decided.decision_run_id is None
    edit(live.account.crm_system, "companies", external_id(globex, live.account.crm_system), {"city": "Dallas"})
    sync(live.account)  # the record is read again: the name pair is still the rejected one
    assert not Conflict.objects.filter(record=globex, field="name", status="open").exists()
    # the engine holds the diverged field itself: no new conflict row is even opened for it
    assert list(Conflict.objects.filter(record=globex, field="name")) == [live.name]
    assert live.company(globex)["name"] == "Globex (Sales East)"
    assert live.customer(globex)["companyName"] == "Globex Corp."
    globex.refresh_from_db()
    assert globex.values["shipping_city"] == "Dallas"  # the rest of the record still syncs
    # A new edit on either side is a new question for a person.
    edit(live.account.erp_system, "customer", external_id(globex, live.account.erp_system),
         {"companyName": "Globex Corp. (US)"})
    sync(live.account)
    reopened = Conflict.objects.get(record=globex, field="name", status="open")
    assert reopened.erp_value == "Globex Corp. (US)"


def test_each_decision_is_in_history_with_its_actor_and_comment(live, revops_user, finance_user, pushed):
    with pushed:
        services.conflict_decide(conflict=live.name, choice="crm", user=revops_user, comment="sales knows best")
        services.conflict_decide(conflict=live.price_conflict, choice="erp", user=finance_user,
                                 comment="list price stands")
    for conflict, user, comment in ((live.name, revops_user, "sales knows best"),
                                    (live.price_conflict, finance_user, "list price stands")):
        latest = Conflict.history.filter(id=conflict.pk).latest()
        assert latest.status == "resolved" and latest.history_actor == user.username
        assert latest.history_user == user and comment in latest.history_change_reason
    record_row = live.name.record.history.latest()
    assert record_row.history_actor == revops_user.username and "sales knows best" in record_row.history_change_reason


def test_a_decided_conflict_cannot_be_decided_again(live, revops_user, pushed):
    with pushed:
        services.conflict_decide(conflict=live.name, choice="crm", user=revops_user)
    with pytest.raises(services.ConflictClosed):
        services.conflict_decide(conflict=Conflict.objects.get(pk=live.name.pk), choice="erp", user=revops_user)


def test_the_service_refuses_the_wrong_role_before_reading_anything(rows, revops_user, finance_user, viewer_user):
    for user, conflict in ((revops_user, rows.price_conflict), (finance_user, rows.name),
                           (viewer_user, rows.name), (viewer_user, rows.price_conflict)):
        with pytest.raises(PermissionDenied):
            services.conflict_decide(conflict=conflict, choice="crm", user=user, comment="x")
    assert not Conflict.objects.exclude(status="open").exists()
