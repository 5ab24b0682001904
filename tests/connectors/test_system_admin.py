"""A RevOps admin tests a system's connection from its admin page and sees the auth health."""
import pytest

from connectors.models import AuthStatus, ConnectedSystem
from connectors.sandbox import start_emulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def hubspot_sandbox():
    emulator = start_emulator("hubspot", token="sandbox-token")
    yield emulator
    emulator.stop()


@pytest.fixture
def sandbox_crm(hubspot_sandbox):
    return ConnectedSystem.objects.create(
        slug="hubspot", name="Sandbox HubSpot", role="crm", vendor="hubspot", base_url=hubspot_sandbox.url,
        credentials={"access_token": "sandbox-token", "client_secret": "app-secret"}, rollout_stage="shadow")


def test_test_connection_reports_ok_and_records_auth_health(client, revops_user, sandbox_crm):
    client.force_login(revops_user)
    change_page = client.get(f"/admin/connectors/connectedsystem/{sandbox_crm.pk}/change/").content.decode()
    assert 'id="test-connection"' in change_page
    response = client.post(f"/admin/connectors/connectedsystem/{sandbox_crm.pk}/test-connection/", follow=True)
    html = response.content.decode()
    assert "Sandbox HubSpot: connection OK" in html
    sandbox_crm.refresh_from_db()
    assert sandbox_crm.auth_status == AuthStatus.OK
    assert sandbox_crm.auth_checked_at is not None
    assert sandbox_crm.history.latest().history_actor == revops_user.username


def test_a_rejected_token_shows_failed_with_the_vendors_reason(client, revops_user, sandbox_crm):
    sandbox_crm.credentials = {"access_token": "revoked-token"}
    sandbox_crm.save()
    client.force_login(revops_user)
    html = client.post(f"/admin/connectors/connectedsystem/{sandbox_crm.pk}/test-connection/",
                       follow=True).content.decode()
    assert "Sandbox HubSpot: connection FAILED" in html
    sandbox_crm.refresh_from_db()
    assert sandbox_crm.auth_status == AuthStatus.FAILED
    assert "401" in sandbox_crm.auth_message
    assert "revoked-token" not in html  # the secret is never echoed


def test_an_unreachable_system_fails_cleanly(client, revops_user, db):
    system = ConnectedSystem.objects.create(slug="gone", name="Gone", role="crm", vendor="hubspot",
                                            base_url="http://127.0.0.1:9", credentials={"access_token": "t"})
    client.force_login(revops_user)
    html = client.post(f"/admin/connectors/connectedsystem/{system.pk}/test-connection/", follow=True).content.decode()
    assert "Gone: connection FAILED" in html


def test_the_list_action_checks_several_systems(client, revops_user, sandbox_crm):
    client.force_login(revops_user)
    response = client.post("/admin/connectors/connectedsystem/",
                           {"action": "test_connection", "_selected_action": [sandbox_crm.pk]}, follow=True)
    assert "Sandbox HubSpot: connection OK" in response.content.decode()


def test_only_revops_may_test_a_connection(client, viewer_user, finance_user, sandbox_crm):
    for user in (viewer_user, finance_user):
        client.force_login(user)
        assert client.post(f"/admin/connectors/connectedsystem/{sandbox_crm.pk}/test-connection/").status_code == 403
    sandbox_crm.refresh_from_db()
    assert sandbox_crm.auth_status == AuthStatus.UNKNOWN


def test_get_is_not_allowed(client, revops_user, sandbox_crm):
    client.force_login(revops_user)
    assert client.get(f"/admin/connectors/connectedsystem/{sandbox_crm.pk}/test-connection/").status_code == 405


def test_a_bad_rate_limit_is_refused_with_a_message(client, revops_user, sandbox_crm):
    client.force_login(revops_user)
    form = {"slug": "hubspot", "name": "Sandbox HubSpot", "role": "crm", "vendor": "hubspot",
            "base_url": sandbox_crm.base_url, "rollout_stage": "shadow", "rate_limit": "lots", "is_active": "on"}
    html = client.post(f"/admin/connectors/connectedsystem/{sandbox_crm.pk}/change/", form).content.decode()
    assert "rate limit must look like N/SECONDS" in html


def test_an_auth_failure_during_any_work_marks_the_system_failed(sandbox_crm, hubspot_sandbox):
    from connectors.base import ConnectorError
    from connectors.services import connector_session

    sandbox_crm.credentials = {"access_token": "revoked"}
    sandbox_crm.save()
    with pytest.raises(ConnectorError) as caught, connector_session(sandbox_crm, max_attempts=2) as connector:
        list(connector.changes("companies", None, 10))
    assert caught.value.kind == "auth" and caught.value.permanent
    sandbox_crm.refresh_from_db()
    assert sandbox_crm.auth_status == AuthStatus.FAILED
    assert sandbox_crm.history.latest().history_change_reason.startswith("auth failed")
    # No retry storm: one request, one refresh attempt at most.
    assert len([r for r in hubspot_sandbox.emulator.request_log if r[1].startswith("/crm/")]) <= 2
