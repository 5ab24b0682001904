"""Reconciliation at scale: time and peak memory to reconcile `--linked` linked accounts on PostgreSQL.

The hub holds `--linked` golden accounts linked in both systems; the two systems hold the same accounts, except
for a few discrepancies planted on purpose (a city changed behind the integration's back, customers deleted in
the ERP, companies the hub never linked). The report must find exactly those. Target at 1,000,000 linked
accounts: < 60 s and < 500 MB.

What is measured is the hub's own work -- reading both systems page by page through the connectors' `changes()`
iterator, mapping every record through the published account rules, the link lookups, the digest join, the
field-by-field check of the candidates, the one-sided scan and storing the report -- in a fresh process, so the
peak memory is the reconciliation's. The two systems are served by stand-in connectors that generate the vendors'
pages in memory (the HubSpot and NetSuite connector classes with `changes`/`get_many`/`describe` overridden, and
count queries answering the size): the sandbox emulators answer each SuiteQL or list page by scanning their
whole store, which at a million records measures the emulator, not the hub. Against real vendors the read
takes what their API limits allow (HubSpot at 100 requests / 10 s and 100 records a page: ~17 min for 1M).

Run: .venv/bin/python bench/reconcile.py [--linked 1000000]
Uses BENCH_DATABASE_URL (a scratch PostgreSQL database: its tables are migrated and filled), else SQLite in a
temporary folder; DATABASE_URL is ignored on purpose. Prints one `figure: <name> = <value> <unit>` line per figure.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # when both systems last changed (the hub read them since)
CITIES = ["Springfield", "Austin", "Chicago", "Malibu", "Leeds"]


def every(n: int, k: int) -> list[int]:
    """k record numbers spread over 0..n-1."""
    step = max(1, n // max(1, k))
    return list(range(step // 2, n, step))[:k]


class Plan:
    """The accounts, and the discrepancies planted in them."""

    def __init__(self, linked: int) -> None:
        self.linked = linked
        self.city_changed = set(every(linked, 10))
        self.deleted_in_erp = set(every(linked, 7)) - self.city_changed
        self.unlinked_crm = 5  # companies only in the CRM (numbers linked .. linked+4)


def erp_customer(i: int) -> dict:
    city = CITIES[i % len(CITIES)]
    return {"entityId": f"B-{i:07d}", "companyName": f"Bench Company {i}", "phone": f"+1 217 555 {i % 10000:04d}",
            "terms": "Net 30", "currency": "USD", "creditLimit": 1000 * (i % 50), "category": "Retail",
            "entityStatus": "CUSTOMER-Closed Won", "balance": 10 * (i % 7), "overdueBalance": 0,
            "addressBook": [{"defaultShipping": True, "defaultBilling": True, "addressBookAddress": {
                "addr1": f"{i} Main St", "city": city, "zip": f"{10000 + i % 89999}", "country": "US"}}]}


def crm_company(i: int) -> dict:
    """The same account as the CRM holds it (HubSpot properties, as the account rules write them)."""
    city = CITIES[i % len(CITIES)]
    return {"name": f"Bench Company {i}", "phone": f"+1217555{i % 10000:04d}", "address": f"{i} Main St",
            "city": city, "zip": f"{10000 + i % 89999}", "country": "United States", "industry": "RETAIL",
            "domain": None, "lifecyclestage": "customer", "erp_customer_number": f"B-{i:07d}",
            "erp_billing_street": f"{i} Main St", "erp_billing_city": city, "erp_billing_zip": f"{10000 + i % 89999}",
            "erp_billing_country": "US", "erp_credit_limit": f"{1000 * (i % 50)}.00", "erp_currency": "USD",
            "erp_payment_terms": "Net 30", "erp_credit_hold": None, "erp_outstanding_balance": f"{10 * (i % 7)}.00",
            "erp_overdue_balance": "0.00"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linked", type=int, default=1_000_000)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the measured child process
    args = parser.parse_args()
    if not args.measure:
        scratch = tempfile.mkdtemp(prefix="bench-reconcile-")
        os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
        os.environ["DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_hub.settings"
    import django

    django.setup()
    install_stand_ins(Plan(args.linked))
    if args.measure:
        measure()
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed(Plan(args.linked))
    print(f"seeded {args.linked} linked accounts in {time.perf_counter() - started:.0f} s")
    subprocess.run([sys.executable, __file__, "--measure", "--linked", str(args.linked)], check=True,
                   env={**os.environ})


def install_stand_ins(plan: Plan) -> None:
    """The HubSpot and NetSuite connector classes, reading generated pages instead of HTTP."""
    from connectors import registry
    from connectors.base import FieldInfo, Page, RemoteRecord
    from connectors.hubspot import HubSpotConnector
    from connectors.netsuite import NetSuiteConnector

    def compiled_account():
        from integration_hub.sync.rules import compile_mapping
        from mapping.models import ObjectMapping

        return compile_mapping(ObjectMapping.objects.get(entity_type="account"))

    class StandIn:
        side = ""
        count_query = "stand-in count query"

        def _numbers(self) -> list[int]:
            numbers = [i for i in range(plan.linked) if not (self.side == "erp" and i in plan.deleted_in_erp)]
            if self.side == "crm":
                numbers += list(range(plan.linked, plan.linked + plan.unlinked_crm))
            return numbers

        def _fields(self, i: int) -> dict:
            if self.side == "erp":
                return erp_customer(i)
            fields = crm_company(i)
            if i in plan.city_changed:
                fields["city"] = "Shelbyville"
            return fields

        def _record(self, i: int) -> RemoteRecord:
            return RemoteRecord(external_id=str(1_000_000_000 * (self.side == "crm") + i), updated_at=T0,
                                fields=self._fields(i))

        def changes(self, object, since, page_size=100, **options):
            numbers = self._numbers()
            size = 100 if self.side == "crm" else 1000  # the vendors' page sizes
            for start in range(0, len(numbers), size):
                yield Page([self._record(i) for i in numbers[start:start + size]], [], None)

        def get_many(self, object, ids, **options):
            offset = 1_000_000_000 * (self.side == "crm")
            return [self._record(int(x) - offset) for x in ids]

        def describe(self, object):
            compiled = compiled_account()
            return [FieldInfo(path.split(".")[0], path.split(".")[0], "string") for path in compiled.paths[self.side]]

        def count(self, object):
            return plan.linked + plan.unlinked_crm if self.side == "crm" else plan.linked - len(plan.deleted_in_erp)

        def check_auth(self):
            from connectors.base import AuthCheck

            return AuthCheck(True, "stand-in")

    class CRM(StandIn, HubSpotConnector):
        side = "crm"

    class ERP(StandIn, NetSuiteConnector):
        side = "erp"

    registry._CONNECTORS["hubspot"], registry._CONNECTORS["netsuite"] = CRM, ERP


def seed(plan: Plan) -> None:
    """Users, systems, the published account rules, and the golden records with both links (bulk: set-up)."""
    from django.contrib.auth.models import Group, User

    from connectors.models import ConnectedSystem
    from integration_hub.kernel import roles
    from integration_hub.kernel.bulk import insert_many
    from integration_hub.records.models import Record, RecordLink
    from integration_hub.sync.rules import compile_mapping
    from mapping import services
    from mapping.models import ObjectMapping, VersionStatus

    revops = User.objects.create_user("bench-revops")
    revops.groups.add(Group.objects.get(name=roles.REVOPS_ADMIN))
    finance = User.objects.create_user("bench-finance")
    finance.groups.add(Group.objects.get(name=roles.FINANCE_APPROVER))
    crm = ConnectedSystem.objects.create(slug="bench-crm", name="CRM", role="crm", vendor="hubspot",
                                         base_url="http://stand-in.invalid", credentials={"access_token": "x"},
                                         rollout_stage="two_way")
    erp = ConnectedSystem.objects.create(slug="bench-erp", name="ERP", role="erp", vendor="netsuite",
                                         base_url="http://stand-in.invalid", rollout_stage="two_way",
                                         credentials={"account_id": "1", "consumer_key": "k", "consumer_secret": "s",
                                                      "token_id": "t", "token_secret": "s"})
    services.template_install(crm_system=crm, erp_system=erp, user=revops)
    account = ObjectMapping.objects.get(entity_type="account")
    draft = account.versions.get(status=VersionStatus.DRAFT)
    services.version_sign_off(version=draft, user=finance)
    services.version_publish(version=draft, user=revops, check_remote=False)
    account.refresh_from_db()
    to_canonical = compile_mapping(account).mappers["erp"].to_canonical
    chunk = 10_000
    for start in range(0, plan.linked, chunk):
        numbers = range(start, min(plan.linked, start + chunk))
        values = [to_canonical(erp_customer(i)).values for i in numbers]
        records = [Record(entity_type="account", values=v, display_name=v.get("name", "")) for v in values]
        insert_many(Record, records)
        links = []
        for i, record, v in zip(numbers, records, values, strict=True):
            for system, external_id in ((erp, str(i)), (crm, str(1_000_000_000 + i))):
                links.append(RecordLink(record=record, system=system, entity_type="account", external_id=external_id,
                                        base_snapshot=v, remote_updated_at=T0, last_synced_at=T0))
        insert_many(RecordLink, links)


def measure() -> None:
    from mapping.models import ObjectMapping
    from reconciliation.reports.reconcile import report_create, report_run

    plan = Plan(int(sys.argv[sys.argv.index("--linked") + 1]))
    account = ObjectMapping.objects.get(entity_type="account")
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    report = report_run(report=report_create(mapping=account, trigger="command"))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # The machine's load tells how much of a core the run had: on a busy machine wall time exceeds CPU time.
    print(f"  load average (1 min) {load:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert report.status == "succeeded", report.error
    found_city = report.items.filter(kind="field", field="shipping_city").count()
    found_deleted = report.items.filter(kind="only_crm", detail__contains="no longer returns").count()
    found_unlinked = report.items.filter(kind="only_crm", detail__contains="linked to nothing").count()
    exact = (found_city == len(plan.city_changed) and found_deleted == len(plan.deleted_in_erp)
             and found_unlinked == plan.unlinked_crm and report.mismatched == len(plan.city_changed)
             and report.only_erp == 0)
    print(f"  report {report.pk}: compared {report.compared}, mismatched {report.mismatched} (planted "
          f"{len(plan.city_changed)}), only in the CRM {report.only_crm} (planted {len(plan.deleted_in_erp)} deleted "
          f"+ {plan.unlinked_crm} unlinked), consistency {report.score_percent}; found exactly the planted: {exact}")
    print(f"figure: reconcile_{plan.linked}_linked = {wall:.1f} s (cpu {cpu:.1f} s)")
    print(f"figure: reconcile_{plan.linked}_linked_rate = {plan.linked / wall:.0f} linked records/s")
    print(f"figure: reconcile_peak_memory = {peak:.0f} MB")
    if not exact:
        sys.exit("the report did not find exactly the planted discrepancies")


if __name__ == "__main__":
    main()
