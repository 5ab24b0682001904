"""Webhook replays and hostile webhook bodies.

A signed delivery sent again within its signature window (a vendor's retry, or someone replaying a captured
request) is answered "already received" and keeps and queues nothing more: HubSpot deliveries are recognised by
their events' ids (also when re-signed later), others by their body. A signed body the hub cannot read gets 400
with the reason; an unknown or switched-off system gets the very answer a bad signature gets.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.test import Client

from connectors import hubspot, netsuite
from connectors.models import ConnectedSystem, WebhookDelivery
from connectors.sandbox.netsuite import DEMO_TBA
from integration_hub.sync import tasks

SECRET = "app-client-secret"
EVENTS = [{"eventId": 101, "subscriptionType": "company.propertyChange", "objectId": 1001,
           "propertyName": "city", "propertyValue": "York", "occurredAt": 1763800000000},
          {"eventId": 102, "subscriptionType": "contact.creation", "objectId": 2002, "occurredAt": 1763800000001}]
NOTICE = {"recordType": "customer", "id": "100"}  # a NetSuite script's notification: no event id
UNVERIFIED = {"error": "unauthorized", "message": "signature missing, invalid or too old"}


@pytest.fixture
def crm(db):
    return ConnectedSystem.objects.create(slug="hubspot", name="HubSpot", role="crm", vendor="hubspot",
                                          base_url="http://127.0.0.1:9",
                                          credentials={"access_token": "t", "client_secret": SECRET})


@pytest.fixture
def erp(db):
    return ConnectedSystem.objects.create(slug="netsuite", name="NetSuite", role="erp", vendor="netsuite",
                                          base_url="http://127.0.0.1:9",
                                          credentials={**DEMO_TBA, "webhook_secret": SECRET})


@pytest.fixture
def queued(monkeypatch):
    """The webhook tasks queued (each call of apply_async), instead of a broker."""
    calls = []
    monkeypatch.setattr(tasks.process_webhooks, "apply_async", lambda *args, **kwargs: calls.append(args))
    return calls


def signed_hubspot(body: bytes, timestamp: str | None = None, slug: str = "hubspot") -> dict:
    timestamp = timestamp or str(int(time.time() * 1000))
    uri = f"http://testserver/webhooks/{slug}/"
    return {"HTTP_X_HUBSPOT_SIGNATURE_V3": hubspot.webhook_signature(SECRET, "POST", uri, body, timestamp),
            "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": timestamp}


def signed_netsuite(body: bytes, timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    signature = netsuite.webhook_signature(SECRET, timestamp, "POST", "http://testserver/webhooks/netsuite/", body)
    return {"HTTP_X_NETSUITE_TIMESTAMP": timestamp, "HTTP_X_NETSUITE_SIGNATURE": f"v1={signature}"}


def post(client, slug: str, body: bytes, headers: dict):
    return client.generic("POST", f"/webhooks/{slug}/", body, content_type="application/json", **headers)


@pytest.mark.django_db
def test_one_signed_delivery_sent_100_times_is_kept_and_queued_once(client, crm, queued,
                                                                    django_capture_on_commit_callbacks):
    body = json.dumps(EVENTS).encode()
    headers = signed_hubspot(body)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [post(client, "hubspot", body, headers) for _ in range(100)]
    assert (answers[0].status_code, answers[0].json()) == (202, {"received": 2})
    assert {(a.status_code, json.dumps(a.json())) for a in answers[1:]} == {
        (200, json.dumps({"received": 0, "message": "already received"}))}
    assert WebhookDelivery.objects.count() == 1 and len(queued) == 1


@pytest.mark.django_db
def test_hubspot_events_resent_under_a_new_signature_are_already_received(client, crm, queued,
                                                                          django_capture_on_commit_callbacks):
    """HubSpot retries a failed delivery with a fresh timestamp and signature; its events keep their ids."""
    body = json.dumps(EVENTS).encode()
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, "hubspot", body, signed_hubspot(body, str(int(time.time() * 1000) - 60_000)))
        retried = post(client, "hubspot", body, signed_hubspot(body))
        reordered = json.dumps(EVENTS[::-1]).encode()
        again = post(client, "hubspot", reordered, signed_hubspot(reordered))
        other = json.dumps([{**EVENTS[0], "eventId": 103}]).encode()
        new = post(client, "hubspot", other, signed_hubspot(other))
    assert [r.status_code for r in (first, retried, again, new)] == [202, 200, 200, 202]
    assert WebhookDelivery.objects.count() == 2 and len(queued) == 2


@pytest.mark.django_db
def test_a_body_without_event_ids_is_recognised_by_its_digest_within_the_window(client, erp, queued,
                                                                                 django_capture_on_commit_callbacks):
    body = json.dumps(NOTICE).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "netsuite", body, signed_netsuite(body)).status_code == 202
        replayed = post(client, "netsuite", body, signed_netsuite(body))
        assert (replayed.status_code, replayed.json()["message"]) == (200, "already received")
        # The same notification much later is a new change of the same record: kept and queued again.
        WebhookDelivery.objects.update(received_at=WebhookDelivery.objects.get().received_at - timedelta(minutes=11))
        assert post(client, "netsuite", body, signed_netsuite(body)).status_code == 202
    assert WebhookDelivery.objects.count() == 2 and len(queued) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_keep_one_delivery(crm, queued):
    """Ten copies at the same moment, each in its own connection: the database's unique key keeps one."""
    body = json.dumps(EVENTS).encode()
    headers = signed_hubspot(body)
    answers: list[int] = []
    start = threading.Barrier(10)

    def send():
        from django.db import connection

        start.wait()
        try:
            answers.append(post(Client(), "hubspot", body, headers).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] * 9 + [202]
    assert WebhookDelivery.objects.count() == 1 and len(queued) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("body, words", [
    (b"this is not json", "is not valid JSON"),
    (b"", "is not valid JSON"),
    (b"[" * 10_000 + b"]" * 10_000, "nested deeper than 32 levels"),
    (json.dumps([{**EVENTS[0], "propertyValue": "a\u0000b"}]).encode(), "contains a NUL character"),
    (b'[{"eventId": 1, "objectId": NaN}]', "is not valid JSON"),
    (b'[{"eventId": 1, "propertyValue": "\xff\xfe"}]', "is not valid UTF-8"),
], ids=["not JSON", "empty", "nested 10,000 deep", "NUL", "NaN", "invalid UTF-8"])
def test_a_signed_body_the_hub_cannot_read_is_400_with_the_reason(client, crm, queued, body, words):
    response = post(client, "hubspot", body, signed_hubspot(body))
    assert response.status_code == 400 and words in response.json()["message"]
    assert not WebhookDelivery.objects.exists() and not queued


@pytest.mark.django_db
def test_an_oversize_body_is_refused_before_it_is_read(client, crm, queued):
    body = json.dumps([{**EVENTS[0], "propertyValue": "x" * 1024 * 1024}]).encode()
    response = post(client, "hubspot", body, signed_hubspot(body))
    assert response.status_code == 400 and "larger than 1 MB" in response.json()["message"]
    assert not WebhookDelivery.objects.exists() and not queued


@pytest.mark.django_db
def test_unknown_and_switched_off_systems_answer_exactly_as_a_bad_signature(client, crm, queued):
    body = json.dumps(EVENTS).encode()
    forged = post(client, "hubspot", body, {**signed_hubspot(body), "HTTP_X_HUBSPOT_SIGNATURE_V3": "forged"})
    unknown = post(client, "no-such-system", body, signed_hubspot(body, slug="no-such-system"))
    ConnectedSystem.objects.filter(pk=crm.pk).update(is_active=False)
    inactive = post(client, "hubspot", body, signed_hubspot(body))
    for response in (forged, unknown, inactive):
        assert (response.status_code, response.json()) == (401, UNVERIFIED)
    assert not WebhookDelivery.objects.exists() and not queued


@pytest.mark.django_db
def test_a_system_whose_credentials_cannot_verify_answers_as_a_bad_signature(client, erp, queued):
    ConnectedSystem.objects.filter(pk=erp.pk).update(credentials={"webhook_secret": SECRET})
    body = json.dumps(NOTICE).encode()
    response = post(client, "netsuite", body, signed_netsuite(body))
    assert (response.status_code, response.json()) == (401, UNVERIFIED)
    assert not WebhookDelivery.objects.exists() and not queued
