"""A reference rule names the kind of record it points at: required of reference rules, set by the template, shown
and accepted by the API, the admin and the mapping page, filled in for rules made before by the migration."""
from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from mapping.compiled import compile_mapping
from mapping.default_template import TEMPLATE
from mapping.models import FieldRule, RuleSetVersion, VersionStatus
from mapping.rule_checks import rule_problems

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("mapping.migrations.0006_reference_rules_name_their_target")


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def reference(version, field: str, reference_to: str = "", **extra) -> FieldRule:
    return FieldRule.objects.create(version=version, field=field, field_type="reference", reference_to=reference_to,
                                    crm_path=f"{field}_id", erp_path=f"{field}.id", system_of_record="shared",
                                    conflict_policy="manual_review", **extra)


def test_a_reference_without_a_target_is_a_rule_problem_and_a_target_fits_references_only(account_mapping):
    draft = RuleSetVersion.objects.create(mapping=account_mapping, number=2)
    rule = FieldRule(version=draft, field="parent_account", field_type="reference", crm_path="parent_id",
                     erp_path="parent.id", system_of_record="shared", conflict_policy="manual_review")

    assert rule_problems(rule)["reference_to"][0].startswith("Say which kind of record this reference points at")
    rule.reference_to = "account"
    assert rule_problems(rule) == {}
    rule.field_type = "text"
    assert "Only a reference points at another record" in rule_problems(rule)["reference_to"][0]


def test_every_reference_rule_of_the_template_names_its_target():
    references = {(entity, rule["field"]): rule["reference_to"] for entity, spec in TEMPLATE.items()
                  for rule in spec["rules"] if rule["field_type"] == "reference"}
    assert references == {("contact", "account"): "account", ("quote", "customer"): "account",
                          ("deal", "customer"): "account", ("invoice", "customer"): "account",
                          ("invoice", "deal"): "deal"}
    assert all(rule["reference_to"] == "" for spec in TEMPLATE.values() for rule in spec["rules"]
               if rule["field_type"] != "reference")


def test_the_compiled_mapping_points_a_reference_where_its_rule_says(account_mapping):
    draft = RuleSetVersion.objects.create(mapping=account_mapping, number=2)
    reference(draft, "parent_account", "account")
    reference(draft, "main_contact", "contact")

    assert compile_mapping(account_mapping, draft).references == {"parent_account": "account",
                                                                   "main_contact": "contact"}


def test_the_api_takes_a_reference_rules_target_and_refuses_one_without(client, revops_user, account_mapping):
    draft = RuleSetVersion.objects.create(mapping=account_mapping, number=2)
    rule = {"version": draft.pk, "field": "parent_account", "field_type": "reference", "crm_field": "parent_id",
            "erp_field": "parent.id", "system_of_record": "shared", "conflict_policy": "manual_review"}

    response = client.post("/api/v1/field-rules/", rule, content_type="application/json", **auth(revops_user))
    assert response.status_code == 400
    assert "Say which kind of record this reference points at" in str(response.json()["reference_to"])

    response = client.post("/api/v1/field-rules/", {**rule, "reference_to": "account"},
                           content_type="application/json", **auth(revops_user))
    assert response.status_code == 201 and response.json()["reference_to"] == "account"
    assert draft.rules.get(field="parent_account").reference_to == "account"


def test_the_admin_and_the_mapping_page_show_the_target(client, revops_user, account_mapping):
    draft = RuleSetVersion.objects.create(mapping=account_mapping, number=2)
    reference(draft, "parent_account", "account")
    client.force_login(revops_user)

    assert 'name="rules-0-reference_to"' in client.get(f"/admin/mapping/rulesetversion/{draft.pk}/change/") \
        .content.decode()
    assert "Reference to another record: Account" in client.get(f"/mappings/{account_mapping.pk}/").content.decode()


def test_the_migration_fills_existing_reference_rules_from_their_names(account_mapping):
    # Rules saved before rules named their target: every reference rule's target is blank.
    frozen = RuleSetVersion.objects.create(mapping=account_mapping, number=2)
    reference(frozen, "company")
    RuleSetVersion.objects.filter(pk=frozen.pk).update(status=VersionStatus.PUBLISHED)
    draft = RuleSetVersion.objects.create(mapping=account_mapping, number=3)
    reference(draft, "customer")
    reference(draft, "parent_account")  # a name the old map did not know: left for a person to name
    FieldRule.objects.create(version=draft, field="product", crm_path="p", erp_path="p", system_of_record="shared",
                             conflict_policy="manual_review")  # named like a reference, but text
    RuleSetVersion.objects.filter(pk=draft.pk).update(
        finance_signoff_by=get_user_model().objects.create(username="fay"), finance_signoff_at=timezone.now(),
        finance_signoff_fingerprint=MIGRATION._fingerprint(draft, MIGRATION.CONTENT_BEFORE))

    MIGRATION.reference_targets_from_names(apps, None)

    assert frozen.rules.get().reference_to == "account"
    assert dict(draft.rules.values_list("field", "reference_to")) == {"customer": "account", "parent_account": "",
                                                                     "product": ""}
    draft.refresh_from_db()
    assert draft.has_valid_finance_signoff  # signed off over the same rules: still signed off
