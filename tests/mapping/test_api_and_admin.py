"""Mappings and field rules through the API and the admin: read for every role, written by RevOps, drafts only."""
from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from mapping.models import RuleSetVersion

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def test_every_role_reads_field_rules_filtered_by_entity(client, viewer_user, account_mapping):
    rules = client.get("/api/v1/field-rules/?entity=account", **auth(viewer_user)).json()["results"]
    credit = next(r for r in rules if r["field"] == "credit_limit")
    assert credit["entity"] == "account" and credit["crm_field"] == "erp_credit_limit"
    assert credit["erp_field"] == "creditLimit" and credit["system_of_record"] == "erp"
    assert credit["approver_role"] == "finance" and credit["conflict_policy"] == ""
    name = next(r for r in rules if r["field"] == "name")
    assert name["conflict_policy"] == "manual_review"
    assert client.get("/api/v1/field-rules/?entity=contact", **auth(viewer_user)).json()["count"] == 0


def test_published_rules_cannot_change_through_the_api(client, revops_user, account_mapping):
    rule = account_mapping.published_version.rules.get(field="name")
    response = client.patch(f"/api/v1/field-rules/{rule.pk}/", {"crm_field": "legal_name"},
                            content_type="application/json", **auth(revops_user))
    assert response.status_code == 400
    assert "draft" in response.content.decode()
    rule.refresh_from_db()
    assert rule.crm_path == "name"


def test_revops_adds_a_rule_to_a_draft_and_bad_rules_get_exact_reasons(client, revops_user, account_mapping):
    draft = RuleSetVersion.objects.create(mapping=account_mapping, number=2)
    headers = auth(revops_user)
    good = {"version": draft.pk, "field": "phone", "field_type": "text", "crm_field": "phone", "erp_field": "phone",
            "system_of_record": "shared", "conflict_policy": "last_write_wins",
            "crm_transforms": [{"name": "phone_e164", "params": {"default_region": "US"}}]}
    assert client.post("/api/v1/field-rules/", good, content_type="application/json", **headers).status_code == 201

    bad = {**good, "field": "limit", "field_type": "money", "system_of_record": "erp", "conflict_policy": "",
           "non_owner_policy": "queue", "crm_transforms": [], "erp_transforms": []}
    response = client.post("/api/v1/field-rules/", bad, content_type="application/json", **headers)
    assert response.status_code == 400
    assert "money field has no currency source on the CRM side" in response.content.decode()

    shared_without_policy = {**good, "field": "fax", "conflict_policy": ""}
    response = client.post("/api/v1/field-rules/", shared_without_policy, content_type="application/json", **headers)
    assert "A shared field needs a conflict policy" in response.content.decode()


def test_viewers_and_finance_cannot_write_rules_or_mappings(client, viewer_user, finance_user, account_mapping):
    rule = account_mapping.published_version.rules.get(field="name")
    for user in (viewer_user, finance_user):
        headers = auth(user)
        assert client.patch(f"/api/v1/field-rules/{rule.pk}/", {"crm_field": "x"},
                            content_type="application/json", **headers).status_code == 403
        assert client.patch(f"/api/v1/mappings/{account_mapping.pk}/", {"is_enabled": False},
                            content_type="application/json", **headers).status_code == 403


def test_mappings_api_lists_and_updates_the_schedule(client, revops_user, account_mapping):
    from django_celery_beat.models import PeriodicTask

    headers = auth(revops_user)
    listed = client.get("/api/v1/mappings/", **headers).json()["results"][0]
    assert listed["crm_system"] == "crm" and listed["published_version"] == 1
    response = client.patch(f"/api/v1/mappings/{account_mapping.pk}/", {"cadence": "daily", "daily_at": "03:30"},
                            content_type="application/json", **headers)
    assert response.status_code == 200
    account_mapping.refresh_from_db()
    task = PeriodicTask.objects.get(pk=account_mapping.periodic_task_id)
    assert task.crontab.hour == "3" and task.crontab.minute == "30"


def test_the_erp_create_defaults_are_set_through_the_api_and_a_malformed_one_is_refused(client, revops_user,
                                                                                         account_mapping):
    headers = auth(revops_user)
    url = f"/api/v1/mappings/{account_mapping.pk}/"
    bad = client.patch(url, {"erp_create_defaults": {"stage": {"map": {"Billed": "closedwon"}}}},
                       content_type="application/json", **headers)
    assert bad.status_code == 400 and "erp_create_defaults" in bad.json()
    defaults = {"lifecycle_stage": {"from": "credit_hold", "map": {"on": "other"}, "default": "customer"}}
    good = client.patch(url, {"erp_create_defaults": defaults}, content_type="application/json", **headers)
    assert good.status_code == 200 and good.json()["erp_create_defaults"] == defaults
    account_mapping.refresh_from_db()
    assert account_mapping.erp_create_defaults == defaults


def test_the_mapping_page_shows_the_rules_matrix_with_badges(client, viewer_user, account_mapping):
    client.force_login(viewer_user)
    html = client.get(f"/mappings/{account_mapping.pk}/").content.decode()
    assert 'data-field="credit_limit"' in html
    assert "badge-sor-erp" in html and "badge-sor-shared" in html
    assert '<span class="badge badge-amber">Finance</span>' in html
    assert "Open a draft" not in html  # viewers get no action buttons


def test_the_admin_edits_draft_rules_only(client, revops_user, account_mapping):
    client.force_login(revops_user)
    published = account_mapping.published_version
    page = client.get(f"/admin/mapping/rulesetversion/{published.pk}/change/").content.decode()
    assert 'name="rules-0-field"' not in page  # read-only inline for a published version
    draft = RuleSetVersion.objects.create(mapping=account_mapping, number=2)
    page = client.get(f"/admin/mapping/rulesetversion/{draft.pk}/change/").content.decode()
    assert 'name="rules-__prefix__-field"' in page
