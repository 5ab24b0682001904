"""Write paths that join connectors to the database: build a system's connector, check its auth."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors import registry, usage
from connectors.base import AuthCheck, Connector, ConnectorError, RateLimit
from connectors.models import AuthStatus, ConnectedSystem, WebhookDelivery
from integration_hub.kernel import audit, json_guard, rate_limits


def _rate_limit_option(system: ConnectedSystem) -> dict[str, Any]:
    if not system.rate_limit:
        return {}  # the vendor's default
    if system.rate_limit == "off":
        return {"rate_limit": None}
    return {"rate_limit": RateLimit.parse(system.rate_limit)}


def _system_budget(system: ConnectedSystem, connector: Connector) -> rate_limits.Budget | None:
    """The system's budget with the vendor: the limits its connector declares (the system's own rate limit when
    set), shared by every process that talks to the system. None when nothing is limited."""
    limit, concurrency = connector.http.rate_limit, connector.http.max_concurrency
    if limit is None and not concurrency:
        return None
    return rate_limits.Budget(f"connected-system-{system.pk}", requests=limit.requests if limit else None,
                              per_seconds=limit.per_seconds if limit else 1, concurrency=concurrency or None)


def connector_for(system: ConnectedSystem, **options: Any) -> Connector:
    """The system's connector, within the system's budget; refreshed tokens are saved back, encrypted, as they
    arrive."""

    def save_refreshed(new_credentials: dict) -> None:
        ConnectedSystem.objects.filter(pk=system.pk).update(credentials=new_credentials)
        system.credentials = new_credentials

    connector = registry.build_connector(
        system.vendor, system.base_url, system.credentials,
        on_credentials_refreshed=save_refreshed, **{**_rate_limit_option(system), **options},
    )
    connector.http.budget = _system_budget(system, connector)
    return connector


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
    """A webhook call that is not verifiably from the vendor (401), or verified but unreadable (400)."""

    def __init__(self, message: str, *, status_code: int = 401):
        super().__init__(message)
        self.status_code = status_code


# Vendors accept a signature up to 5 minutes either side of its timestamp, so one signed body can arrive again
# up to 10 minutes after it first did; past that a body digest stops marking a redelivery.
WEBHOOK_REPLAY_WINDOW = timedelta(minutes=10)


def _delivery_key(connector: Connector, payload: Any, body: bytes) -> tuple[str, bool]:
    """What makes a delivery the same one again, and whether that holds for good (vendor event ids) or only
    within the replay window (a digest of the body: the same body may legitimately come again later)."""
    event_ids = connector.webhook_event_ids(payload)
    if event_ids:
        return "events:" + hashlib.sha256(",".join(sorted(event_ids)).encode()).hexdigest(), True
    return "body:" + hashlib.sha256(body).hexdigest(), False


@transaction.atomic
def webhook_receive(*, system: ConnectedSystem, method: str, uri: str, body: bytes,
                    headers: dict[str, str]) -> tuple[WebhookDelivery, bool]:
    """Verify a webhook call the vendor's way and keep it once: (the delivery, whether it is new).

    Unverified calls keep nothing; a verified body the JSON guard refuses keeps nothing (status 400); a
    redelivery (same vendor event ids, or the same body within the replay window) returns the delivery
    already kept. The unique key in the database settles two copies arriving at the same moment."""
    try:
        connector = connector_for(system)
    except ConnectorError as exc:  # credentials the connector cannot use: nothing to verify the call with
        raise WebhookRejected(exc.message) from exc
    try:
        try:
            verified = connector.verify_webhook(method, uri, body, headers)
        except ConnectorError as exc:
            raise WebhookRejected(exc.message) from exc
        if not verified:
            raise WebhookRejected("signature missing, invalid or too old")
        try:
            payload = json_guard.loads(body, what="webhook body")
        except json_guard.JSONRefused as exc:
            raise WebhookRejected(str(exc), status_code=400) from exc
        key, lasting = _delivery_key(connector, payload, body)
    finally:
        connector.close()
    kept = WebhookDelivery.objects.filter(system=system, dedupe_key=key).first()
    if kept is not None:
        if lasting or kept.received_at >= timezone.now() - WEBHOOK_REPLAY_WINDOW:
            return kept, False
        WebhookDelivery.objects.filter(pk=kept.pk).update(dedupe_key=None)  # an old body: this one is new
    events = len(payload) if isinstance(payload, list) else 1
    try:
        with transaction.atomic(), audit.acting_as(f"webhook:{system.slug}", reason="webhook received"):
            return WebhookDelivery.objects.create(system=system, payload=payload, event_count=events,
                                                  dedupe_key=key), True
    except IntegrityError:  # the same delivery, kept a moment ago by another request
        return WebhookDelivery.objects.get(system=system, dedupe_key=key), False
