"""The demo's two systems: the sandbox emulators `make run` starts on their default ports."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from connectors.sandbox import DEFAULT_PORTS, DEFAULT_TOKEN
from connectors.sandbox.netsuite import DEMO_TBA

HUBSPOT_CLIENT_SECRET = "sandbox-client-secret"  # the emulator's app secret, used to sign webhooks

DEMO_SYSTEMS = {
    "hubspot-sandbox": {
        "name": "HubSpot (sandbox)", "role": "crm", "vendor": "hubspot",
        "base_url": f"http://127.0.0.1:{DEFAULT_PORTS['hubspot']}",
        "credentials": {"access_token": DEFAULT_TOKEN, "client_secret": HUBSPOT_CLIENT_SECRET},
        "rate_limit": "190/10",
    },
    "netsuite-sandbox": {
        "name": "NetSuite (sandbox)", "role": "erp", "vendor": "netsuite",
        "base_url": f"http://127.0.0.1:{DEFAULT_PORTS['netsuite']}",
        "credentials": dict(DEMO_TBA),
        "rate_limit": "",
    },
}


def register_demo_systems() -> list:
    """Create the demo CRM and ERP systems once, two-way so the demo's syncs move data (a real go-live
    starts read-only or in shadow mode: change the stage on the system's page)."""
    from connectors.models import ConnectedSystem, RolloutStage

    systems = []
    for slug, spec in DEMO_SYSTEMS.items():
        system, created = ConnectedSystem.objects.get_or_create(
            slug=slug, defaults={**spec, "rollout_stage": RolloutStage.TWO_WAY})
        systems.append(system)
    return systems


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def state_file(vendor: str) -> str:
    from django.conf import settings

    return str(settings.DATA_DIR / f"sandbox-{vendor}.json")


@contextmanager
def demo_emulators_running() -> Iterator[None]:
    """Make sure both sandbox emulators answer on their default ports for the block.

    Under `make run` they are already up; during set-up (before they start) they run here for a
    moment on the same state files, so what set-up creates (custom properties) is kept.
    """
    from connectors.sandbox import start_emulator

    started = []
    try:
        for vendor, port in DEFAULT_PORTS.items():
            if not _listening(port):
                started.append(start_emulator(vendor, port=port, token=DEFAULT_TOKEN, seed="demo",
                                              state_file=state_file(vendor)))
        yield
    finally:
        for running in started:
            running.stop()
