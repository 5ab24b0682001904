"""Every role sees what it may, and gets 403 (never a 500) for the rest."""
import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from integration_hub.kernel import roles

pytestmark = pytest.mark.django_db


def test_the_three_role_groups_exist_with_their_permissions():
    perms = {g.name: set(g.permissions.values_list("content_type__app_label", "codename")) for g in Group.objects.all()}
    assert ("hub", "change_record") in perms[roles.REVOPS_ADMIN]
    assert ("connectors", "add_connectedsystem") in perms[roles.REVOPS_ADMIN]
    assert ("django_celery_beat", "change_periodictask") in perms[roles.REVOPS_ADMIN]
    assert ("hub", "view_record") in perms[roles.VIEWER]
    assert ("hub", "change_record") not in perms[roles.VIEWER]
    assert ("connectors", "change_connectedsystem") not in perms[roles.FINANCE_APPROVER]
    # Nobody may edit history, not even RevOps.
    assert not any(code.startswith(("change_historical", "delete_historical")) for _, code in perms[roles.REVOPS_ADMIN])


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for url in ("/", "/records/", "/systems/", "/conflicts/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_the_login_page_is_open_and_rejects_wrong_credentials(client, viewer_user):
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": viewer_user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "didn&#x27;t match" in response.content.decode() or "didn't match" in response.content.decode()
    response = client.post("/login/", {"username": viewer_user.username, "password": "pw-vera-viewer"})
    assert response.status_code == 302


@pytest.mark.parametrize("url", ["/admin/", "/admin/hub/record/", "/admin/connectors/connectedsystem/add/"])
def test_a_viewer_opening_the_admin_gets_403(client, viewer_user, url):
    client.force_login(viewer_user)
    response = client.get(url)
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_a_finance_approver_cannot_open_the_admin_either(client, finance_user):
    client.force_login(finance_user)
    assert client.get("/admin/").status_code == 403


def test_revops_admins_and_superusers_use_the_admin(client, revops_user, superuser):
    client.force_login(revops_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/connectors/connectedsystem/add/").status_code == 200
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200


def test_anonymous_admin_visit_goes_to_the_hub_login(client):
    response = client.get("/admin/hub/record/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("fixture", ["viewer_user", "finance_user", "revops_user"])
def test_every_role_reads_the_work_pages(client, request, fixture):
    client.force_login(request.getfixturevalue(fixture))
    for url in ("/", "/records/", "/systems/", "/sync-runs/", "/conflicts/", "/health/"):
        assert client.get(url).status_code == 200, url


def test_a_signed_in_user_without_a_role_gets_403(client, roleless_user):
    client.force_login(roleless_user)
    assert client.get("/records/").status_code == 403


def test_navigation_shows_the_admin_link_only_to_revops(client, viewer_user, revops_user):
    client.force_login(viewer_user)
    assert 'href="/admin/"' not in client.get("/").content.decode()
    client.force_login(revops_user)
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_api_needs_authentication(client):
    assert client.get("/api/v1/records/").status_code in (401, 403)
    assert client.get("/api/schema/").status_code in (401, 403)


def test_api_token_authentication_follows_the_role(client, viewer_user, revops_user):
    viewer_token = Token.objects.create(user=viewer_user)
    revops_token = Token.objects.create(user=revops_user)
    body = {"slug": "crm2", "name": "CRM 2", "role": "crm", "vendor": "hubspot", "base_url": "http://127.0.0.1:9"}
    as_viewer = {"HTTP_AUTHORIZATION": f"Token {viewer_token.key}"}
    assert client.get("/api/v1/systems/", **as_viewer).status_code == 200
    assert client.post("/api/v1/systems/", body, content_type="application/json", **as_viewer).status_code == 403
    as_revops = {"HTTP_AUTHORIZATION": f"Token {revops_token.key}"}
    assert client.post("/api/v1/systems/", body, content_type="application/json", **as_revops).status_code == 201


def test_a_viewer_cannot_write_through_the_api_with_a_session(client, viewer_user, crm_system):
    client.force_login(viewer_user)
    response = client.patch(f"/api/v1/systems/{crm_system.slug}/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403


def test_schema_and_docs_are_served_to_signed_in_users(client, viewer_user):
    client.force_login(viewer_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/records/{id}/history/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn." not in docs.content  # assets come from our own static files
