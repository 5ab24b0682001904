"""Which Connector class serves which vendor."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.base import Connector, ConnectorError

_CONNECTORS: dict[str, type[Connector]] = {}


def register(vendor: str) -> Callable[[type[Connector]], type[Connector]]:
    """Class decorator: make `cls` the connector for `vendor`."""

    def decorator(cls: type[Connector]) -> type[Connector]:
        existing = _CONNECTORS.get(vendor)
        if existing is not None and existing is not cls:
            raise ValueError(f"vendor {vendor!r} is already served by {existing.__qualname__}")
        cls.vendor = vendor
        _CONNECTORS[vendor] = cls
        return cls

    return decorator


def connector_class(vendor: str) -> type[Connector]:
    """The Connector class for `vendor`; a permanent config error when none is registered."""
    try:
        return _CONNECTORS[vendor]
    except KeyError:
        known = ", ".join(available_vendors()) or "none"
        raise ConnectorError(f"no connector for vendor {vendor!r} (available: {known})",
                             kind="config", permanent=True) from None


def capabilities(vendor: str) -> type[Connector]:
    """The class whose declarations say what `vendor` can do (merge, deactivate, count...): its connector's, or the
    bare interface's, which declares nothing, when no connector serves the vendor yet."""
    return _CONNECTORS.get(vendor, Connector)


def build_connector(vendor: str, base_url: str, credentials: dict, **options: Any) -> Connector:
    """Instantiate the vendor's connector."""
    return connector_class(vendor)(base_url, credentials, **options)


def available_vendors() -> list[str]:
    """Vendors with a registered connector, sorted."""
    return sorted(_CONNECTORS)


# Vendor modules register themselves on import. Imported last so they can import `register` from here.
# One line per vendor:
# (vendor imports start)
from connectors import hubspot  # noqa: E402,F401,I001
from connectors import netsuite  # noqa: E402,F401
# (vendor imports end)
