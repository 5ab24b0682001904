"""An existing database upgrades in place: a database made at an older commit migrates with today's code and syncs.

db_at_79e2e6b.sql.gz is a hub database made by make_fixture.py with the code of commit 79e2e6b (two systems on
the sandboxes, the default template published, every entity synced, open conflicts, held records, duplicate scans
and reconciliation reports); sandboxes_at_79e2e6b.json.gz is the two vendors' side of the same world at that moment.
The test restores both, runs this checkout's `manage.py migrate` on the database in a subprocess, and checks what
an operator would see: migrations apply and leave nothing unmigrated, every table keeps its rows, beat's schedules
name tasks that exist, and a full sync of accounts and contacts exits 0, keeps every golden record and link it had,
holds nothing it did not hold before (Hank's contact, its last name still blank in HubSpot), gives up on no write,
and links what the vendors gained meanwhile (a customer keyed in NetSuite, a contact added in HubSpot).

The sandboxes serve the state they had when the database was made rather than a fresh seed: a fresh seed lacks the
records the hub created in each system and the custom HubSpot properties the template writes to, so the old
database's links would point at nothing (a run against fresh seeds gives dozens of conflicts and blocked edits and
dead-lettered writes, upgrade or not). An upgrade changes the hub, not the vendors.

It uses only surfaces that survive modules moving: management commands, SQL on the hub's tables (app labels and
table names do not change), the sandboxes (`connectors.sandbox`) and the vendors' HTTP APIs they serve.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COMMIT = "79e2e6b"
DUMP = HERE / f"db_at_{COMMIT}.sql.gz"
SANDBOXES = HERE / f"sandboxes_at_{COMMIT}.json.gz"
# The keys the fixture was made with (make_fixture.py): the dump's credentials are encrypted with this one.
SECRET_KEY = "upgrade-fixture-secret-key-not-for-production-0123456789"
FIELD_ENCRYPTION_KEY = "dXBncmFkZS1maXh0dXJlLWZlcm5ldC1rZXktMDEyMzQ="
# The NetSuite sandbox's demo integration (token-based auth), as its state holds it.
NETSUITE_TBA = {"realm": "TSTDRV1234567", "consumer_key": "sandbox-consumer-key",
                "consumer_secret": "sandbox-consumer-secret", "token_id": "sandbox-token-id",
                "token_secret": "sandbox-token-secret"}
HUBSPOT_TOKEN = "sandbox-token"
# Prints the Celery tasks the code registers (`celery -A integration_hub` loads the same app), as JSON.
REGISTERED_TASKS = ("import json\nfrom celery import current_app\ncurrent_app.loader.import_default_modules()\n"
                    "print(json.dumps(sorted(current_app.tasks)))")
# What the environment may carry that must not reach the upgraded hub: another database, Redis, settings module.
SCRUBBED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DATA_DIR", "SECRET_KEY", "FIELD_ENCRYPTION_KEY",
            "CELERY_TASK_ALWAYS_EAGER", "CELERY_TASK_DEFAULT_QUEUE")


# -- the database -----------------------------------------------------------------------------------------------

def tables_and_counts(db: sqlite3.Connection) -> dict[str, int]:
    names = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


def rows(db: sqlite3.Connection, sql: str, *params) -> list[tuple]:
    return db.execute(sql, params).fetchall()


def one(db: sqlite3.Connection, sql: str, *params):
    found = rows(db, sql, *params)
    assert len(found) == 1, (sql, params, found)
    return found[0][0] if len(found[0]) == 1 else found[0]


LINKS = ("SELECT s.slug, l.entity_type, l.external_id, l.record_id, l.status FROM hub_recordlink l "
         "JOIN connectors_connectedsystem s ON s.id = l.system_id")


def newest_run(db, entity: str) -> tuple[int, str]:
    """(id, status) of the newest sync run of the entity's mapping."""
    return one(db, "SELECT r.id, r.status FROM hub_syncrun r JOIN mapping_objectmapping m ON m.id = r.mapping_id "
                   "WHERE m.entity_type = ? ORDER BY r.id DESC LIMIT 1", entity)


def held(db, entity: str) -> set[tuple[str, str, str]]:
    """(side, external id, reason) of the records the entity's newest sync run held (failed to sync)."""
    run, _ = newest_run(db, entity)
    return set(rows(db, "SELECT side, external_id, message FROM hub_syncevent WHERE run_id = ? AND kind = 'failed'",
                    run))


def manage(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """This checkout's manage.py in its own process, as an operator runs it."""
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def said(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"


# -- the vendors' APIs, as a person's tools would call them --------------------------------------------------------

def _pct(value: str) -> str:
    return quote(value, safe="~")


def netsuite_authorization(method: str, url: str) -> str:
    """OAuth 1.0a (RFC 5849, HMAC-SHA256) for NetSuite token-based auth; `url` carries no query."""
    parts = urlsplit(url)
    oauth = {"oauth_consumer_key": NETSUITE_TBA["consumer_key"], "oauth_token": NETSUITE_TBA["token_id"],
             "oauth_signature_method": "HMAC-SHA256", "oauth_timestamp": str(int(time.time())),
             "oauth_nonce": secrets.token_hex(16), "oauth_version": "1.0"}
    normalized = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(oauth.items()))
    base = "&".join((method, _pct(f"{parts.scheme}://{parts.netloc}{parts.path}"), _pct(normalized)))
    key = f"{_pct(NETSUITE_TBA['consumer_secret'])}&{_pct(NETSUITE_TBA['token_secret'])}".encode()
    oauth["oauth_signature"] = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
    return f'OAuth realm="{NETSUITE_TBA["realm"]}", ' + ", ".join(f'{k}="{_pct(v)}"' for k, v in oauth.items())


def call(method: str, url: str, body: dict | None, authorization: str) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of one request."""
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": authorization, "Content-Type": "application/json",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{method} {url}: {exc.code} {exc.read().decode(errors='replace')}") from None


def hubspot(method: str, base_url: str, path: str, body: dict | None = None) -> dict:
    status, _, payload = call(method, base_url + path, body, f"Bearer {HUBSPOT_TOKEN}")
    assert status in (200, 201), (status, payload)
    return payload


def netsuite(method: str, base_url: str, path: str, body: dict | None = None) -> tuple[dict, dict]:
    url = base_url + "/services/rest/record/v1" + path
    status, headers, payload = call(method, url, body, netsuite_authorization(method, url))
    assert status in (200, 204), (status, payload)
    return headers, payload


# -- the test ----------------------------------------------------------------------------------------------------

@pytest.fixture
def old_world(tmp_path):
    """The database made at COMMIT restored into a SQLite file, and both sandboxes serving their state of then."""
    from connectors.sandbox import start_emulator  # the only hub module the test loads itself, once it runs

    database = tmp_path / "hub.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript(gzip.decompress(DUMP.read_bytes()).decode())
    db.close()
    states = json.loads(gzip.decompress(SANDBOXES.read_bytes()))
    running = {}
    try:
        for vendor, tables in states.items():
            state_file = tmp_path / f"sandbox-{vendor}.json"
            state_file.write_text(json.dumps(tables))
            running[vendor] = start_emulator(vendor, state_file=str(state_file))
        yield database, running
    finally:
        for emulator in running.values():
            emulator.stop()


def test_a_database_made_at_79e2e6b_migrates_in_place_and_syncs(old_world, tmp_path):
    database, sandboxes = old_world
    hubspot_url, netsuite_url = sandboxes["hubspot"].url, sandboxes["netsuite"].url
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith(("PG", "BENCH_"))}
    env.update({"DATABASE_URL": f"sqlite:///{database}", "DATA_DIR": str(tmp_path / "data"), "REDIS_URL": "",
                "SECRET_KEY": SECRET_KEY, "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY, "DEBUG": "false"})

    db = sqlite3.connect(database)
    assert one(db, "SELECT COUNT(*) FROM reconciliation_conflict WHERE status = 'open'") >= 1  # the fixture is whole
    before = tables_and_counts(db)
    records_before = set(rows(db, "SELECT id, entity_type FROM hub_record"))
    links_before = set(rows(db, LINKS))
    # The vendor merge calls' own schedule is retired on purpose (the outbox sends them): its row goes.
    retired = {"duplicate merge effects"}
    before["django_celery_beat_periodictask"] -= one(
        db, "SELECT COUNT(*) FROM django_celery_beat_periodictask WHERE name = 'duplicate merge effects'")
    schedules_before = {name for (name,) in rows(db, "SELECT name FROM django_celery_beat_periodictask WHERE enabled")
                        } - retired
    assert len(schedules_before) >= 10  # the hub's own and one per mapping
    # The systems moved with the sandboxes (the same vendors' data, served at new addresses).
    db.execute("UPDATE connectors_connectedsystem SET base_url = ? WHERE vendor = 'hubspot'", (hubspot_url,))
    db.execute("UPDATE connectors_connectedsystem SET base_url = ? WHERE vendor = 'netsuite'", (netsuite_url,))
    db.commit()
    held_before = {entity: held(db, entity) for entity in ("account", "contact")}
    assert held_before["contact"], "the fixture holds Hank's contact (its last name blanked in HubSpot)"
    # HubSpot's Wayne Retail Group has no NetSuite customer yet: the hub had not linked it.
    wayne = one(db, "SELECT COUNT(*) FROM hub_record WHERE entity_type = 'account' "
                    "AND json_extract(\"values\", '$.name') = 'Wayne Retail Group'")
    assert wayne == 0
    db.close()

    migrated = manage(env, "migrate", "--no-input")
    assert migrated.returncode == 0, said(migrated)
    unmigrated = manage(env, "makemigrations", "--check", "--dry-run")
    assert unmigrated.returncode == 0, said(unmigrated)

    db = sqlite3.connect(database)
    after = tables_and_counts(db)
    assert not set(before) - set(after), f"tables gone: {sorted(set(before) - set(after))}"
    shrunk = {name: (count, after[name]) for name, count in before.items() if after[name] < count}
    assert not shrunk, f"tables that lost rows (before, after): {shrunk}"
    scheduled = rows(db, "SELECT name, task FROM django_celery_beat_periodictask WHERE enabled")
    db.close()
    # Beat's schedules (the hub's own and each mapping's sync) name tasks the upgraded code has.
    listed = manage(env, "shell", "-c", REGISTERED_TASKS)
    assert listed.returncode == 0, said(listed)
    registered = set(json.loads(listed.stdout.strip().splitlines()[-1]))
    assert {name for name, _ in scheduled} == schedules_before, "schedules switched off or gone"
    unknown = {name: task for name, task in scheduled if task not in registered}
    assert not unknown, f"schedules naming tasks the code does not have: {unknown}"

    # Meanwhile, in the vendors: finance keyed Wayne Retail Group in NetSuite, and sales added a contact in HubSpot
    # and made them a customer (which the template sends to NetSuite). The contact has no company: a contact's
    # company does not reach NetSuite today (the template maps it to `company`, a bare id, where NetSuite's record
    # API wants {"id": ...}; the refused write is a dead letter), upgrade or not.
    headers, _ = netsuite("POST", netsuite_url, "/customer", {
        "companyName": "Wayne Retail Group", "url": "www.wayneretail.example", "entityStatus": "CUSTOMER-Closed Won",
        "currency": "USD", "addressBook": {"items": [{"defaultBilling": True, "defaultShipping": True,
                                                      "addressBookAddress": {"addr1": "1007 Mountain Drive",
                                                                             "city": "Chicago", "zip": "60601",
                                                                             "country": "US"}}]}})
    wayne_customer = headers["Location"].rstrip("/").rsplit("/", 1)[1]
    happy = hubspot("POST", hubspot_url, "/crm/v3/objects/contacts", {"properties": {
        "firstname": "Happy", "lastname": "Hogan", "email": "happy@stark.example", "jobtitle": "Head of security",
        "lifecyclestage": "customer"}})["id"]

    for entity in ("account", "contact"):
        synced = manage(env, "sync", entity, "--full")
        assert synced.returncode == 0, said(synced)

    db = sqlite3.connect(database)
    hank_held = rows(db, "SELECT field, reason FROM hub_heldfield WHERE external_id = '1011' AND cleared_at IS NULL")
    assert hank_held == [("last_name", "required")], hank_held
    # Each newest run succeeded: the record the old database held whole (Hank's contact: HubSpot still has his last
    # name blank) now flows with only its last name held; nothing failed, no write was given up on.
    for entity in ("account", "contact"):
        run, status = newest_run(db, entity)
        assert status == "succeeded", (entity, status)
        assert not held(db, entity), entity
        assert not rows(db, "SELECT message FROM hub_syncevent WHERE run_id = ? AND kind = 'write_failed'", run)
        assert not rows(db, "SELECT last_error FROM hub_outboundchange WHERE run_id = ? AND status != 'sent'", run)

    assert records_before <= set(rows(db, "SELECT id, entity_type FROM hub_record"))
    links_after = set(rows(db, LINKS))
    assert links_before <= links_after, f"links changed or gone: {sorted(links_before - links_after)}"

    # The new NetSuite customer is linked to the HubSpot company that had waited for it, on one new golden record.
    wayne_links = dict(rows(db, "SELECT s.slug, l.external_id FROM hub_recordlink l "
                                "JOIN connectors_connectedsystem s ON s.id = l.system_id JOIN hub_record r "
                                "ON r.id = l.record_id WHERE r.entity_type = 'account' "
                                "AND json_extract(r.\"values\", '$.name') = 'Wayne Retail Group'"))
    assert wayne_links.get("erp") == wayne_customer, wayne_links
    assert wayne_links.get("crm"), wayne_links
    assert hubspot("GET", hubspot_url, f"/crm/v3/objects/companies/{wayne_links['crm']}")["properties"]["domain"] \
        == "wayneretail.example"
    # The new HubSpot contact has a golden record and was created in NetSuite.
    happy_links = dict(rows(db, "SELECT s.slug, l.external_id FROM hub_recordlink l "
                                 "JOIN connectors_connectedsystem s ON s.id = l.system_id JOIN hub_record r "
                                 "ON r.id = l.record_id WHERE r.entity_type = 'contact' "
                                 "AND json_extract(r.\"values\", '$.email') = 'happy@stark.example'"))
    assert happy_links.get("crm") == happy, happy_links
    _, erp_contact = netsuite("GET", netsuite_url, f"/contact/{happy_links['erp']}")
    assert (erp_contact["lastName"], erp_contact["email"]) == ("Hogan", "happy@stark.example")
    new_records = set(rows(db, "SELECT id, entity_type FROM hub_record")) - records_before
    assert sorted(entity for _, entity in new_records) == ["account", "contact"], new_records
    db.close()
