"""Build the database that tests/upgrade/test_upgrade_in_place.py upgrades, with an older checkout's own code.

Run it from the checkout of the commit to capture (its code and migrations, the project's virtualenv):

    git worktree add /tmp/base 79e2e6b && ln -s /work/main/.venv /tmp/base/.venv
    cd /tmp/base && /work/main/.venv/bin/python /work/main/tests/upgrade/make_fixture.py \\
        /work/main/tests/upgrade/db_at_79e2e6b.sql.gz

db_at_79e2e6b.sql.gz and sandboxes_at_79e2e6b.json.gz were made this way at commit 79e2e6b (the script names the
commit in the dump's first line and in the sandboxes file's name). It migrates a temporary SQLite database, starts
both sandbox emulators in-process (seed "demo"), registers them as two-way systems, installs, signs off and
publishes the default HubSpot <-> NetSuite template (quote to cash switched on, as the demo does), syncs every
entity parent first, plays the demo scenarios in the sandboxes and syncs again (open conflicts, a price held for
finance, a blocked edit, a held contact, a closed deal becoming an order), schedules each mapping's sync on beat,
scans for duplicates and reconciles. It writes the database as SQL text (sqlite3's iterdump), gzip-compressed, to
OUT, and beside it the two sandboxes' state as they were when the database was made (the vendors' side of the same
world: the records the hub created there, the custom HubSpot properties the template writes to), which the test
serves again. Credentials are encrypted with FIELD_ENCRYPTION_KEY below, which the test uses too. Nothing is
written into the checkout. Run at another commit, it makes files named after that commit.

The hub's own modules are looked up by name at run time (importlib, apps.get_model), as they are at the commit
being captured: this file is not updated when modules move, it runs against the old checkout.
"""
from __future__ import annotations

import gzip
import importlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

# Fixed keys shared with the test: the dump's credentials are encrypted with this Fernet key. Test data only.
SECRET_KEY = "upgrade-fixture-secret-key-not-for-production-0123456789"
FIELD_ENCRYPTION_KEY = "dXBncmFkZS1maXh0dXJlLWZlcm5ldC1rZXktMDEyMzQ="

# Parent first: documents point at accounts and items, prices at items, contacts at accounts.
ENTITIES = ("item", "price", "account", "contact", "quote", "deal", "invoice")
DOCUMENTS = ("quote", "deal", "invoice")  # installed switched off; the demo switches them on
# Role groups (created by a migration) by name.
REVOPS, FINANCE, VIEWER = "RevOps admin", "Finance approver", "Viewer"


def environment(workdir: Path) -> dict[str, str]:
    """The settings the old checkout reads: a private database and data folder, fixed keys, no Redis."""
    return {
        "DJANGO_SETTINGS_MODULE": "integration_hub.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'hub.sqlite3'}",
        "DATA_DIR": str(workdir / "data"),
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
        "REDIS_URL": "",  # set and empty: no Redis, and a .env file cannot bring one in
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DEBUG": "false",
    }


def populate(workdir: Path) -> dict[str, Path]:
    """Migrate, connect two sandboxes, publish the template, sync, scan and reconcile; the sandboxes' state files."""
    # Django's modules once django.setup() has run with the old checkout's settings.
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    sandbox = importlib.import_module("connectors.sandbox")
    demo_tba = importlib.import_module("connectors.sandbox.netsuite").DEMO_TBA
    services = importlib.import_module("mapping.services")
    ConnectedSystem = apps.get_model("connectors", "ConnectedSystem")
    ObjectMapping = apps.get_model("mapping", "ObjectMapping")

    call_command("migrate", verbosity=0)
    User = get_user_model()
    User.objects.create_superuser(username="admin", password="pw-admin-upgrade", email="admin@example.com")
    users = {}
    for username, role in (("revops", REVOPS), ("finance", FINANCE), ("viewer", VIEWER)):
        users[username] = User.objects.create_user(username=username, password=f"pw-{username}-upgrade",
                                                   email=f"{username}@example.com", is_staff=username == "revops")
        users[username].groups.add(Group.objects.get(name=role))

    states = {vendor: workdir / f"sandbox-{vendor}.json" for vendor in ("hubspot", "netsuite")}
    hubspot = sandbox.start_emulator("hubspot", seed="demo", state_file=str(states["hubspot"]))
    netsuite = sandbox.start_emulator("netsuite", seed="demo", state_file=str(states["netsuite"]))
    try:
        crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                             base_url=hubspot.url, credentials={"access_token": "sandbox-token"},
                                             rollout_stage="two_way")
        erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                             base_url=netsuite.url, credentials=dict(demo_tba),
                                             rollout_stage="two_way")
        services.template_prepare_crm(crm_system=crm)
        for mapping in services.template_install(crm_system=crm, erp_system=erp, user=users["revops"]):
            draft = mapping.versions.get(status="draft")
            if draft.needs_finance_signoff:
                services.version_sign_off(version=draft, user=users["finance"])
            services.version_publish(version=draft, user=users["revops"])
        for mapping in ObjectMapping.objects.filter(entity_type__in=DOCUMENTS):
            mapping.is_enabled = True
            mapping._change_reason = "quote to cash switched on"
            mapping.save(update_fields=["is_enabled", "updated_at"])

        print("== first sync, parent first", flush=True)
        for entity in ENTITIES:
            call_command("sync", entity)
        print("== the orders and estimates just made: their numbers come back to the CRM", flush=True)
        for entity in DOCUMENTS:
            call_command("sync", entity)
        call_command("demo_scenarios", crm="crm", erp="erp")
        print("== sync after the demo scenarios", flush=True)
        for entity in ENTITIES:
            call_command("sync", entity)
        for mapping in ObjectMapping.objects.all():  # each mapping's beat schedule, on now that its task is known
            services.mapping_sync_schedule(mapping=mapping)
        for entity in ("account", "contact", "item"):
            call_command("find_duplicates", entity)
        for entity in ("account", "contact", "item"):
            call_command("reconcile", entity)
    finally:
        hubspot.stop()  # saves the emulator's state file
        netsuite.stop()
    return states


def build(out: Path) -> None:
    checkout = Path.cwd().resolve()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True,
                            check=True).stdout.strip()
    workdir = Path(tempfile.mkdtemp(prefix="hub-upgrade-fixture-"))
    os.environ.update(environment(workdir))
    sys.path.insert(0, str(checkout))

    import django  # the checkout's settings are in the environment only now

    django.setup()
    project = importlib.import_module("integration_hub")
    if not Path(project.__file__).resolve().is_relative_to(checkout):
        sys.exit(f"integration_hub was imported from {project.__file__}, not from {checkout}")
    states = populate(workdir)

    from django.db import connections  # after django.setup(), as above

    connections.close_all()
    database = sqlite3.connect(workdir / "hub.sqlite3")
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as handle:
        handle.write(f"-- Integration Hub database made at commit {commit} by tests/upgrade/make_fixture.py\n")
        for line in database.iterdump():
            handle.write(line + "\n")
    sandboxes = out.with_name(f"sandboxes_at_{commit}.json.gz")
    with gzip.open(sandboxes, "wt", encoding="utf-8", compresslevel=9) as handle:
        json.dump({vendor: json.loads(path.read_text()) for vendor, path in states.items()}, handle,
                  separators=(",", ":"), sort_keys=True)
    counts = {name: database.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
              for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                              "AND name NOT LIKE 'sqlite_%' ORDER BY name")}
    database.close()
    print(f"wrote {out} ({out.stat().st_size} bytes) and {sandboxes.name} ({sandboxes.stat().st_size} bytes) "
          f"at commit {commit}; rows per table:")
    for name, count in counts.items():
        if count:
            print(f"  {name:45} {count}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: cd <checkout> && python {sys.argv[0]} OUT.sql.gz")
    build(Path(sys.argv[1]).resolve())
