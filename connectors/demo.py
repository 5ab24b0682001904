"""The demo's two systems: the sandbox emulators `make run` starts on their default ports."""
from __future__ import annotations

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
    """Create the demo CRM and ERP systems once (shadow mode: the first sync shows what it would write)."""
    from connectors.models import ConnectedSystem, RolloutStage

    systems = []
    for slug, spec in DEMO_SYSTEMS.items():
        system, created = ConnectedSystem.objects.get_or_create(
            slug=slug, defaults={**spec, "rollout_stage": RolloutStage.SHADOW})
        systems.append(system)
    return systems
