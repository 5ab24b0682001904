"""Field governance end to end: the default template on the sandbox systems, draft → sign-off → publish →
rollback with history, role checks, and refusals with exact reasons."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_celery_beat.models import PeriodicTask

from connectors.models import ConnectedSystem
from connectors.sandbox.netsuite import DEMO_TBA
from mapping import services
from mapping.default_template import TEMPLATE
from mapping.models import FieldRule, FrozenVersionError, ObjectMapping, VersionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def systems(emulators):
    hubspot, netsuite = emulators
    hubspot.reset()
    hubspot.seed("demo")
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url=hubspot.url, credentials={"access_token": "sandbox-token"})
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url=netsuite.url, credentials=dict(DEMO_TBA))
    return crm, erp


@pytest.fixture
def installed(systems, revops_user):
    crm, erp = systems
    services.template_prepare_crm(crm_system=crm)
    return {m.entity_type: m for m in services.template_install(crm_system=crm, erp_system=erp, user=revops_user)}


def draft_of(mapping: ObjectMapping):
    return mapping.versions.get(status=VersionStatus.DRAFT)


def test_the_template_installs_a_draft_for_every_entity(installed):
    assert set(installed) == set(TEMPLATE)
    account = installed["account"]
    assert (account.crm_object, account.erp_object) == ("companies", "customer")
    rules = {r.field: r for r in draft_of(account).rules.all()}
    assert rules["name"].system_of_record == "shared" and rules["name"].conflict_policy == "manual_review"
    assert rules["industry"].system_of_record == "crm"
    assert rules["credit_limit"].system_of_record == "erp"
    assert rules["credit_limit"].non_owner_policy == "queue" and rules["credit_limit"].approver_role == "finance"
    assert rules["customer_number"].non_owner_policy == "revert_and_log"


def test_installing_twice_changes_nothing(installed, systems, revops_user):
    crm, erp = systems
    again = services.template_install(crm_system=crm, erp_system=erp, user=revops_user)
    assert {m.pk for m in again} == {m.pk for m in installed.values()}
    assert all(m.versions.count() == 1 for m in again)
    assert services.template_prepare_crm(crm_system=crm) == []  # the custom properties exist now


def test_each_mapping_keeps_its_cadence_as_a_beat_schedule(installed):
    task = PeriodicTask.objects.get(pk=installed["item"].periodic_task_id)
    assert task.interval.every == 5 and task.interval.period == "minutes"
    assert f'"mapping_id": {installed["item"].pk}' in task.kwargs
    # Real-time mappings keep an hourly safety poll.
    assert PeriodicTask.objects.get(pk=installed["deal"].periodic_task_id).interval.every == 60


def test_publishing_money_rules_waits_for_a_finance_sign_off(installed, revops_user, finance_user):
    draft = draft_of(installed["account"])
    with pytest.raises(ValidationError) as refused:
        services.version_publish(version=draft, user=revops_user)
    assert any("Finance approver's sign-off" in m for m in refused.value.messages)

    services.version_sign_off(version=draft, user=finance_user)
    published = services.version_publish(version=draft, user=revops_user)
    account = ObjectMapping.objects.get(pk=installed["account"].pk)
    assert account.published_version == published and published.status == VersionStatus.PUBLISHED
    assert published.published_by == revops_user
    assert account.history.latest().history_actor == revops_user.username
    assert account.history.latest().history_change_reason == "published v1"


def test_a_rule_change_after_sign_off_voids_it(installed, revops_user, finance_user):
    draft = services.version_sign_off(version=draft_of(installed["account"]), user=finance_user)
    assert draft.has_valid_finance_signoff
    rule = draft.rules.get(field="credit_limit")
    rule.validation = {"min": 100}
    rule.save()
    assert not draft.has_valid_finance_signoff
    problems = services.publish_problems(draft, check_remote=False)
    assert any("rules changed after the sign-off" in p for p in problems)


def test_a_rule_pointing_at_a_field_the_system_lacks_is_refused_at_publish(installed, revops_user):
    draft = draft_of(installed["item"])
    FieldRule.objects.create(version=draft, field="colour", field_type="text", crm_path="hs_colour",
                             erp_path="custitem_colour", system_of_record="erp", non_owner_policy="revert_and_log")
    problems = services.publish_problems(draft)
    assert "colour: CRM path 'hs_colour' is not a field of the CRM system" in problems
    assert "colour: ERP path 'custitem_colour' is not a field of the ERP system" in problems


def test_published_rules_are_frozen_and_rollback_restores_an_earlier_version(installed, revops_user, finance_user):
    item = installed["item"]
    v1 = services.version_publish(version=draft_of(item), user=revops_user)
    frozen = v1.rules.get(field="name")
    frozen.crm_path = "hs_name"
    with pytest.raises(FrozenVersionError):
        frozen.save()
    with pytest.raises(FrozenVersionError):
        frozen.delete()

    v2 = services.version_create_draft(mapping=item, user=revops_user)
    assert v2.number == 2 and v2.rules.count() == v1.rules.count()  # copied from the published rules
    v2.rules.get(field="description").delete()
    services.version_publish(version=v2, user=revops_user)
    item.refresh_from_db()
    assert item.published_version == v2

    services.version_rollback(version=v1, user=revops_user)
    item.refresh_from_db()
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert item.published_version == v1 and v1.status == VersionStatus.PUBLISHED
    assert v2.status == VersionStatus.RETIRED
    assert v1.rules.filter(field="description").exists()  # its rules never changed
    assert item.history.latest().history_change_reason == "rolled back to v1"


@pytest.mark.parametrize(("fixture", "action"), [
    ("viewer_user", "publish"), ("finance_user", "publish"), ("viewer_user", "draft"),
    ("revops_user", "sign_off"), ("viewer_user", "sign_off"), ("finance_user", "rollback"),
])
def test_each_action_checks_the_role_in_the_service(request, installed, fixture, action):
    user = request.getfixturevalue(fixture)
    mapping = installed["item"]
    draft = draft_of(mapping)
    calls = {
        "publish": lambda: services.version_publish(version=draft, user=user),
        "draft": lambda: services.version_create_draft(mapping=mapping, user=user),
        "sign_off": lambda: services.version_sign_off(version=draft, user=user),
        "rollback": lambda: services.version_rollback(version=draft, user=user),
    }
    with pytest.raises(PermissionDenied):
        calls[action]()


def test_the_template_refuses_other_vendor_pairs(systems, revops_user):
    crm, erp = systems
    erp.vendor = "odoo"
    with pytest.raises(ValidationError, match="HubSpot ↔ NetSuite"):
        services.template_install(crm_system=crm, erp_system=erp, user=revops_user)
