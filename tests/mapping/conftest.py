"""The account mapping the governance tests edit: a published v1 with a shared name and a finance money rule."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from mapping.models import FieldRule, ObjectMapping, RuleSetVersion, VersionStatus


@pytest.fixture
def account_mapping(db):
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9")
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url="http://127.0.0.1:9")
    mapping = ObjectMapping.objects.create(entity_type="account", crm_system=crm, erp_system=erp,
                                           crm_object="companies", erp_object="customer", match_keys=["domain"])
    published = RuleSetVersion.objects.create(mapping=mapping, number=1)
    FieldRule.objects.create(version=published, field="name", crm_path="name", erp_path="companyName",
                             system_of_record="shared", conflict_policy="manual_review")
    FieldRule.objects.create(version=published, field="credit_limit", field_type="money", crm_path="erp_credit_limit",
                             erp_path="creditLimit", system_of_record="erp", non_owner_policy="queue",
                             approver_role="finance",
                             crm_transforms=[{"name": "money", "params": {"currency": "USD"}}],
                             erp_transforms=[{"name": "money", "params": {"currency": "USD"}}])
    RuleSetVersion.objects.filter(pk=published.pk).update(status=VersionStatus.PUBLISHED)
    mapping.published_version = published
    mapping.save()
    return mapping
