"""End-to-end sync throughput: an initial sync of ERP customers into the hub and the CRM, then an
incremental sync of a few changed records, against both sandbox emulators (rate limits off).

Run: .venv/bin/python bench/sync.py [--records 5000] [--changed 100]

Uses its own database: SQLite in a temporary folder, or BENCH_DATABASE_URL (a scratch PostgreSQL
database, never a real one: its tables are migrated and filled). DATABASE_URL is ignored on purpose.
The emulators run in this process on free ports. Prints one `figure: <name> = <value> <unit>` line each:
initial sync records/s (pull, match, merge, history, outbox, and the writes sent), peak memory, the
incremental sync's seconds, and the engine's CPU per record.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-sync-")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_hub.settings"
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from connectors.models import ConnectedSystem
    from connectors.sandbox import start_emulator
    from connectors.sandbox.netsuite import DEMO_TBA
    from connectors.services import connector_session
    from integration_hub import roles
    from integration_hub.sync import engine, outbox
    from mapping import services
    from mapping.models import VersionStatus

    call_command("migrate", verbosity=0)
    revops = User.objects.create_user("bench-revops")
    revops.groups.add(Group.objects.get(name=roles.REVOPS_ADMIN))
    finance = User.objects.create_user("bench-finance")
    finance.groups.add(Group.objects.get(name=roles.FINANCE_APPROVER))
    hubspot, netsuite = start_emulator("hubspot"), start_emulator("netsuite")
    crm = ConnectedSystem.objects.create(slug="bench-crm", name="CRM", role="crm", vendor="hubspot",
                                         base_url=hubspot.url, credentials={"access_token": "sandbox-token"},
                                         rollout_stage="two_way", rate_limit="off")
    erp = ConnectedSystem.objects.create(slug="bench-erp", name="ERP", role="erp", vendor="netsuite",
                                         base_url=netsuite.url, credentials=dict(DEMO_TBA), rollout_stage="two_way")
    services.template_prepare_crm(crm_system=crm)
    account = next(m for m in services.template_install(crm_system=crm, erp_system=erp, user=revops)
                   if m.entity_type == "account")
    draft = account.versions.get(status=VersionStatus.DRAFT)
    services.version_sign_off(version=draft, user=finance)
    services.version_publish(version=draft, user=revops)
    account.refresh_from_db()
    account.erp_creates = "always"  # every ERP customer becomes a golden record and a CRM company
    account.save()

    customers = [{"externalId": f"B-{i:07d}", "entityId": f"B-{i:07d}", "companyName": f"Bench Company {i}",
                  "phone": f"+1 217 555 {i % 10000:04d}", "terms": "Net 30", "currency": "USD",
                  "creditLimit": 1000 * (i % 50), "category": "Retail", "entityStatus": "CUSTOMER-Closed Won"}
                 for i in range(args.records)]
    with connector_session(erp) as connector:
        for start in range(0, len(customers), 1000):
            connector.upsert_many("customer", customers[start:start + 1000], "externalId")

    wall, cpu = time.perf_counter(), time.process_time()
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=account))
    outbox.dispatch_all()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    records = run.counts["read"]
    print(f"initial sync: {run.get_status_display()}, {records} records read, counts {run.counts}")
    print(f"figure: sync_initial = {records / wall:.0f} records/s")
    print(f"figure: sync_cpu_per_record = {cpu / records * 1000:.2f} ms/record (engine, emulators, database)")
    print(f"figure: sync_peak_memory = {peak_mb:.0f} MB")

    with connector_session(erp) as connector:
        connector.upsert_many("customer", [{"externalId": f"B-{i:07d}", "terms": "Net 60"}
                                           for i in range(args.changed)], "externalId")
    wall = time.perf_counter()
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=account))
    outbox.dispatch_all()
    wall = time.perf_counter() - wall
    print(f"incremental sync: {run.counts}")

    print(f"figure: sync_incremental_{args.changed}_of_{args.records} = {wall:.2f} s")
    hubspot.stop()
    netsuite.stop()


if __name__ == "__main__":
    main()
