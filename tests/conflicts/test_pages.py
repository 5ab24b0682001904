"""The decision page: three values side by side with the record's context, the choices, next / previous,
refusals that say why, and the decision on the conflict and on the record's timeline afterwards."""
from __future__ import annotations

import pytest

from integration_hub.records.models import Record
from reconciliation.conflicts.models import Conflict
from tests.conflicts.conftest import edit, external_id, linked_record, make_conflict, publish_sensitive

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_values_the_context_and_the_neighbours(client, revops_user, rows):
    acme = rows.name.record
    order = linked_record(rows.mapping, "sales_order", {"order_number": "SO-1", "order_status": "Pending Fulfillment",
                                                        "customer": f"record:{acme.pk}"}, 40)
    linked_record(rows.mapping, "invoice", {"invoice_number": "INV-9", "status": "Paid In Full",
                                            "customer": f"record:{acme.pk}"}, 41)
    client.force_login(revops_user)
    html = client.get(f"/conflicts/{rows.name.pk}/").content.decode()
    sides = html[html.index('id="sides"'):html.index("</table>", html.index('id="sides"'))]
    assert '<td class="base">Acme Inc</td>' in sides and '<td class="crm">Acme (Sales)</td>' in sides
    assert '<td class="erp">Acme Incorporated</td>' in sides
    assert 'id="take-crm"' in html and 'id="take-erp"' in html and 'id="reject"' in html and 'id="use-value"' in html
    assert "credit_limit</dt><dd>5000.00 USD" in html  # the account's money facts
    assert f'href="/records/{order.pk}/">Sales order #{order.pk}</a> SO-1' in html  # open orders only
    assert "INV-9" not in html
    assert f'id="next" rel="next" href="/conflicts/{rows.price_conflict.pk}/"' in html and 'id="prev"' not in html
    filtered = client.get(f"/conflicts/{rows.name.pk}/?approver_role=revops").content.decode()
    assert 'id="next"' not in filtered  # next / previous stay within the queue's filter
    assert 'href="/conflicts/?approver_role=revops" id="queue"' in filtered


def test_a_finance_field_asks_for_a_comment_and_keeps_what_was_typed(client, finance_user, rows):
    client.force_login(finance_user)
    html = client.get(f"/conflicts/{rows.price_conflict.pk}/").content.decode()
    assert "(required for a finance field)" in html and 'required="required"' in html
    response = client.post(f"/conflicts/{rows.price_conflict.pk}/", {"choice": "value", "value": "7000"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A comment is required for a finance field" in page and 'value="7000"' in page
    assert Conflict.objects.get(pk=rows.price_conflict.pk).status == "open"


def test_deciding_on_the_page_moves_to_the_next_conflict(client, revops_user, live, django_capture_on_commit_callbacks):
    second = make_conflict(live.account, Record.objects.get(values__name="Initech LLC"), "phone", crm="1", erp="2")
    client.force_login(revops_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/conflicts/{live.name.pk}/?approver_role=revops",
                               {"choice": "erp", "comment": "legal name"})
    assert response.status_code == 302
    assert response["Location"] == f"/conflicts/{second.pk}/?approver_role=revops"
    page = client.get(response["Location"]).content.decode()
    assert "Globex Corp. · name: Take ERP. Pushed by sync-run:" in page
    decided = client.get(f"/conflicts/{live.name.pk}/").content.decode()
    assert 'id="decide"' not in decided and "legal name" in decided
    assert "HubSpot: name = Globex Corp." in decided and "Sent" in decided  # what was pushed


def test_a_stale_decision_on_the_page_says_review_again(client, revops_user, live):
    globex = live.name.record
    edit(live.account.crm_system, "companies", external_id(globex, live.account.crm_system), {"name": "Globex X"})
    client.force_login(revops_user)
    page = client.post(f"/conflicts/{live.name.pk}/", {"choice": "erp"}, follow=True).content.decode()
    assert "CRM changed since — review again" in page and '<td class="crm">Globex X</td>' in page


def test_a_typed_value_that_breaks_the_rule_is_shown_with_the_reason(client, revops_user, live):
    client.force_login(revops_user)
    response = client.post(f"/conflicts/{live.name.pk}/", {"choice": "value", "value": "y" * 84})
    assert response.status_code == 400 and "longer than 83 characters (84)" in response.content.decode()


def test_the_record_timeline_shows_the_decision_the_comment_and_the_push(client, viewer_user, revops_user, live,
                                                                          django_capture_on_commit_callbacks):
    from reconciliation.conflicts import services

    services.conflict_comment(conflict=live.name, user=revops_user, text="asked both teams")
    with django_capture_on_commit_callbacks(execute=True):
        services.conflict_decide(conflict=live.name, choice="erp", user=revops_user, comment="the legal name")
    client.force_login(viewer_user)
    html = client.get(f"/records/{live.name.record_id}/").content.decode()
    assert "conflict decided" in html and "the legal name" in html and "asked both teams" in html
    assert "decision pushed (sent)" in html and "rita-revops" in html


def test_a_sensitive_fields_decision_is_masked_on_the_timeline_for_viewers(client, viewer_user, finance_user,
                                                                            rows):
    from django.utils import timezone

    from integration_hub.kernel import audit

    publish_sensitive(rows.mapping, "credit_limit")
    conflict = rows.price_conflict
    conflict.status, conflict.decision, conflict.chosen_value = "resolved", "crm", conflict.crm_value
    conflict.decided_by, conflict.decided_at = finance_user, timezone.now()
    with audit.acting_as(finance_user.username, user=finance_user, reason="raised after review"):
        conflict.save()
    client.force_login(viewer_user)
    html = client.get(f"/records/{conflict.record_id}/").content.decode()
    assert "conflict decided" in html and "raised after review" in html and "9000.00 USD" not in html
    client.force_login(finance_user)
    assert "9000.00 USD" in client.get(f"/records/{conflict.record_id}/").content.decode()
