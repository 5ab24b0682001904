"""Fixtures for the governance tests: both sandbox emulators, seeded with the demo data."""
import pytest

from connectors.sandbox import start_emulator


@pytest.fixture
def emulators():
    hubspot = start_emulator("hubspot", seed="demo")
    netsuite = start_emulator("netsuite", seed="demo")
    yield hubspot, netsuite
    hubspot.stop()
    netsuite.stop()
