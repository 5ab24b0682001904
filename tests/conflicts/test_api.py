"""/api/v1/conflicts/: the list filters like the page; resolve answers 200, 400, 403 or 409 as the issue says."""
from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from reconciliation.conflicts.models import Conflict
from tests.conflicts.conftest import edit, external_id

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def resolve(client, user, conflict, **body):
    return client.post(f"/api/v1/conflicts/{conflict.pk}/resolve/", body, content_type="application/json",
                       **auth(user))


def test_the_list_filters_like_the_queue(client, viewer_user, rows):
    headers = auth(viewer_user)
    listing = client.get("/api/v1/conflicts/?status=open&approver_role=finance", **headers).json()
    assert listing["count"] == 1 and listing["results"][0]["field"] == "credit_limit"
    assert listing["results"][0]["amount_at_stake"] == "4000.0000"
    assert client.get("/api/v1/conflicts/?account_owner=owner-7&ordering=-amount_at_stake",
                      **headers).json()["results"][0]["id"] == rows.price_conflict.pk
    detail = client.get(f"/api/v1/conflicts/{rows.name.pk}/", **headers).json()
    assert detail["crm_value"] == "Acme (Sales)" and detail["erp_value"] == "Acme Incorporated"
    assert detail["record_name"] == "Acme Inc" and detail["comments"] == []
    assert client.get("/api/v1/conflicts/?min_stake=lots", **headers).status_code == 400


def test_resolve_returns_the_updated_conflict(client, live, revops_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = resolve(client, revops_user, live.name, choice="value", value="Globex Group", comment="merged")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved" and body["decision"] == "value" and body["chosen_value"] == "Globex Group"
    assert body["decided_by"] == revops_user.username and body["comment"] == "merged" and body["decision_run"]
    assert live.company(live.name.record)["name"] == "Globex Group"


def test_a_stale_conflict_answers_409_with_the_refreshed_values(client, live, revops_user):
    globex = live.name.record
    edit(live.account.erp_system, "customer", external_id(globex, live.account.erp_system),
         {"companyName": "Globex Corp. (2)"})
    response = resolve(client, revops_user, live.name, choice="crm")
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "ERP changed since — review again"
    assert body["conflict"]["erp_value"] == "Globex Corp. (2)" and body["conflict"]["status"] == "open"


def test_invalid_input_answers_400_with_field_errors(client, live, revops_user, finance_user):
    too_long = resolve(client, revops_user, live.name, choice="value", value="x" * 90)
    assert too_long.status_code == 400 and "longer than 83 characters" in too_long.json()["value"][0]
    assert resolve(client, revops_user, live.name, choice="maybe").json()["choice"]
    no_reason = resolve(client, finance_user, live.price_conflict, choice="erp")
    assert no_reason.status_code == 400 and "comment" in no_reason.json()
    negative = resolve(client, finance_user, live.price_conflict, choice="value", value="-1", comment="typo?")
    assert negative.status_code == 400 and negative.json() == {"value": ["below minimum 0"]}
    assert Conflict.objects.filter(status="open").count() == 2


def test_a_decided_conflict_answers_409(client, live, revops_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert resolve(client, revops_user, live.name, choice="crm").status_code == 200
    again = resolve(client, revops_user, live.name, choice="erp")
    assert again.status_code == 409 and "already decided by rita-revops" in again.json()["detail"]


def test_the_schema_documents_resolve(client, viewer_user):
    client.force_login(viewer_user)
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/conflicts/{id}/resolve/" in schema
