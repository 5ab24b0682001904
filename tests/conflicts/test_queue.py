"""The queue page: rows, counts per approver, filters, sorting, pagination, SLA highlight, the badge, masking."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration_hub.records.models import Record
from reconciliation.conflicts.models import Conflict
from tests.conflicts.conftest import linked_record, make_conflict, publish_sensitive

pytestmark = pytest.mark.django_db


def rows_of(html: str) -> int:
    return html.count("data-conflict=")


def test_the_queue_shows_each_conflict_side_by_side_with_counts_per_approver(client, finance_user, rows):
    Conflict.objects.filter(pk=rows.name.pk).update(created_at=timezone.now() - timedelta(days=3))
    client.force_login(finance_user)
    html = client.get("/conflicts/").content.decode()
    assert rows_of(html) == 2
    assert f'href="/records/{rows.name.record_id}/"' in html and f'href="/conflicts/{rows.name.pk}/"' in html
    assert "Acme (Sales)" in html and "Acme Incorporated" in html and "9000.00 USD" in html
    assert 'data-role="finance">Finance approver: <strong>1</strong>' in html
    assert 'data-role="revops">RevOps admin: <strong>1</strong>' in html
    assert '<strong id="oldest">3' in html and '<strong id="over-sla">1</strong>' in html
    assert html.count('class="over-sla') == 1  # the 3-day-old row, past the 48 h SLA


@pytest.fixture
def many(rows):
    """Conflicts across entities, fields, owners and amounts."""
    mapping = rows.mapping
    for n in range(3):
        account = linked_record(mapping, "account", {"name": f"Co {n}", "sales_owner": f"owner-{n}"}, 10 + n)
        make_conflict(mapping, account, "payment_terms", approver="finance", crm="Net 60", erp="Net 30")
        make_conflict(mapping, account, "credit_limit", approver="finance", crm={"amount": f"{n}000.00",
                      "currency": "USD"}, erp={"amount": "100.00", "currency": "USD"})
    contact = linked_record(mapping, "contact", {"full_name": "Hank", "account": f"record:{rows.name.record_id}"}, 20)
    make_conflict(mapping, contact, "phone", crm="+15125550100", erp="+15125550199", entity_type="contact")
    return rows


@pytest.mark.parametrize(("query", "expected"), [
    ("", 9),
    ("approver_role=finance", 7),
    ("approver_role=revops", 2),
    ("field=payment_terms", 3),
    ("entity_type=contact", 1),
    ("account_owner=owner-7", 3),  # Acme's two, and its contact's phone
    ("account_owner=owner-1", 2),
    ("min_stake=1500", 2),  # 1900 and 4000 apart (Acme's limit), not 900 or 100
    ("age=7d", 1),
])
def test_filters(client, revops_user, many, query, expected):
    old = Conflict.objects.get(field="phone")
    Conflict.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    client.force_login(revops_user)
    response = client.get(f"/conflicts/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert rows_of(html) == expected, query
    assert f'<strong id="open-count">{expected}</strong>' in html


def test_the_system_pair_filter(client, revops_user, many):
    from connectors.models import ConnectedSystem
    from mapping.models import ObjectMapping

    other_crm = ConnectedSystem.objects.create(slug="crm2", name="Other CRM", role="crm", vendor="hubspot",
                                               base_url="http://127.0.0.1:9")
    other = ObjectMapping.objects.create(entity_type="account", crm_system=other_crm,
                                         erp_system=many.mapping.erp_system, crm_object="companies",
                                         erp_object="customer")
    make_conflict(other, Record.objects.get(values__name="Co 0"), "name", crm="a", erp="b")
    client.force_login(revops_user)
    html = client.get(f"/conflicts/?systems={other_crm.pk}-{many.mapping.erp_system_id}").content.decode()
    assert rows_of(html) == 1 and "Other CRM ↔ Demo ERP" in html


def test_sorting_by_amount_at_stake_and_pagination(client, revops_user, many):
    client.force_login(revops_user)
    html = client.get("/conflicts/?approver_role=finance&sort=-amount_at_stake").content.decode()
    assert html.index("4000 USD") < html.index("1900 USD") < html.index("900 USD")
    for n in range(60):
        make_conflict(many.mapping, linked_record(many.mapping, "item", {"sku": f"S{n}"}, 100 + n), "name",
                      crm="x", erp="y", entity_type="item")
    first = client.get("/conflicts/").content.decode()
    assert rows_of(first) == 50 and "Page 1 of 2 (69 rows)" in first
    second = client.get("/conflicts/?page=2").content.decode()
    assert rows_of(second) == 19


def test_a_bad_filter_value_says_so_and_loses_nothing(client, revops_user, rows):
    client.force_login(revops_user)
    response = client.get("/conflicts/?min_stake=lots&approver_role=nobody")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a number" in html and "Select a valid choice" in html


def test_the_badge_counts_what_waits_for_each_approver(client, revops_user, finance_user, viewer_user, many):
    client.force_login(finance_user)
    assert '<span class="badge badge-red" id="conflict-badge"' in client.get("/").content.decode()
    assert 'title="Open conflicts waiting for you">7</span>' in client.get("/records/").content.decode()
    client.force_login(revops_user)
    assert 'title="Open conflicts waiting for you">2</span>' in client.get("/").content.decode()
    client.force_login(viewer_user)
    assert 'id="conflict-badge"' not in client.get("/").content.decode()


def test_sensitive_values_are_masked_for_viewers(client, viewer_user, finance_user, rows):
    publish_sensitive(rows.mapping, "credit_limit")
    client.force_login(viewer_user)
    assert "9000.00 USD" not in client.get("/conflicts/").content.decode()
    assert "9000.00 USD" not in client.get(f"/conflicts/{rows.price_conflict.pk}/").content.decode()
    api = client.get(f"/api/v1/conflicts/{rows.price_conflict.pk}/").json()
    assert api["crm_value"] == "••••••"
    client.force_login(finance_user)
    assert "9000.00 USD" in client.get("/conflicts/").content.decode()


def test_a_new_conflict_carries_its_account_owner_and_amount_at_stake(rows):
    contact = linked_record(rows.mapping, "contact", {"last_name": "Hill",
                                                      "account": f"record:{rows.name.record_id}"}, 30)
    conflict = make_conflict(rows.mapping, contact, "phone", crm="1", erp="2")
    assert conflict.account_id == rows.name.record_id and conflict.account_owner == "owner-7"
    assert conflict.entity_type == "account"  # the mapping's entity
    assert rows.price_conflict.amount_at_stake == 4000 and rows.price_conflict.stake_currency == "USD"
    assert rows.name.amount_at_stake == 0 and rows.name.stake_currency == ""
