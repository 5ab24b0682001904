"""NetSuite webhooks: our own signed scheme for NetSuite-side scripts (NetSuite has no signed webhooks)."""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

WEBHOOK_TOLERANCE_SECONDS = 300


def webhook_signature(secret: str, timestamp: str, method: str, uri: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over "<timestamp>.<METHOD>.<uri>.<body>" (what a NetSuite script must send)."""
    message = f"{timestamp}.{method.upper()}.{uri}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class NetSuiteWebhooks:
    """NetSuiteConnector's webhook methods (mixed into it: they read its credentials)."""

    credentials: dict[str, Any]

    def webhook_records(self, payload: Any) -> list[tuple[str, str]]:
        """Our signed notifications: {"recordType": "customer", "id": "100"} or a list of them."""
        events = payload if isinstance(payload, list) else [payload]
        return [(str(e["recordType"]), str(e["id"])) for e in events
                if isinstance(e, dict) and e.get("recordType") and e.get("id") not in (None, "")]

    def verify_webhook(self, method: str, uri: str, body: bytes, headers: Mapping[str, str],
                       now: float | None = None) -> bool:
        """Our own scheme for NetSuite-side scripts (NetSuite has no signed webhooks).

        The script sends `X-NetSuite-Timestamp: <unix seconds>` and
        `X-NetSuite-Signature: v1=<hex HMAC-SHA256(webhook_secret, "<timestamp>.<METHOD>.<uri>.<body>")>`;
        calls older or newer than 5 minutes, unsigned, or signed with another secret are rejected.
        """
        secret = self.credentials.get("webhook_secret")
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp, signature = lower.get("x-netsuite-timestamp", ""), lower.get("x-netsuite-signature", "")
        if not secret or not timestamp.isdigit() or not signature.startswith("v1="):
            return False
        current = time.time() if now is None else now
        if abs(current - int(timestamp)) > WEBHOOK_TOLERANCE_SECONDS:
            return False
        expected = webhook_signature(secret, timestamp, method, uri, body)
        return hmac.compare_digest(signature[3:], expected)
