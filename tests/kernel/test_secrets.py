"""Credentials are encrypted at rest and never shown: not in the admin, the API, history or logs."""
import json

import pytest
from django.db import connection

from connectors.models import ConnectedSystem

pytestmark = pytest.mark.django_db
SECRET = "pat-na1-very-secret-token"


def test_credentials_are_encrypted_in_the_database(crm_system):
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM connectors_connectedsystem WHERE id = %s", [crm_system.pk])
        stored = cursor.fetchone()[0]
    assert SECRET not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert ConnectedSystem.objects.get(pk=crm_system.pk).credentials == {"access_token": SECRET}


def test_credentials_never_appear_in_the_admin_html(client, revops_user, crm_system):
    client.force_login(revops_user)
    for url in (f"/admin/connectors/connectedsystem/{crm_system.pk}/change/",
                "/admin/connectors/connectedsystem/",
                f"/admin/connectors/connectedsystem/{crm_system.pk}/history/"):
        html = client.get(url).content.decode()
        assert SECRET not in html, url
        assert "very-secret" not in html, url


def test_saving_the_admin_form_blank_keeps_the_stored_credentials(client, revops_user, crm_system):
    client.force_login(revops_user)
    form = {"slug": "crm", "name": "Renamed CRM", "role": "crm", "vendor": "hubspot",
            "base_url": "http://127.0.0.1:8101", "rollout_stage": "shadow", "is_active": "on", "new_credentials": ""}
    response = client.post(f"/admin/connectors/connectedsystem/{crm_system.pk}/change/", form)
    assert response.status_code == 302
    crm_system.refresh_from_db()
    assert crm_system.name == "Renamed CRM"
    assert crm_system.credentials == {"access_token": SECRET}


def test_the_admin_replaces_credentials_and_rejects_malformed_json(client, revops_user, crm_system):
    client.force_login(revops_user)
    form = {"slug": "crm", "name": "CRM", "role": "crm", "vendor": "hubspot", "base_url": "http://127.0.0.1:8101",
            "rollout_stage": "shadow", "is_active": "on", "new_credentials": "{not json"}
    response = client.post(f"/admin/connectors/connectedsystem/{crm_system.pk}/change/", form)
    assert response.status_code == 200
    assert "Credentials must be a JSON object" in response.content.decode()
    form["new_credentials"] = json.dumps({"access_token": "rotated-token"})
    client.post(f"/admin/connectors/connectedsystem/{crm_system.pk}/change/", form)
    crm_system.refresh_from_db()
    assert crm_system.credentials == {"access_token": "rotated-token"}


def test_credentials_are_write_only_in_the_api(client, revops_user, crm_system):
    client.force_login(revops_user)
    listing = client.get("/api/v1/systems/").content.decode()
    detail = client.get(f"/api/v1/systems/{crm_system.slug}/").json()
    assert SECRET not in listing
    assert "credentials" not in detail
    assert detail["has_credentials"] is True


def test_history_keeps_no_copy_of_the_credentials(crm_system):
    crm_system.name = "Changed"
    crm_system.save()
    history_model = ConnectedSystem.history.model
    assert "credentials" not in {f.name for f in history_model._meta.fields}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {history_model._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 2
    assert SECRET not in repr(rows)


def test_dumpdata_shows_no_plaintext(crm_system, capsys):
    from django.core.management import call_command

    call_command("dumpdata", "connectors.connectedsystem")
    assert SECRET not in capsys.readouterr().out


def test_encryption_keys_rotate(crm_system, settings):
    from cryptography.fernet import Fernet

    old_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{old_key}"
    assert ConnectedSystem.objects.get(pk=crm_system.pk).credentials == {"access_token": SECRET}
