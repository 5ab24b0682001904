"""HubSpot OAuth2: a bearer token that renews itself with the refresh token."""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorError
from connectors.http import AuthStrategy

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotConnector


class HubSpotOAuth(AuthStrategy):
    """OAuth2 bearer token that renews itself with the refresh token (before expiry and after a 401)."""

    def __init__(self, connector: HubSpotConnector) -> None:
        self.connector = connector
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        credentials = self.connector.credentials
        expires_at = credentials.get("expires_at")
        if not credentials.get("access_token") or (expires_at and time.time() >= float(expires_at)):
            self.refresh()
        request.headers["Authorization"] = f"Bearer {self.connector.credentials['access_token']}"
        return request

    def refresh(self) -> bool:
        token_before = self.connector.credentials.get("access_token")
        with self._lock:
            if self.connector.credentials.get("access_token") != token_before:
                return True  # another thread refreshed while this one waited
            credentials = self.connector.credentials
            form = {"grant_type": "refresh_token", "client_id": credentials["client_id"],
                    "client_secret": credentials["client_secret"], "refresh_token": credentials["refresh_token"]}
            try:
                token = self.connector.http.request_json("POST", "/oauth/v1/token", data=form, authenticate=False,
                                                         idempotent=True)
            except ConnectorError as exc:
                if exc.permanent:
                    raise ConnectorError(f"hubspot refused to refresh the OAuth token ({exc.message}); "
                                         "reconnect the app", kind="auth", permanent=True, status=exc.status) from exc
                raise
            if not isinstance(token, dict) or not token.get("access_token"):
                raise ConnectorError.malformed("hubspot /oauth/v1/token answered without an access_token")
            refreshed = {**credentials, "access_token": token["access_token"],
                         "refresh_token": token.get("refresh_token") or credentials["refresh_token"]}
            refreshed.pop("expires_at", None)
            lifetime = _number(token.get("expires_in"))
            if lifetime and lifetime > 0:  # renew a little early: 10% of the lifetime, at most a minute
                refreshed["expires_at"] = time.time() + lifetime - min(60.0, lifetime / 10)
            self.connector.credentials_refreshed(refreshed)
            return True


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
