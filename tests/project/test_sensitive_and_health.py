"""Sensitive fields are masked for Viewers everywhere; the health page shows auth and drift."""
import pytest

from connectors.models import ConnectedSystem
from integration_hub.kernel import audit
from integration_hub.records import services
from mapping.models import DriftFinding, FieldRule, ObjectMapping, RuleSetVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def account_rules(crm_system, erp_system):
    mapping = ObjectMapping.objects.create(entity_type="account", crm_system=crm_system, erp_system=erp_system,
                                           crm_object="companies", erp_object="customer")
    version = RuleSetVersion.objects.create(mapping=mapping, number=1)
    FieldRule.objects.create(version=version, field="tax_id", crm_path="tax_id", erp_path="vatRegNumber",
                             system_of_record="erp", non_owner_policy="revert_and_log", sensitive=True)
    RuleSetVersion.objects.filter(pk=version.pk).update(status="published")
    mapping.published_version = version
    mapping.save()
    return mapping


@pytest.fixture
def acme(account_rules):
    record = services.record_create(entity_type="account", values={"name": "Acme", "tax_id": "DE123456789"})
    with audit.acting_as("sync-run:5"):
        services.record_update_values(record=record, changes={"tax_id": "DE987654321"})
    return record


def test_a_viewer_sees_sensitive_values_masked_on_the_page_and_in_the_timeline(client, viewer_user, acme):
    client.force_login(viewer_user)
    html = client.get(f"/records/{acme.pk}/").content.decode()
    assert "DE987654321" not in html and "DE123456789" not in html
    assert "••••••" in html and "Acme" in html


def test_a_viewer_sees_them_masked_in_the_api(client, viewer_user, acme):
    client.force_login(viewer_user)
    assert client.get(f"/api/v1/records/{acme.pk}/").json()["values"]["tax_id"] == "••••••"
    listing = client.get("/api/v1/records/").content.decode()
    history = client.get(f"/api/v1/records/{acme.pk}/history/").content.decode()
    assert "DE98765" not in listing and "DE98765" not in history and "DE12345" not in history


def test_finance_and_revops_see_sensitive_values(client, finance_user, revops_user, acme):
    for user in (finance_user, revops_user):
        client.force_login(user)
        assert "DE987654321" in client.get(f"/records/{acme.pk}/").content.decode()
        assert client.get(f"/api/v1/records/{acme.pk}/").json()["values"]["tax_id"] == "DE987654321"


def test_the_health_page_shows_auth_and_open_drift(client, viewer_user, account_rules):
    ConnectedSystem.objects.filter(pk=account_rules.crm_system_id).update(auth_status="failed",
                                                                        auth_message="HubSpot HTTP 401: expired")
    DriftFinding.objects.create(mapping=account_rules, side="erp", kind="missing", vendor_field="vatRegNumber",
                                rule_field="tax_id", detail="vatRegNumber no longer exists; tax_id stops syncing")
    client.force_login(viewer_user)
    html = client.get("/health/").content.decode()
    assert "HubSpot HTTP 401: expired" in html and "badge-red" in html
    assert "vatRegNumber no longer exists" in html


def test_a_blocked_or_overwritten_edit_of_a_sensitive_field_is_masked_in_the_timeline():
    from django.utils import timezone

    from integration_hub.records.selectors import MASK, FieldChange, TimelineEntry, mask_timeline

    entry = TimelineEntry(when=timezone.now(), kind="blocked edit", subject="CRM credit_limit", actor="sync-run:1",
                          reason="CRM edited an ERP-owned field", correlation_id="",
                          changes=[FieldChange("credit_limit (CRM edit blocked)", "999999", "1000"),
                                   FieldChange("city", "York", "Leeds")])
    [masked] = mask_timeline([entry], {"credit_limit"})
    assert [(c.before, c.after) for c in masked.changes] == [(MASK, MASK), ("York", "Leeds")]
