"""Write paths that join connectors to the database: build a system's connector, check its auth."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors import registry, usage
from connectors.base import AuthCheck, Connector, ConnectorError, RateLimit
from connectors.models import AuthStatus, ConnectedSystem, WebhookDelivery
from integration_hub import audit


def _rate_limit_option(system: ConnectedSystem) -> dict[str, Any]:
    if not system.rate_limit:
        return {}  # the vendor's default
    if system.rate_limit == "off":
        return {"rate_limit": None}
    return {"rate_limit": RateLimit.parse(system.rate_limit)}


def connector_for(system: ConnectedSystem, **options: Any) -> Connector:
    """The system's connector; refreshed tokens are saved back, encrypted, as they arrive."""

    def save_refreshed(new_credentials: dict) -> None:
        ConnectedSystem.objects.filter(pk=system.pk).update(credentials=new_credentials)
        system.credentials = new_credentials

    return registry.build_connector(
        system.vendor, system.base_url, system.credentials,
        on_credentials_refreshed=save_refreshed, **{**_rate_limit_option(system), **options},
    )


CREDENTIALS_CLEARED = ("Credentials cleared because the vendor or base URL changed: enter them again for the "
                       "new address.")


def system_save(*, system: ConnectedSystem, credentials: dict | None = None) -> bool:
    """Save a system's settings, with new credentials when given. Credentials belong to the address they were
    entered for: a new vendor or base URL that comes without new credentials clears them, so a stored secret
    is never sent where nobody entered it. Returns whether they were cleared."""
    before = ConnectedSystem.objects.filter(pk=system.pk).values("vendor", "base_url").first() if system.pk else None
    moved = before is not None and (before["vendor"], before["base_url"]) != (system.vendor, system.base_url)
    cleared = False
    if credentials is not None:
        system.credentials = credentials
    elif moved and system.credentials:
        system.credentials, cleared = {}, True
    if moved or credentials is not None:
        system.auth_status, system.auth_checked_at = AuthStatus.UNKNOWN, None
        system.auth_message = CREDENTIALS_CLEARED if cleared else ""
    system.save()
    return cleared


def system_record_auth(*, system: ConnectedSystem, ok: bool, message: str) -> None:
    """Store the outcome of an auth check or an auth failure seen during a sync."""
    system.auth_status = AuthStatus.OK if ok else AuthStatus.FAILED
    system.auth_message = message[:500]
    system.auth_checked_at = timezone.now()
    system._change_reason = "connection test" if ok else f"auth failed: {message[:200]}"
    system.save(update_fields=["auth_status", "auth_message", "auth_checked_at", "updated_at"])


@contextmanager
def connector_session(system: ConnectedSystem, **options: Any) -> Iterator[Connector]:
    """A connector for one piece of work: closed afterwards, and an auth failure marks the system.

    The HTTP layer has already refreshed the token once; a permanent auth error here means the
    credentials are revoked or wrong, which the system's health must show at once.
    """
    connector = connector_for(system, **options)
    try:
        yield connector
    except ConnectorError as exc:
        if exc.kind == "auth":
            system_record_auth(system=system, ok=False, message=exc.message)
        raise
    finally:
        usage.record_calls(system.pk, connector.http.stats.get("requests", 0))
        connector.close()


def system_check_connection(*, system: ConnectedSystem) -> AuthCheck:
    """Call the vendor with the stored credentials and record the auth health."""
    try:
        with connector_session(system, max_attempts=2, timeout=15) as connector:
            result = connector.check_auth()
    except ConnectorError as exc:
        result = AuthCheck(ok=False, message=exc.message)
    system_record_auth(system=system, ok=result.ok, message=result.message)
    return result


class WebhookRejected(Exception):
    """A webhook call that is not verifiably from the vendor."""


@transaction.atomic
def webhook_receive(*, system: ConnectedSystem, method: str, uri: str, body: bytes,
                    headers: dict[str, str]) -> WebhookDelivery:
    """Verify a webhook call the vendor's way and keep it; unverified calls keep nothing."""
    connector = connector_for(system)
    try:
        verified = connector.verify_webhook(method, uri, body, headers)
    except ConnectorError as exc:
        raise WebhookRejected(exc.message) from exc
    finally:
        connector.close()
    if not verified:
        raise WebhookRejected("signature missing, invalid or too old")
    try:
        payload = json.loads(body or b"null")
    except ValueError as exc:
        raise WebhookRejected(f"body is not JSON ({exc})") from exc
    events = len(payload) if isinstance(payload, list) else 1
    with audit.acting_as(f"webhook:{system.slug}", reason="webhook received"):
        return WebhookDelivery.objects.create(system=system, payload=payload, event_count=events)
