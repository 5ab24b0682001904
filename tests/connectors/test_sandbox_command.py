"""The sandbox infrastructure: the management command, state files, admin endpoints and knobs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import emulator_class, start_emulator
from tests.connectors.conftest import FAST

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer sandbox-token"}


def test_the_command_serves_the_vendor_api_until_sigterm():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--vendor", "hubspot", "--port", "0", "--seed", "demo",
         "--rate-limit", "100/10", "--latency-ms", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, process.stderr.read() if process.poll() else line
        url = line.split("listening on ")[1].split()[0]

        page = requests.get(f"{url}/crm/v3/objects/companies?limit=100", headers=AUTH, timeout=5).json()
        faults = requests.get(f"{url}/__sandbox__/faults", timeout=5).json()

        assert len(page["results"]) == 8
        assert faults["rate_limit"] == {"requests": 100, "per_seconds": 10.0} and faults["latency_ms"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


def test_state_is_saved_to_the_file_and_loaded_on_restart(tmp_path):
    state = tmp_path / "hubspot.json"
    first = start_emulator("hubspot", state_file=str(state), seed="demo")
    connector = HubSpotConnector(first.url, {"access_token": "sandbox-token"}, **FAST)
    written = connector.upsert_many("companies", [{"name": "Persisted Ltd"}], None)[0]
    first.stop()

    second = start_emulator("hubspot", state_file=str(state), seed="demo")
    try:
        connector = HubSpotConnector(second.url, {"access_token": "sandbox-token"}, **FAST)
        names = [r.fields["name"] for page in connector.changes("companies", None) for r in page.records]
        created = connector.upsert_many("companies", [{"name": "After restart"}], None)[0]
    finally:
        second.stop()

    assert "Persisted Ltd" in names and len(names) == 9  # seeded once, not again on restart
    assert int(created.external_id) > int(written.external_id)
    assert "companies" in json.loads(state.read_text())


def test_admin_endpoints_set_faults_seed_report_state_and_reset(hubspot_emulator):
    admin = f"{hubspot_emulator.url}/__sandbox__"

    faults = requests.post(f"{admin}/faults", json={"error_rate": 0.25, "latency_ms": 5}, timeout=5).json()
    seeded = requests.post(f"{admin}/seed", json={"preset": "demo"}, timeout=5).json()
    requests.get(f"{hubspot_emulator.url}/crm/v3/objects/companies", headers=AUTH, timeout=5)
    state = requests.get(f"{admin}/state", timeout=5).json()
    requests.post(f"{admin}/reset", timeout=5)
    after = requests.get(f"{admin}/state", timeout=5).json()

    assert faults["error_rate"] == 0.25 and faults["latency_ms"] == 5
    assert seeded["created"]["companies"] == 8
    assert state["counts"]["companies"] == 8 and state["requests"]["total"] == 1
    assert after["counts"]["companies"] == 0 and after["faults"]["error_rate"] == 0.0


def test_an_unknown_fault_knob_or_preset_is_refused(hubspot_emulator):
    admin = f"{hubspot_emulator.url}/__sandbox__"

    knob = requests.post(f"{admin}/faults", json={"chaos_monkey": True}, timeout=5)
    preset = requests.post(f"{admin}/seed", json={"preset": "galaxy"}, timeout=5)

    assert knob.status_code == 400 and "chaos_monkey" in knob.json()["message"]
    assert preset.status_code == 400 and "demo" in preset.json()["message"]


def test_an_unknown_vendor_names_the_known_ones():
    with pytest.raises(ValueError, match="hubspot"):
        emulator_class("sap_r2")


def test_error_rate_answers_some_requests_with_5xx(hubspot_emulator):
    hubspot_emulator.set_faults(error_rate=0.5)

    statuses = {requests.get(f"{hubspot_emulator.url}/crm/v3/objects/companies", headers=AUTH, timeout=5).status_code
                for _ in range(40)}

    assert 200 in statuses and statuses & {500, 503}
