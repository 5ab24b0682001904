"""Stored credentials go only where they were entered for: a new base URL or vendor clears them (API and admin),
and no request carries them to a host that is neither the vendor's nor allowed in settings."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.authtoken.models import Token

from connectors import services
from connectors.base import ConnectorError
from connectors.registry import build_connector

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    """An HTTP server on localhost that records the headers of every request it gets (the attacker's)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"results": []}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def api(client, user, method: str, path: str, body: dict):
    token = Token.objects.get_or_create(user=user)[0].key
    return getattr(client, method)(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")


def test_a_new_base_url_through_the_api_clears_the_credentials_so_none_reach_it(client, crm_system, revops_user,
                                                                                listener):
    url, seen = listener
    response = api(client, revops_user, "patch", f"/api/v1/systems/{crm_system.slug}/", {"base_url": url})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["has_credentials"] is False and body["auth_status"] == "unknown"
    assert body["auth_message"] == services.CREDENTIALS_CLEARED
    crm_system.refresh_from_db()
    assert crm_system.credentials == {} and crm_system.base_url == url

    client.force_login(revops_user)
    client.post(f"/admin/connectors/connectedsystem/{crm_system.pk}/test-connection/")
    assert all("Authorization" not in headers for headers in seen)
    assert "pat-na1-very-secret-token" not in repr(seen)
    crm_system.refresh_from_db()
    assert crm_system.auth_status == "failed" and "access_token" in crm_system.auth_message


def test_credentials_sent_with_the_new_address_are_kept_and_other_edits_keep_the_stored_ones(client, crm_system,
                                                                                             revops_user):
    path = f"/api/v1/systems/{crm_system.slug}/"
    assert api(client, revops_user, "patch", path, {"name": "HubSpot (EU)"}).json()["has_credentials"] is True
    crm_system.refresh_from_db()
    assert crm_system.credentials == {"access_token": "pat-na1-very-secret-token"}
    moved = api(client, revops_user, "patch", path, {"base_url": "http://localhost:8101",
                                                     "credentials": {"access_token": "pat-eu1-new"}})
    assert moved.status_code == 200 and moved.json()["has_credentials"] is True
    crm_system.refresh_from_db()
    assert crm_system.credentials == {"access_token": "pat-eu1-new"}
    assert "credentials" not in moved.json()


def test_a_new_vendor_in_the_admin_clears_the_credentials_and_says_so(client, superuser, erp_system):
    client.force_login(superuser)
    form = {"slug": erp_system.slug, "name": erp_system.name, "role": "erp", "vendor": "netsuite",
            "base_url": "http://localhost:8102", "rollout_stage": "two_way", "rate_limit": "", "is_active": "on",
            "new_credentials": ""}
    page = client.post(f"/admin/connectors/connectedsystem/{erp_system.pk}/change/", form, follow=True)
    assert services.CREDENTIALS_CLEARED in page.content.decode()
    erp_system.refresh_from_db()
    assert erp_system.credentials == {} and erp_system.auth_message == services.CREDENTIALS_CLEARED


def test_a_host_that_is_neither_the_vendors_nor_allowed_is_refused_before_any_request(client, superuser, settings,
                                                                                     crm_system, listener):
    url, seen = listener
    settings.CONNECTOR_ALLOWED_HOSTS = []  # production's default: the vendors' own hosts only
    connector = build_connector("hubspot", url, {"access_token": "pat-na1-very-secret-token"})
    with pytest.raises(ConnectorError) as refused:
        connector.http.request("GET", "/crm/v3/objects/companies")
    assert refused.value.kind == "config" and refused.value.permanent
    assert "'127.0.0.1' is not a host the hub sends hubspot credentials to" in refused.value.message
    assert "api.hubapi.com" in refused.value.message and seen == []
    # A pagination link pointing elsewhere is refused too, even from a vendor host.
    vendor = build_connector("hubspot", "https://api.hubapi.com", {"access_token": "x"})
    with pytest.raises(ConnectorError, match="not a host"):
        vendor.http.request("GET", f"{url}/next-page")
    assert seen == []

    client.force_login(superuser)
    form = {"slug": crm_system.slug, "name": crm_system.name, "role": "crm", "vendor": "hubspot",
            "base_url": url, "rollout_stage": "two_way", "rate_limit": "", "is_active": "on", "new_credentials": ""}
    page = client.post(f"/admin/connectors/connectedsystem/{crm_system.pk}/change/", form)
    assert page.status_code == 200 and "add it to CONNECTOR_ALLOWED_HOSTS" in page.content.decode()
    crm_system.refresh_from_db()
    assert crm_system.base_url == "http://127.0.0.1:8101" and crm_system.credentials


def test_the_vendors_own_hosts_and_the_operators_are_allowed():
    from connectors import hosts

    assert hosts.refusal("https://api.hubapi.com/crm/v3", "hubspot", ("api.hubapi.com",), ()) == ""
    assert hosts.refusal("https://1234567.suitetalk.api.netsuite.com/services/rest", "netsuite",
                         (".suitetalk.api.netsuite.com",), ()) == ""
    assert hosts.refusal("https://suitetalk.api.netsuite.com.evil.example/x", "netsuite",
                         (".suitetalk.api.netsuite.com",), ())
    assert hosts.refusal("http://[::1]:8101/x", "hubspot", ("api.hubapi.com",), ("::1",)) == ""
    assert hosts.refusal("https://sap.corp.example:50000/b1s/v2", "sap_b1", (), (".corp.example",)) == ""


def test_the_api_refuses_a_base_url_outside_the_vendors_hosts_in_production_settings(client, crm_system,
                                                                                     revops_user, settings):
    settings.CONNECTOR_ALLOWED_HOSTS = []
    response = api(client, revops_user, "patch", f"/api/v1/systems/{crm_system.slug}/",
                   {"base_url": "https://collector.example.net/"})
    assert response.status_code == 400
    assert "is not a host the hub sends HubSpot credentials to" in response.json()["base_url"][0]
    crm_system.refresh_from_db()
    assert crm_system.base_url == "http://127.0.0.1:8101" and crm_system.credentials
    ok = api(client, revops_user, "patch", f"/api/v1/systems/{crm_system.slug}/",
             {"base_url": "https://api.hubapi.com", "credentials": {"access_token": "pat-na1-live"}})
    assert ok.status_code == 200 and ok.json()["base_url"] == "https://api.hubapi.com"
