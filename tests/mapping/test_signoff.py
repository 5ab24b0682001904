"""Finance sign-off is judged on what a draft changes from the published rules: a money or finance-approved rule
edited (its approver included), added, removed or taken away from Finance cannot go live without a Finance
approver; a draft that leaves those rules alone needs no sign-off."""
from __future__ import annotations

import pytest

from mapping import services
from mapping.models import ObjectMapping, VersionStatus
from tests.mapping.test_api_and_admin import auth

pytestmark = pytest.mark.django_db


def patch_rule(client, user, draft, field: str, changes: dict):
    rule = draft.rules.get(field=field)
    return client.patch(f"/api/v1/field-rules/{rule.pk}/", changes, content_type="application/json", **auth(user))


def test_revops_cannot_take_a_money_rule_away_from_finance_and_publish_it(client, account_mapping, revops_user,
                                                                           finance_user):
    draft = services.version_create_draft(mapping=account_mapping, user=revops_user)
    # As the attacker did: the money rule handed to RevOps, its type and transforms dropped.
    response = patch_rule(client, revops_user, draft, "credit_limit",
                          {"approver_role": "revops", "field_type": "number", "crm_transforms": [],
                           "erp_transforms": []})
    assert response.status_code == 200, response.content
    assert not draft.rules.filter(field_type="money").exists()
    assert not draft.rules.filter(approver_role="finance").exists()

    with pytest.raises(services.PublishRefused) as refused:
        services.version_publish(version=draft, user=revops_user, check_remote=False)
    [problem] = refused.value.messages
    assert problem.startswith("Changes to money or finance-approved rules need a Finance approver's sign-off")
    assert "credit_limit: field type, approver role, crm transforms, erp transforms changed" in problem
    assert ObjectMapping.objects.get(pk=account_mapping.pk).published_version.number == 1

    client.force_login(finance_user)
    page = client.get(account_mapping.get_absolute_url()).content.decode()
    assert "Sign off (finance)" in page and "credit_limit: field type, approver role" in page
    services.version_sign_off(version=draft, user=finance_user)
    assert services.version_publish(version=draft, user=revops_user, check_remote=False).number == 2


@pytest.mark.parametrize("change", ["removed", "added"])
def test_removing_or_adding_a_finance_rule_needs_a_sign_off(account_mapping, revops_user, change):
    draft = services.version_create_draft(mapping=account_mapping, user=revops_user)
    if change == "removed":
        draft.rules.get(field="credit_limit").delete()
    else:
        draft.rules.create(field="payment_terms", crm_path="terms", erp_path="terms", system_of_record="erp",
                           non_owner_policy="queue", approver_role="finance")
    assert draft.finance_changes() == [f"{'credit_limit' if change == 'removed' else 'payment_terms'}: {change}"]
    with pytest.raises(services.PublishRefused):
        services.version_publish(version=draft, user=revops_user, check_remote=False)


def test_a_draft_that_leaves_the_money_rules_alone_publishes_without_finance(account_mapping, revops_user):
    draft = services.version_create_draft(mapping=account_mapping, user=revops_user)
    name = draft.rules.get(field="name")
    name.conflict_policy = "last_write_wins"
    name.save()
    credit = draft.rules.get(field="credit_limit")
    credit.position = 7  # the order of the matrix is not a rule change
    credit.save()
    assert draft.finance_changes() == []
    published = services.version_publish(version=draft, user=revops_user, check_remote=False)
    assert published.status == VersionStatus.PUBLISHED and published.finance_signoff_by is None
