"""HubSpot webhooks: signature v3, and the records and event ids a delivery names."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from connectors.hubspot.objects import SINGULAR_NAMES

# Characters HubSpot URL-decodes in the URI before signing (signature v3).
_SIGNATURE_URI_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
                         "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
WEBHOOK_MAX_AGE_MS = 5 * 60 * 1000


def webhook_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot request signature v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    for encoded, char in _SIGNATURE_URI_DECODE.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    message = method.upper().encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class HubSpotWebhooks:
    """HubSpotConnector's webhook methods (mixed into it: they read its credentials)."""

    credentials: dict[str, Any]

    def webhook_records(self, payload: Any) -> list[tuple[str, str]]:
        """Events such as {"subscriptionType": "company.propertyChange", "objectId": 1001} -> ("companies", "1001")."""
        events = payload if isinstance(payload, list) else [payload]
        named = []
        for event in events:
            if not isinstance(event, dict):
                continue
            kind, object_id = str(event.get("subscriptionType") or ""), event.get("objectId")
            if kind.endswith(".associationChange") and object_id in (None, ""):
                # {"fromObjectId", "toObjectId", "associationType": "DEAL_TO_COMPANY", "associationRemoved"}: the
                # record whose associations changed (a deal moved to another company, a line item removed).
                object_id = event.get("fromObjectId")
            singular = kind.split(".", 1)[0]
            plural = next((name for name, one in SINGULAR_NAMES.items() if one == singular), None)
            if plural and object_id not in (None, ""):
                named.append((plural, str(object_id)))
        return named

    def webhook_event_ids(self, payload: Any) -> list[str]:
        """HubSpot numbers each event in a delivery ("eventId"); a retried delivery repeats them."""
        events = payload if isinstance(payload, list) else [payload]
        ids = [event.get("eventId") if isinstance(event, dict) else None for event in events]
        if not ids or any(isinstance(i, bool) or not isinstance(i, int | str) or i == "" for i in ids):
            return []
        return [str(i) for i in ids]

    def verify_webhook(self, method: str, uri: str, body: bytes, headers: Mapping[str, str],
                       now: float | None = None) -> bool:
        """Signature v3 with the app's client secret, within 5 minutes either side of now."""
        secret = self.credentials.get("webhook_secret") or self.credentials.get("client_secret")
        lowered = {key.lower(): value for key, value in headers.items()}
        signature = lowered.get("x-hubspot-signature-v3")
        timestamp = lowered.get("x-hubspot-request-timestamp")
        if not secret or not signature or not timestamp or not timestamp.isdigit():
            return False
        now_ms = (time.time() if now is None else now) * 1000
        if abs(now_ms - int(timestamp)) > WEBHOOK_MAX_AGE_MS:
            return False
        expected = webhook_signature(secret, method, uri, body, timestamp)
        return hmac.compare_digest(expected.encode(), signature.encode())
