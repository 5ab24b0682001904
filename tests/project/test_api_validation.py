"""The API refuses what the model refuses (the admin's checks): 400 with a sentence, and nothing stored."""
from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from connectors.models import ConnectedSystem
from mapping.models import FieldRule, ObjectMapping, RuleSetVersion

pytestmark = pytest.mark.django_db

URL = "/api/v1/mappings/"


@pytest.fixture
def systems(db):
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9")
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url="http://127.0.0.1:9")
    return crm, erp


@pytest.fixture
def item_mapping(systems):
    crm, erp = systems
    mapping = ObjectMapping.objects.create(entity_type="item", crm_system=crm, erp_system=erp, crm_object="products",
                                           erp_object="inventoryItem", match_keys=["sku"], interval_minutes=5)
    draft = RuleSetVersion.objects.create(mapping=mapping, number=1)
    FieldRule.objects.create(version=draft, field="ean", crm_path="ean", erp_path="upcCode", system_of_record="erp",
                             non_owner_policy="revert_and_log")
    return mapping


@pytest.fixture
def revops(client, revops_user):
    client.force_login(revops_user)
    return client


BAD_SETTINGS = [
    ({"match_keys": [{"a": 1}]}, "match_keys", "Match keys must be a list of field names"),
    ({"match_keys": "name"}, "match_keys", "Match keys must be a list of field names"),
    ({"match_keys": ["sku", "nmae"]}, "match_keys", "nmae: not a field of this mapping's rules"),
    ({"match_keys": ["name + sku"]}, "match_keys", "not a field of this mapping's rules"),
    ({"interval_minutes": 0}, "interval_minutes", "An interval needs at least one minute."),
    ({"cadence": "daily", "interval_minutes": 0}, "interval_minutes", "An interval needs at least one minute."),
    ({"crm_creates": "on_trigger", "crm_create_trigger": {}}, "crm_create_trigger",
     "Say which trigger creates records."),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_SETTINGS)
def test_a_bad_mapping_setting_is_refused_and_nothing_changes(revops, item_mapping, change, field, message):
    before = ObjectMapping.objects.filter(pk=item_mapping.pk).values().get()
    response = revops.patch(f"{URL}{item_mapping.pk}/", change, content_type="application/json")
    assert response.status_code == 400, response.content.decode()
    assert message in " ".join(response.json()[field])
    assert ObjectMapping.objects.filter(pk=item_mapping.pk).values().get() == before


@pytest.mark.parametrize(("change", "field", "message"), BAD_SETTINGS)
def test_a_mapping_created_with_a_bad_setting_is_not_stored(revops, systems, change, field, message):
    body = {"entity_type": "item", "crm_system": "crm", "erp_system": "erp", "crm_object": "products",
            "erp_object": "inventoryItem", "match_keys": ["sku"], **change}
    response = revops.post(URL, body, content_type="application/json")
    assert response.status_code == 400, response.content.decode()
    assert message in " ".join(response.json()[field])
    assert not ObjectMapping.objects.exists()
    assert not PeriodicTask.objects.filter(task="integration_hub.sync.tasks.sync_mapping").exists()


def test_good_settings_are_stored_and_rule_fields_may_be_match_keys(revops, item_mapping):
    response = revops.patch(f"{URL}{item_mapping.pk}/", {"match_keys": ["ean", "name+sku"], "interval_minutes": 1},
                            content_type="application/json")
    assert response.status_code == 200, response.content.decode()
    item_mapping.refresh_from_db()
    assert item_mapping.match_keys == ["ean", "name+sku"] and item_mapping.interval_minutes == 1


def test_a_system_of_the_wrong_role_is_refused(revops, item_mapping, systems):
    crm, _ = systems
    response = revops.patch(f"{URL}{item_mapping.pk}/", {"erp_system": crm.slug}, content_type="application/json")
    assert response.status_code == 400
    item_mapping.refresh_from_db()
    assert item_mapping.erp_system.slug == "erp"


def test_a_rule_twice_in_one_draft_is_refused_not_a_server_error(revops, item_mapping):
    draft = item_mapping.versions.get()
    body = {"version": draft.pk, "field": "ean", "crm_field": "ean2", "erp_field": "upcCode",
            "system_of_record": "erp", "non_owner_policy": "revert_and_log"}
    response = revops.post("/api/v1/field-rules/", body, content_type="application/json")
    assert response.status_code == 400, response.content.decode()[:2000]
    assert draft.rules.count() == 1


def test_a_rule_with_a_bad_field_name_or_policy_is_refused_with_the_rules_reason(revops, item_mapping):
    draft = item_mapping.versions.get()
    body = {"version": draft.pk, "field": "unit_price", "crm_field": "price", "erp_field": "",
            "system_of_record": "shared", "conflict_policy": ""}
    response = revops.post("/api/v1/field-rules/", body, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()
    assert "A shared field needs a conflict policy" in " ".join(errors["conflict_policy"])
    assert "Name the ERP field" in " ".join(errors["erp_field"])  # named as the API names it
    response = revops.post("/api/v1/field-rules/", {**body, "field": "unit price", "conflict_policy": "manual_review"},
                           content_type="application/json")
    assert response.status_code == 400 and "field" in response.json()  # a canonical field name is a slug
    assert draft.rules.count() == 1


def test_an_erp_only_rule_can_be_added_through_the_api(revops, item_mapping):
    draft = item_mapping.versions.get()
    body = {"version": draft.pk, "field": "bin", "erp_field": "binNumber", "system_of_record": "erp",
            "non_owner_policy": "revert_and_log"}
    response = revops.post("/api/v1/field-rules/", body, content_type="application/json")
    assert response.status_code == 201, response.content.decode()
    assert draft.rules.get(field="bin").crm_path == ""


@pytest.mark.parametrize("field", ["crm_create_trigger", "erp_create_trigger", "erp_create_defaults", "match_keys"])
@pytest.mark.parametrize("as_form", [False, True])
def test_a_null_where_the_mapping_keeps_a_value_is_refused(revops, item_mapping, field, as_form):
    """As JSON, or as a form field holding "null" (which DRF's null check does not see)."""
    url = f"{URL}{item_mapping.pk}/"
    response = (revops.patch(url, f"{field}=null", content_type="application/x-www-form-urlencoded") if as_form
                else revops.patch(url, {field: None}, content_type="application/json"))
    assert response.status_code == 400, response.content.decode()[:2000]
    assert "null" in " ".join(response.json()[field])
    assert ObjectMapping.objects.filter(pk=item_mapping.pk).values_list(field, flat=True).get() is not None
