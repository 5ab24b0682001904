"""NetSuite auth: token-based auth (OAuth 1.0a, HMAC-SHA256) and OAuth 2.0 client credentials (M2M)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from connectors.base import ConnectorError
from connectors.http import AuthStrategy, HttpClient

if TYPE_CHECKING:
    from connectors.netsuite.connector import NetSuiteConnector

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# -- OAuth 1.0a (RFC 5849) -----------------------------------------------------------------------


def _pct(value: str) -> str:
    """RFC 3986 percent-encoding as RFC 5849 requires (only unreserved characters stay)."""
    return quote(value, safe="~")


def oauth1_base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """The RFC 5849 signature base string: method, base URL, and the URL's query plus `params`, normalised."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    pairs = sorted((_pct(k), _pct(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True) + params)
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), _pct(f"{scheme}://{netloc}{parts.path or '/'}"), _pct(normalized)))


def oauth1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """HMAC-SHA256 of the base string with key `consumerSecret&tokenSecret`, base64."""
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha256).digest()).decode()


def realm(account_id: str) -> str:
    """The TBA realm: the account id upper-case with underscores ("1234567-sb1" -> "1234567_SB1")."""
    return account_id.strip().upper().replace("-", "_")


class TbaSigner:
    """OAuth 1.0a (HMAC-SHA256) signing with the per-credential parts encoded once, not per request."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self._key = f"{_pct(credentials['consumer_secret'])}&{_pct(credentials['token_secret'])}".encode()
        consumer, token = _pct(credentials["consumer_key"]), _pct(credentials["token_id"])
        self._pairs = (("oauth_consumer_key", consumer), ("oauth_signature_method", "HMAC-SHA256"),
                       ("oauth_token", token), ("oauth_version", "1.0"))
        self._prefix = (f'OAuth realm="{_pct(realm(credentials["account_id"]))}", oauth_consumer_key="{consumer}", '
                        f'oauth_token="{token}", oauth_signature_method="HMAC-SHA256", ')
        self._bases: dict[str, str] = {}

    def _base_url(self, url: str) -> tuple[str, str]:
        """(percent-encoded normalised base URL, query) of a request URL; the origin's part is cached."""
        base, _, query = url.partition("?")
        base = base.partition("#")[0]
        path_start = base.find("/", base.find("://") + 3)
        origin, path = (base, "/") if path_start < 0 else (base[:path_start], base[path_start:])
        encoded = self._bases.get(origin)
        if encoded is None:
            parts = urlsplit(origin)
            scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
            netloc = host if port in (None, {"http": 80, "https": 443}.get(scheme)) else f"{host}:{port}"
            encoded = self._bases[origin] = _pct(f"{scheme}://{netloc}")
        return encoded + _pct(path), query.partition("#")[0]

    def header(self, method: str, url: str, *, timestamp: int | None = None, nonce: str | None = None) -> str:
        """The `Authorization: OAuth ...` header value for one request."""
        stamp = _pct(str(timestamp if timestamp is not None else int(time.time())))
        nonce = _pct(nonce) if nonce else secrets.token_hex(16)
        base, query = self._base_url(url)
        pairs = [*self._pairs, ("oauth_nonce", nonce), ("oauth_timestamp", stamp)]
        if query:
            pairs += [(_pct(k), _pct(v)) for k, v in parse_qsl(query, keep_blank_values=True)]
        pairs.sort()
        # Names and values are percent-encoded already, so encoding the joined string again only has to encode
        # "%", "=" and "&": the same result as _pct(), without its per-character slow path.
        normalized = "&".join(f"{k}={v}" for k, v in pairs).replace("%", "%25").replace("=", "%3D").replace("&", "%26")
        digest = hmac.new(self._key, f"{method.upper()}&{base}&{normalized}".encode(), hashlib.sha256).digest()
        signature = _pct(base64.b64encode(digest).decode())
        return f'{self._prefix}oauth_timestamp="{stamp}", oauth_nonce="{nonce}", oauth_version="1.0", ' \
               f'oauth_signature="{signature}"'


def tba_header(method: str, url: str, credentials: Mapping[str, str], *, timestamp: int | None = None,
               nonce: str | None = None) -> str:
    """The `Authorization: OAuth ...` header value for one request."""
    return TbaSigner(credentials).header(method, url, timestamp=timestamp, nonce=nonce)


class TokenBasedAuth(AuthStrategy):
    """Signs every request with OAuth 1.0a; a 401 cannot be fixed by refreshing, so `refresh` says no."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self.credentials = credentials
        self.signer = TbaSigner(credentials)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.signer.header(request.method or "GET", request.url or "")
        return request


# -- OAuth 2.0 client credentials ------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_assertion(client_id: str, certificate_id: str, private_key_pem: str, audience: str, *,
                     scope: str = "rest_webservices", now: float | None = None, lifetime: int = 300) -> str:
    """The signed JWT NetSuite's M2M token endpoint expects (ES256/384/512 for EC keys, PS256 for RSA)."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConnectorError(f"netsuite: private_key is not an unencrypted PEM key: {exc}", kind="config",
                             permanent=True) from None
    issued = int(now if now is not None else time.time())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        bits = key.curve.key_size
        alg, digest = {256: ("ES256", hashes.SHA256()), 384: ("ES384", hashes.SHA384())}.get(
            bits, ("ES512", hashes.SHA512()))
    elif isinstance(key, rsa.RSAPrivateKey):
        alg, digest = "PS256", hashes.SHA256()
    else:
        raise ConnectorError("netsuite: private_key must be an EC or RSA key", kind="config", permanent=True)
    header = {"typ": "JWT", "alg": alg, "kid": certificate_id}
    payload = {"iss": client_id, "scope": scope.split(","), "aud": audience, "iat": issued, "exp": issued + lifetime}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}".encode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")  # JWS wants raw r||s, not DER
    else:
        signature = key.sign(signing_input, padding.PSS(padding.MGF1(digest), digest.digest_size), digest)
    return f"{signing_input.decode()}.{b64url(signature)}"


class ClientCredentialsAuth(AuthStrategy):
    """Bearer tokens from the M2M token endpoint: fetched lazily, renewed before expiry and once on a 401."""

    def __init__(self, connector: NetSuiteConnector) -> None:
        self.connector = connector
        self._lock = threading.Lock()
        self._used = threading.local()
        creds = connector.credentials
        self._token_http: HttpClient | None = None
        self._token: str | None = creds.get("access_token")
        self._expires_at = float(creds.get("access_token_expires_at") or 0)
        self._margin = 60.0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            if not self._token or time.time() > self._expires_at - self._margin:
                self._fetch()
            token = self._token
        self._used.token = token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def refresh(self) -> bool:
        """Fetch a new token unless another thread already replaced the one that was refused."""
        with self._lock:
            if self._token == getattr(self._used, "token", None):
                self._fetch()
        return True

    @property
    def token_http(self) -> HttpClient:
        """A client for the token endpoint on the connector's session, without its concurrency cap.

        The auth hook runs while its request already holds a slot; fetching through the capped client could wait
        forever for slots held by requests that are themselves waiting for this token.
        """
        if self._token_http is None:
            http = self.connector.http
            self._token_http = HttpClient(http.base_url, vendor=http.vendor, timeout=http.timeout[1],
                                          max_attempts=http.max_attempts, backoff_base=http.backoff_base,
                                          session=http.session, url_guard=http.url_guard)
        return self._token_http

    def _fetch(self) -> None:
        creds = self.connector.credentials
        token_url = self.token_http.url(TOKEN_PATH)
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion(creds["client_id"], creds["certificate_id"], creds["private_key"],
                                                 token_url, scope=creds.get("scope", "rest_webservices")),
        }
        try:
            body = self.token_http.request_json("POST", TOKEN_PATH, data=form, authenticate=False)
        except ConnectorError as exc:
            if not exc.permanent:
                raise
            raise ConnectorError(f"netsuite: the token endpoint refused the client assertion: {exc.message}",
                                 kind="auth", permanent=True, status=exc.status, details=exc.details) from exc
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ConnectorError.malformed("netsuite: token response without access_token", details=body)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token, self._expires_at = body["access_token"], time.time() + lifetime
        self._margin = min(60.0, lifetime / 10)  # renew a little early, never so early a short token is useless
        self.connector.credentials_refreshed(
            {**creds, "access_token": self._token, "access_token_expires_at": self._expires_at})
