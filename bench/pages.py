"""Page latency of the work lists at 100,000 golden records and 100,000 open conflicts (the design's
"fast at 100k rows").

Run: .venv/bin/python bench/pages.py [--records 100000] [--conflicts 100000] [--runs 20]

Uses its own database: SQLite in a temporary folder, or BENCH_DATABASE_URL if set (a scratch PostgreSQL
database, never a real one: it is emptied, migrated and filled). DATABASE_URL is ignored on purpose.
Fills records, links and open conflicts (one per record, every field and approver rule, ages up to 60 days)
with bulk inserts, then times pages through Django's test client (server time, no network): the records
list (first page, a later page, a filter, a sort) and a record page as a signed-in Viewer; the conflict
queue (first page, a filtered page, page 500) and a decision page as a signed-in Finance approver.
Prints one `figure: <name> = <value> <unit>` line each (median, and p95 for the conflict pages).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFLICT_FIELDS = [  # field, approver, money
    ("name", "revops", False), ("phone", "revops", False), ("shipping_city", "revops", False),
    ("credit_limit", "finance", True), ("payment_terms", "finance", False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--conflicts", type=int, default=100_000, help="open conflicts (at most one per record)")
    parser.add_argument("--runs", type=int, default=20, help="requests per conflict page")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-pages-")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_hub.settings"
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from connectors.models import ConnectedSystem
    from integration_hub.kernel import roles
    from integration_hub.records.models import Record, RecordLink
    from mapping.models import ObjectMapping
    from reconciliation.conflicts.models import Conflict

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a scratch database: start empty every run
    crm = ConnectedSystem.objects.create(slug="crm", name="CRM", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9")
    erp = ConnectedSystem.objects.create(slug="erp", name="ERP", role="erp", vendor="netsuite",
                                         base_url="http://127.0.0.1:9")
    mappings = {entity: ObjectMapping.objects.create(entity_type=entity, crm_system=crm, erp_system=erp,
                                                     crm_object=entity, erp_object=entity)
                for entity in ("account", "contact")}
    created_at = Conflict._meta.get_field("created_at")
    created_at.auto_now_add = False  # the seed sets ages itself
    now = timezone.now()
    started = time.perf_counter()
    batch = 5000
    conflicts_made = 0
    for start in range(0, args.records, batch):
        records = Record.objects.bulk_create(
            Record(entity_type="account" if i % 3 else "contact", display_name=f"Company {i:06d}",
                   values={"name": f"Company {i:06d}", "city": "Springfield"}) for i in range(start, min(
                       start + batch, args.records)))
        RecordLink.objects.bulk_create(RecordLink(record=r, system=crm, entity_type=r.entity_type,
                                                  external_id=str(r.pk)) for r in records)
        wanted = records[:max(0, args.conflicts - conflicts_made)]
        Conflict.objects.bulk_create(_conflict(Conflict, r, mappings[r.entity_type], n + start, now)
                                     for n, r in enumerate(wanted))
        conflicts_made += len(wanted)
    created_at.auto_now_add = True
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does after a load: statistics, visibility map
            cursor.execute("VACUUM ANALYZE")
    print(f"filled {args.records} records + links and {conflicts_made} open conflicts "
          f"in {time.perf_counter() - started:.1f} s")

    viewer = User.objects.create_user("bench-viewer", password="x")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    finance = User.objects.create_user("bench-finance", password="x")
    finance.groups.add(Group.objects.get(name=roles.FINANCE_APPROVER))
    client = Client()
    client.force_login(viewer)
    some = Record.objects.order_by("-id").first()

    def timed(url: str, runs: int = 5) -> list[float]:
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        return samples

    def median(url: str) -> float:
        return statistics.median(timed(url))

    print(f"figure: records_list_first_page = {median('/records/'):.0f} ms")
    print(f"figure: records_list_page_1000 = {median('/records/?page=1000'):.0f} ms")
    print(f"figure: records_list_filtered = {median('/records/?entity_type=contact&q=Company 0999'):.0f} ms")
    print(f"figure: records_list_sorted_by_name = {median('/records/?sort=display_name'):.0f} ms")
    print(f"figure: record_page = {median(f'/records/{some.pk}/'):.0f} ms")
    print(f"figure: api_records_first_page = {median('/api/v1/records/'):.0f} ms")

    if not conflicts_made:
        return
    client.force_login(finance)
    decision = Conflict.objects.filter(approver_role="finance", field="credit_limit").order_by("-id").first()
    pages = {
        "conflict_queue_first_page": "/conflicts/",
        "conflict_queue_filtered": "/conflicts/?approver_role=finance&field=credit_limit&min_stake=5000&age=7d",
        "conflict_queue_page_500": "/conflicts/?page=500",
        "conflict_queue_sorted_by_stake": "/conflicts/?sort=-amount_at_stake",
        "conflict_decision_page": f"/conflicts/{decision.pk}/",
        "api_conflicts_first_page": "/api/v1/conflicts/?status=open",
    }
    for name, url in pages.items():
        timed(url, runs=2)  # warm caches, as a page someone keeps open would be
        samples = sorted(timed(url, runs=args.runs))
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        print(f"figure: {name}_median = {statistics.median(samples):.0f} ms")
        print(f"figure: {name}_p95 = {p95:.0f} ms")


def _conflict(Conflict, record, mapping, n: int, now):
    """One open conflict: fields, approver rules, owners, money at stake and ages spread over the queue."""
    field, approver, money = CONFLICT_FIELDS[n % len(CONFLICT_FIELDS)]
    if money:
        crm = {"amount": f"{1000 + n % 50_000}.00", "currency": "USD"}
        erp = {"amount": "1000.00", "currency": "USD"}
    else:
        crm, erp = f"{field} {n} (CRM)", f"{field} {n} (ERP)"
    return Conflict(
        record=record, mapping=mapping, field=field, base_value=None, crm_value=crm, erp_value=erp,
        crm_updated_at=now, erp_updated_at=now, policy="queue" if approver == "finance" else "manual_review",
        approver_role=approver, reason="both changed (manual review)", entity_type=record.entity_type,
        account_id=record.pk if record.entity_type == "account" else None, account_owner=f"owner-{n % 20}",
        amount_at_stake=Decimal(n % 50_000 if money else 0), stake_currency="USD" if money else "",
        created_at=now - timedelta(minutes=n % (60 * 24 * 60)))


if __name__ == "__main__":
    main()
