"""Fixtures for the NetSuite tests: a seeded emulator on a free localhost port and connectors for both auth schemes."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connectors.netsuite import NetSuiteConnector, tba_header
from connectors.sandbox import RunningEmulator, start_emulator
from connectors.sandbox.netsuite import DEMO_TBA, NetSuiteEmulator

FAST = {"backoff_base": 0.005, "max_attempts": 8, "timeout": 5, "poll_interval": 0.002, "poll_max_interval": 0.02,
        "poll_timeout": 2.0}


# Fixtures are registered under `name=` so test modules can import them without shadowing warnings (F811).
@pytest.fixture(name="ns")
def ns_fixture() -> Iterator[RunningEmulator]:
    """A NetSuite emulator with the demo data set."""
    running = start_emulator("netsuite", seed="demo")
    yield running
    running.stop()


def emulator_of(running: RunningEmulator) -> NetSuiteEmulator:
    """The emulator object behind a running server (for knobs and inspection)."""
    assert isinstance(running.emulator, NetSuiteEmulator)
    return running.emulator


@pytest.fixture(name="tba_connector")
def tba_connector_fixture(ns: RunningEmulator) -> Iterator[NetSuiteConnector]:
    """A connector using token-based auth (OAuth 1.0a) with tiny backoff."""
    connector = NetSuiteConnector(ns.url, DEMO_TBA, **FAST)
    yield connector
    connector.close()


@pytest.fixture(name="m2m_key")
def m2m_key_fixture() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def m2m_credentials(running: RunningEmulator, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
                    **extra: Any) -> dict[str, Any]:
    """Register the key's certificate with the emulator (the M2M setup page) and return connector credentials."""
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    emulator_of(running).register_m2m_client("hub-client", "cert-1", public_pem)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    return {"account_id": DEMO_TBA["account_id"], "client_id": "hub-client", "certificate_id": "cert-1",
            "private_key": private_pem, **extra}


def signed(method: str, url: str, **kwargs: Any) -> requests.Response:
    """A raw request signed with the demo TBA credentials (for emulator-level tests)."""
    prepared = requests.Request(method, url, **kwargs).prepare()
    prepared.headers["Authorization"] = tba_header(method, prepared.url or "", DEMO_TBA)
    with requests.Session() as session:
        return session.send(prepared, timeout=5)
