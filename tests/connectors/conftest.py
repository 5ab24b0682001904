"""Fixtures for connector tests: sandbox emulators on a free localhost port, connectors with tiny backoff."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import RunningEmulator, start_emulator

# Retries in tests wait milliseconds, not seconds.
FAST = {"rate_limit": None, "backoff_base": 0.01, "timeout": 2, "max_attempts": 4}


@pytest.fixture
def hubspot_emulator() -> Iterator[RunningEmulator]:
    """An empty HubSpot emulator (standard properties only)."""
    running = start_emulator("hubspot")
    yield running
    running.stop()


@pytest.fixture
def hubspot_demo() -> Iterator[RunningEmulator]:
    """A HubSpot emulator seeded with the demo preset."""
    running = start_emulator("hubspot", seed="demo")
    yield running
    running.stop()


@pytest.fixture
def hubspot(hubspot_emulator: RunningEmulator) -> Iterator[HubSpotConnector]:
    """A private-app connector to `hubspot_emulator`."""
    connector = HubSpotConnector(hubspot_emulator.url, {"access_token": "sandbox-token"}, **FAST)
    yield connector
    connector.close()
