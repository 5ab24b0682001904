"""Credential checks the NetSuite emulator makes: OAuth 1.0a (TBA) signatures and M2M JWT client assertions."""
from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from connectors.netsuite import oauth1_base_string, oauth1_signature

TIMESTAMP_SKEW = 300
MAX_ASSERTION_LIFETIME = 3600
DIGESTS = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def parse_oauth_header(header: str) -> dict[str, str]:
    """`realm="X", oauth_consumer_key="..."` (after "OAuth ") -> {name: decoded value}."""
    params = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        params[name] = unquote(value.strip().strip('"'))
    return params


def tba_signature_valid(params: Mapping[str, str], method: str, url: str, query: list[tuple[str, str]],
                        consumer_secret: str, token_secret: str, now: float | None = None) -> bool:
    """HMAC-SHA256 signature over method, URL, query and oauth_* parameters, with a fresh timestamp."""
    timestamp = params.get("oauth_timestamp", "")
    current = time.time() if now is None else now
    if params.get("oauth_signature_method") != "HMAC-SHA256" or not timestamp.isdigit():
        return False
    if abs(current - int(timestamp)) > TIMESTAMP_SKEW:
        return False
    signed = [(k, v) for k, v in params.items() if k.startswith("oauth_") and k != "oauth_signature"]
    expected = oauth1_signature(oauth1_base_string(method, url, signed + query), consumer_secret, token_secret)
    return hmac.compare_digest(expected, params.get("oauth_signature", ""))


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_client_assertion(assertion: str, audience: str, certificates: Mapping[str, Mapping[str, str]],
                            now: float | None = None) -> dict[str, Any]:
    """Claims of a JWT signed (ES256/384/512 or PS256/384/512) by the certificate `kid` registered for `iss`.

    Raises ValueError naming the first problem: shape, unknown certificate, signature, audience or lifetime.
    """
    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header, claims = json.loads(_b64url_decode(head_b64)), json.loads(_b64url_decode(body_b64))
        signature = _b64url_decode(sig_b64)
    except ValueError:
        raise ValueError("not a JWT") from None
    pem = certificates.get(str(claims.get("iss")), {}).get(str(header.get("kid")))
    if pem is None:
        raise ValueError("no certificate registered for this client id and kid")
    key = serialization.load_pem_public_key(pem.encode())
    alg, signed = str(header.get("alg")), f"{head_b64}.{body_b64}".encode()
    digest_class = DIGESTS.get(alg[2:])
    if digest_class is None:
        raise ValueError(f"unsupported alg {alg}")
    digest = digest_class()
    try:
        if alg.startswith("ES") and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2  # JWS carries raw r||s; cryptography verifies DER
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
            key.verify(der, signed, ec.ECDSA(digest))
        elif alg.startswith("PS") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PSS(padding.MGF1(digest), digest.digest_size), digest)
        else:
            raise ValueError(f"alg {alg} does not match the registered key")
    except InvalidSignature:
        raise ValueError("bad signature") from None
    current = time.time() if now is None else now
    iat, exp = claims.get("iat"), claims.get("exp")
    if claims.get("aud") != audience:
        raise ValueError("aud is not this token endpoint")
    if not isinstance(iat, int) or not isinstance(exp, int) or exp <= current or iat > current + TIMESTAMP_SKEW \
            or exp - iat > MAX_ASSERTION_LIFETIME:
        raise ValueError("iat/exp missing, expired or longer than 60 minutes")
    return claims
