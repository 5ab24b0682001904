"""/api/v1/held-fields/: the data-quality list, read-only, filtered and masked as the page is."""
from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from integration_hub.records.models import Record
from integration_hub.sync.models import HeldField, SyncRun
from mapping.models import FieldRule, ObjectMapping, RuleSetVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(crm_system, erp_system):
    return ObjectMapping.objects.create(entity_type="account", crm_system=crm_system, erp_system=erp_system,
                                        crm_object="companies", erp_object="customer")


def token(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


def hold(mapping, external_id: str, field: str, value, reason: str, *, side: str = "crm", cleared: bool = False,
         **extra) -> HeldField:
    now = timezone.now()
    return HeldField.objects.create(mapping=mapping, side=side, external_id=external_id, field=field, value=value,
                                    reason=reason, first_seen_at=now, last_seen_at=now,
                                    system=mapping.crm_system if side == "crm" else mapping.erp_system,
                                    cleared_at=now if cleared else None, **extra)


def test_it_lists_the_held_fields_with_names_and_causes(client, viewer_user, accounts):
    acme = Record.objects.create(entity_type="account", display_name="Acme Ltd")
    run = SyncRun.objects.create(mapping=accounts, trigger="schedule")
    held = hold(accounts, "1017", "phone", "555-1234", "'555-1234' is not a phone number", record=acme, run=run)
    hold(accounts, "1018", "phone", "12", "'12' is not a phone number", cleared=True)

    body = client.get("/api/v1/held-fields/", **token(viewer_user)).json()

    assert body["count"] == 1  # still held, unless asked
    row = body["results"][0]
    assert row == {
        "id": held.pk, "status": "held", "mapping": accounts.pk, "mapping_name": "Account: companies ↔ customer",
        "system": accounts.crm_system_id, "system_name": "Demo CRM", "side": "crm", "external_id": "1017",
        "record": acme.pk, "record_name": "Acme Ltd", "field": "phone", "value": "555-1234",
        "reason": "'555-1234' is not a phone number", "cause": "phone: … is not a phone number", "run": run.pk,
        "first_seen_at": row["first_seen_at"], "last_seen_at": row["last_seen_at"], "cleared_at": None,
        "cleared_because": ""}


def test_it_filters_as_the_page_does(client, viewer_user, accounts, erp_system):
    hold(accounts, "1", "phone", "555", "'555' is not a phone number")
    hold(accounts, "2", "phone", "556", "'556' is not a phone number", cleared=True)
    hold(accounts, "3", "currency", "ZZZ", "'ZZZ' is not an ISO 4217 currency code", side="erp")
    auth = token(viewer_user)

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/held-fields/?{query}", **auth)
        assert response.status_code == 200, response.content
        return sorted(r["external_id"] for r in response.json()["results"])

    assert ids("") == ["1", "3"]
    assert ids("status=all") == ["1", "2", "3"]
    assert ids("status=cleared") == ["2"]
    assert ids("field=phone&status=all") == ["1", "2"]
    assert ids(f"system={erp_system.pk}") == ["3"]
    assert ids("side=crm") == ["1"]
    assert ids("reason=iso") == ["3"]
    assert ids("cause=… is not a phone number&status=all") == ["1", "2"]
    assert client.get("/api/v1/held-fields/?run=abc", **auth).status_code == 400


def test_a_cleared_field_is_found_by_its_id(client, viewer_user, accounts):
    cleared = hold(accounts, "2", "phone", "556", "'556' is not a phone number", cleared=True)
    row = client.get(f"/api/v1/held-fields/{cleared.pk}/", **token(viewer_user)).json()
    assert row["status"] == "cleared" and row["cleared_at"] is not None


def test_viewers_get_a_sensitive_value_masked(client, viewer_user, finance_user, accounts):
    version = RuleSetVersion.objects.create(mapping=accounts, number=1)
    FieldRule.objects.create(version=version, field="tax_id", system_of_record="erp", sensitive=True,
                             crm_path="tax_id", erp_path="vatRegNumber")
    RuleSetVersion.objects.filter(pk=version.pk).update(status="published")
    accounts.published_version = version
    accounts.save()
    hold(accounts, "1", "tax_id", "DE-SECRET", "'DE-SECRET' is not a VAT number")

    masked = client.get("/api/v1/held-fields/", **token(viewer_user)).json()["results"][0]
    assert masked["value"] == "••••••" and masked["reason"] == "… is not a VAT number"
    plain = client.get("/api/v1/held-fields/", **token(finance_user)).json()["results"][0]
    assert plain["value"] == "DE-SECRET"


def test_it_is_read_only_and_needs_a_role(client, roleless_user, revops_user, accounts):
    held = hold(accounts, "1", "phone", "555", "'555' is not a phone number")
    assert client.get("/api/v1/held-fields/").status_code in (401, 403)
    assert client.get("/api/v1/held-fields/", **token(roleless_user)).status_code == 403
    revops = token(revops_user)
    assert client.post("/api/v1/held-fields/", {}, content_type="application/json", **revops).status_code == 405
    assert client.delete(f"/api/v1/held-fields/{held.pk}/", **revops).status_code == 405
    assert HeldField.objects.filter(pk=held.pk).exists()
