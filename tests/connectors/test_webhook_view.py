"""Webhooks: a verified call is kept for the sync; forged, stale or unsigned calls get 401 and keep nothing."""
import json
import time

import pytest

from connectors.hubspot import webhook_signature
from connectors.models import ConnectedSystem, WebhookDelivery

pytestmark = pytest.mark.django_db
SECRET = "app-client-secret"
EVENTS = [{"eventId": 1, "subscriptionType": "company.propertyChange", "objectId": 1001,
           "propertyName": "city", "propertyValue": "York", "occurredAt": 1763800000000}]


@pytest.fixture
def crm(db):
    return ConnectedSystem.objects.create(slug="hubspot", name="HubSpot", role="crm", vendor="hubspot",
                                          base_url="http://127.0.0.1:9",
                                          credentials={"access_token": "t", "client_secret": SECRET})


def _post(client, body: bytes, *, secret=SECRET, timestamp=None, signature=None, uri=None):
    timestamp = str(int(time.time() * 1000)) if timestamp is None else timestamp
    uri = uri or "http://testserver/webhooks/hubspot/"
    signature = signature or webhook_signature(secret, "POST", uri, body, timestamp)
    return client.generic("POST", "/webhooks/hubspot/", body, content_type="application/json",
                          HTTP_X_HUBSPOT_SIGNATURE_V3=signature, HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=timestamp)


def test_a_signed_webhook_is_accepted_without_a_session(client, crm):
    response = _post(client, json.dumps(EVENTS).encode())
    assert response.status_code == 202
    assert response.json() == {"received": 1}
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload == EVENTS and delivery.status == "pending"


def test_a_forged_signature_is_rejected(client, crm):
    assert _post(client, json.dumps(EVENTS).encode(), secret="guessed").status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_a_replayed_old_webhook_is_rejected(client, crm):
    old = str(int((time.time() - 6 * 60) * 1000))
    assert _post(client, json.dumps(EVENTS).encode(), timestamp=old).status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_a_tampered_body_is_rejected(client, crm):
    body = json.dumps(EVENTS).encode()
    timestamp = str(int(time.time() * 1000))
    signature = webhook_signature(SECRET, "POST", "http://testserver/webhooks/hubspot/", body, timestamp)
    tampered = body.replace(b"York", b"Hull")
    assert _post(client, tampered, timestamp=timestamp, signature=signature).status_code == 401


def test_an_unsigned_webhook_is_rejected(client, crm):
    response = client.post("/webhooks/hubspot/", EVENTS, content_type="application/json")
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_system_answers_as_a_bad_signature_and_get_is_refused(client, crm):
    forged = _post(client, json.dumps(EVENTS).encode(), secret="guessed")
    unknown = client.post("/webhooks/nope/", {}, content_type="application/json")
    assert (unknown.status_code, unknown.json()) == (forged.status_code, forged.json()) == (401, {
        "error": "unauthorized", "message": "signature missing, invalid or too old"})
    assert client.get("/webhooks/hubspot/").status_code == 405
