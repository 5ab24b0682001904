"""Page latency of the work lists at 100,000 golden records (the design's "fast at 100k rows").

Run: .venv/bin/python bench/pages.py [--records 100000]

Uses its own database: SQLite in a temporary folder, or BENCH_DATABASE_URL if set (a scratch PostgreSQL
database, never a real one: its tables are migrated and filled). DATABASE_URL is ignored on purpose.
Fills records and links with bulk inserts, then times the records list (first page, a later page, a
filter, a sort) and a record page through Django's test client, as a signed-in Viewer.
Prints one `figure: <name> = <value> <unit>` line each.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-pages-")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_hub.settings"
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from connectors.models import ConnectedSystem
    from integration_hub import roles
    from integration_hub.models import Record, RecordLink

    call_command("migrate", verbosity=0)
    crm = ConnectedSystem.objects.create(slug="crm", name="CRM", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9")
    started = time.perf_counter()
    batch = 5000
    for start in range(0, args.records, batch):
        records = Record.objects.bulk_create(
            Record(entity_type="account" if i % 3 else "contact", display_name=f"Company {i:06d}",
                   values={"name": f"Company {i:06d}", "city": "Springfield"}) for i in range(start, min(
                       start + batch, args.records)))
        RecordLink.objects.bulk_create(RecordLink(record=r, system=crm, entity_type=r.entity_type,
                                                  external_id=str(r.pk)) for r in records)
    print(f"filled {args.records} records + links in {time.perf_counter() - started:.1f} s")
    viewer = User.objects.create_user("bench-viewer", password="x")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    client = Client()
    client.force_login(viewer)
    some = Record.objects.order_by("-id").first()

    def timed(url: str, runs: int = 5) -> float:
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        return statistics.median(samples)

    print(f"figure: records_list_first_page = {timed('/records/'):.0f} ms")
    print(f"figure: records_list_page_1000 = {timed('/records/?page=1000'):.0f} ms")
    print(f"figure: records_list_filtered = {timed('/records/?entity_type=contact&q=Company 0999'):.0f} ms")
    print(f"figure: records_list_sorted_by_name = {timed('/records/?sort=display_name'):.0f} ms")
    print(f"figure: record_page = {timed(f'/records/{some.pk}/'):.0f} ms")
    print(f"figure: api_records_first_page = {timed('/api/v1/records/'):.0f} ms")


if __name__ == "__main__":
    main()
