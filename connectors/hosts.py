"""Where the hub may send a vendor's credentials: the vendor's own API hosts, plus the hosts an operator allows
in settings (``CONNECTOR_ALLOWED_HOSTS``: a sandbox, a self-hosted ERP). Anything else is refused before a
request leaves, so a changed base URL or a vendor's redirect-by-link can never carry a secret elsewhere.

A pattern is a host name (``api.hubapi.com``), a leading dot for any subdomain (``.suitetalk.api.netsuite.com``)
or ``*`` for any host (never the default)."""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings


def url_host(url: str) -> str:
    """The host of a URL, lower-case, without brackets or port ("" when there is none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    if not host:
        return False
    for pattern in patterns:
        pattern = pattern.strip().lower().strip("[]")
        if pattern == "*" or host == pattern or (pattern.startswith(".") and host.endswith(pattern)):
            return True
    return False


def operator_allowed_hosts() -> tuple[str, ...]:
    """The hosts allowed in settings beside every vendor's own (read at call time: tests and deployments set it)."""
    return tuple(getattr(settings, "CONNECTOR_ALLOWED_HOSTS", ()))


def refusal(url: str, vendor: str, vendor_hosts: Iterable[str], allowed: Iterable[str]) -> str:
    """Why credentials may not go to ``url`` ("" when they may)."""
    host = url_host(url)
    vendor_hosts = tuple(vendor_hosts)
    if host_matches(host, vendor_hosts) or host_matches(host, allowed):
        return ""
    own = f"{vendor}'s API hosts are {', '.join(vendor_hosts)}" if vendor_hosts else \
        f"no {vendor} API host is known to the hub"
    return (f"{host or url!r} is not a host the hub sends {vendor or 'vendor'} credentials to ({own}); "
            f"to use another address (a sandbox, a self-hosted server), add it to CONNECTOR_ALLOWED_HOSTS")
