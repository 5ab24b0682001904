"""End-to-end sync throughput on PostgreSQL, against both sandbox emulators (rate limits off).

1. Initial sync: the ERP holds `--accounts` customers and `--contacts` contacts (each pointing at its
   customer); the account and contact mappings create every one of them as a golden record (with history)
   and in the CRM (the writes sent, the new CRM ids linked). Prints records/s end to end, the engine's CPU
   per record, and the peak memory of this process.
2. Incremental sync: `--linked` accounts linked in both systems (the initial sync's, plus filler accounts put
   straight into the emulators and the hub), then `--changed` of them edited in the ERP: seconds for the
   sync that pulls, merges, queues and sends those changes.
3. Quote to cash: `--deals` HubSpot deals with `--deal-lines` line items each (20 ERP items, linked by an item
   sync first), closed won at once for the synced companies: orders created per second (the deal sync that
   reads them and queues the orders, and the dispatch that creates them in NetSuite in batch jobs), and the
   minutes end to end until every order's number is back on its deal in HubSpot.

Run: .venv/bin/python bench/sync.py [--accounts 100000] [--contacts 200000] [--linked 1000000] [--changed 1000]
     [--deals 10000] [--deal-lines 5]

Uses its own database: BENCH_DATABASE_URL (a scratch PostgreSQL database, never a real one: its tables are
migrated and filled), else SQLite in a temporary folder. DATABASE_URL is ignored on purpose. Each emulator
runs in a subprocess (the vendor's own machine, in real life), so this process's CPU and memory are the hub's.
Prints one `figure: <name> = <value> <unit>` line per figure.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@contextmanager
def emulator_process(vendor: str):
    """Start `vendor`'s emulator in a subprocess on a free port; yield its URL."""
    code = f"from connectors.sandbox import serve; serve({vendor!r}, port=0)"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "listening on " not in line:
            raise RuntimeError(f"{vendor} emulator did not start: {line!r}")
        PIDS[vendor] = process.pid
        yield line.split("listening on ")[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


PROFILE: dict = {"dir": None}
PIDS: dict[str, int] = {}  # emulator -> process id


def _proc_cpu(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a live process on this machine (0 when it cannot be read); `children`: with
    those of its children that have exited (PostgreSQL's server: the backends of closed connections)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_split() -> dict[str, float]:
    """CPU seconds used so far by this process, each emulator and the local PostgreSQL server's processes
    (when it runs on this machine), to show where a phase's time goes."""
    split = {"hub": time.process_time(), **{vendor: _proc_cpu(pid) for vendor, pid in PIDS.items()}}
    comm: dict[int, tuple[str, int]] = {}  # pid -> (command, parent pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
                comm[int(entry.name)] = (name, int(rest[1]))
            except (OSError, ValueError):
                continue
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return split  # SQLite runs inside this process
    split["postgresql"] = sum(_proc_cpu(pid, children=comm.get(parent, ("",))[0] != "postgres")
                              for pid, (name, parent) in comm.items() if name == "postgres")
    return split


def print_split(name: str, before: dict[str, float], records: int) -> None:
    after = cpu_split()
    parts = ", ".join(f"{who} {(after[who] - before.get(who, 0.0)) / records * 1000:.3f}" for who in after)
    print(f"figure: {name}_cpu_split = {parts} ms/record")


@contextmanager
def profiled(name: str):
    """cProfile the block into `<--profile DIR>/<name>.prof` when asked (the figures then include its cost)."""
    if not PROFILE["dir"]:
        yield
        return
    import cProfile

    os.makedirs(PROFILE["dir"], exist_ok=True)
    with cProfile.Profile() as profile:
        yield
    profile.dump_stats(os.path.join(PROFILE["dir"], f"{name}.prof"))


@contextmanager
def dispatcher_process():
    """A second process sending the outbox while the sync runs, as the worker's second process does in a
    deployment (the sync task asks for a dispatch as it queues writes). Yields a function that waits until
    everything queued is sent and returns (sent, dead, the process's CPU seconds)."""
    process = subprocess.Popen([sys.executable, __file__, "--dispatcher"], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    done: dict = {}

    def finish() -> tuple[int, int, float]:
        process.stdin.close()  # "the sync is over": send what is left, then stop
        line = process.stdout.readline().split()
        if len(line) != 2:
            raise RuntimeError("the dispatcher process stopped without its totals (its error is printed above)")
        sent, dead = (int(n) for n in line)
        _, _, usage = os.wait4(process.pid, 0)
        done["finished"] = True
        return sent, dead, usage.ru_utime + usage.ru_stime

    try:
        yield finish
    finally:
        if not done:
            process.kill()
            process.wait()


def serve_dispatcher() -> None:
    """--dispatcher (started by dispatcher_process): send what is due until stdin closes and nothing is left."""
    import select

    import django

    django.setup()
    from integration_hub.sync import outbox

    sent = dead = 0
    stopping = False
    while True:
        result = outbox.dispatch_all_until_empty()
        sent, dead = sent + result.sent, dead + result.dead
        if stopping and not (result.sent or result.dead or result.retrying):
            break
        idle = 0.05 if result.sent else 0.25  # as a worker waits for the next dispatch task: not a busy poll
        if not stopping and select.select([sys.stdin], [], [], idle)[0] and not sys.stdin.read(1):
            stopping = True
    print(sent, dead, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--linked", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--deal-lines", type=int, default=5)
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each measured phase into DIR")
    parser.add_argument("--dispatcher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dispatcher:
        serve_dispatcher()
        return
    PROFILE["dir"] = args.profile
    scratch = tempfile.mkdtemp(prefix="bench-sync-")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_hub.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with emulator_process("hubspot") as crm_url, emulator_process("netsuite") as erp_url:
        run_bench(args, crm_url, erp_url)


def run_bench(args, crm_url: str, erp_url: str) -> None:
    from django.contrib.auth.models import Group, User

    from connectors.models import ConnectedSystem
    from connectors.sandbox.netsuite import DEMO_TBA
    from connectors.services import connector_session
    from integration_hub.kernel import roles
    from integration_hub.sync import engine, outbox
    from mapping import services
    from mapping.models import VersionStatus

    revops = User.objects.create_user("bench-revops")
    revops.groups.add(Group.objects.get(name=roles.REVOPS_ADMIN))
    finance = User.objects.create_user("bench-finance")
    finance.groups.add(Group.objects.get(name=roles.FINANCE_APPROVER))
    crm = ConnectedSystem.objects.create(slug="bench-crm", name="CRM", role="crm", vendor="hubspot",
                                         base_url=crm_url, credentials={"access_token": "sandbox-token"},
                                         rollout_stage="two_way", rate_limit="off")
    erp = ConnectedSystem.objects.create(slug="bench-erp", name="ERP", role="erp", vendor="netsuite",
                                         base_url=erp_url, credentials=dict(DEMO_TBA), rollout_stage="two_way")
    services.template_prepare_crm(crm_system=crm)
    mappings = {m.entity_type: m for m in services.template_install(crm_system=crm, erp_system=erp, user=revops)}
    for entity in ("account", "contact"):
        mapping = mappings[entity]
        draft = mapping.versions.get(status=VersionStatus.DRAFT)
        services.version_sign_off(version=draft, user=finance)
        services.version_publish(version=draft, user=revops)
        mapping.refresh_from_db()
        mapping.erp_creates = "always"  # every ERP customer and contact becomes a golden record and a CRM one
        mapping.save()

    # --- 1. initial sync ------------------------------------------------------------------------------
    started = time.perf_counter()
    customer_ids = seed_erp_accounts(erp, 0, args.accounts)
    seed_erp_contacts(erp, customer_ids, args.contacts)
    print(f"seeded the ERP with {args.accounts} customers and {args.contacts} contacts "
          f"in {time.perf_counter() - started:.0f} s")

    wall, cpu, split = time.perf_counter(), time.process_time(), cpu_split()
    counts = {}
    with dispatcher_process() as all_sent:
        for entity in ("account", "contact"):
            with profiled(f"initial-{entity}-sync"):
                run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mappings[entity]))
            counts[entity] = run.counts
            print(f"  {entity}: {run.get_status_display()}, {run.counts}")
        sent, dead, dispatcher_cpu = all_sent()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    records = sum(c["read"] for c in counts.values())
    print(f"  sent {sent}, dead {dead} (by the dispatcher process, while the syncs ran and after)")
    print(f"figure: sync_initial = {records / wall:.0f} records/s ({records} records in {wall:.1f} s, until the last "
          f"write was sent)")
    print(f"figure: sync_cpu_per_record = {(cpu + dispatcher_cpu) / records * 1000:.3f} ms/record (the hub: the "
          f"syncing and the dispatching process, with their database client; the emulators run in their own "
          f"processes)")
    print_split("sync_initial", {**split, "hub": split["hub"] - dispatcher_cpu}, records)  # hub: both processes
    print(f"figure: sync_peak_memory = {peak_mb():.0f} MB")

    # --- 2. incremental sync among many linked records -------------------------------------------------
    account = mappings["account"]
    settle = engine.sync_run_execute(run=engine.sync_run_create(mapping=account))  # reads the CRM's echoes
    outbox.dispatch_all_until_empty()
    print(f"  settling run: {settle.counts}")
    filler = max(0, args.linked - args.accounts)
    if filler:
        started = time.perf_counter()
        seed_linked_filler(crm, erp, account, args.accounts, filler)
        print(f"seeded {filler} more linked accounts in {time.perf_counter() - started:.0f} s")
    time.sleep(1.1)  # vendors' modification times are whole seconds: the edits below come after every cursor
    step = max(1, args.linked // args.changed)
    changed = [f"B-{i:07d}" for i in range(0, step * args.changed, step)][:args.changed]
    with connector_session(erp) as connector:
        for start in range(0, len(changed), 1000):
            connector.upsert_many("customer", [{"externalId": ext, "terms": "Net 60"}
                                               for ext in changed[start:start + 1000]], "externalId")
    wall, cpu = time.perf_counter(), time.process_time()
    with profiled("incremental-sync"):
        run = engine.sync_run_execute(run=engine.sync_run_create(mapping=account))
    with profiled("incremental-dispatch"):
        sent = outbox.dispatch_all_until_empty()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  incremental: {run.counts}, sent {sent.sent}")
    print(f"figure: sync_incremental_{len(changed)}_of_{args.linked} = {wall:.2f} s")
    print(f"figure: sync_incremental_{len(changed)}_of_{args.linked}_hub_cpu = {cpu:.2f} s (this process; the rest "
          f"is the emulators answering)")
    print(f"figure: sync_peak_memory_all = {peak_mb():.0f} MB")
    if args.deals:
        bench_quote_to_cash(args, crm, erp, mappings, revops, finance)


def bench_quote_to_cash(args, crm, erp, mappings, revops, finance) -> None:
    """Part 3: deals closed at once become ERP orders; their numbers come back to the deals."""
    from connectors.services import connector_session
    from integration_hub.records.models import Record, RecordLink
    from integration_hub.sync import engine, outbox
    from mapping import services
    from mapping.models import VersionStatus

    for entity in ("item", "deal"):
        mapping = mappings[entity]
        draft = mapping.versions.get(status=VersionStatus.DRAFT)
        services.version_sign_off(version=draft, user=finance)
        services.version_publish(version=draft, user=revops)
        mapping.refresh_from_db()
        mapping.is_enabled = True
        mapping.save()
    started = time.perf_counter()
    with connector_session(erp) as connector:
        connector.upsert_many("inventoryItem", [
            {"externalId": f"ITEM-{n:02d}", "itemId": f"SKU-{n:02d}", "displayName": f"Item {n}",
             "basePrice": 10 + n} for n in range(20)], "externalId")
    engine.sync_run_execute(run=engine.sync_run_create(mapping=mappings["item"]))
    outbox.dispatch_all_until_empty()
    products = list(RecordLink.objects.filter(system=crm, entity_type="item").values_list("external_id", flat=True))
    companies = list(RecordLink.objects.filter(system=crm, entity_type="account").order_by("id")
                     .values_list("external_id", flat=True)[:1000])
    with connector_session(crm) as connector:
        for start in range(0, args.deals, 100):
            connector.upsert_many("deals", [{
                "dealname": f"Bench deal {i}", "dealstage": "closedwon", "deal_currency_code": "USD",
                "payment_terms": "Net 30", "associations": {"companies": [companies[i % len(companies)]]},
                "line_items": [{"hs_product_id": products[(i + n) % len(products)], "quantity": str(1 + (i + n) % 40),
                                "price": f"{10 + n}.{i % 100:02d}", "discount": "0.25" if n % 2 else "0"}
                               for n in range(args.deal_lines)]}
                for i in range(start, min(args.deals, start + 100))], None)
    print(f"seeded {len(products)} items and {args.deals} closed deals with {args.deal_lines} lines each "
          f"in {time.perf_counter() - started:.0f} s")

    deal = mappings["deal"]
    wall = time.perf_counter()
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=deal))
    sent = outbox.dispatch_all_until_empty()
    created = time.perf_counter() - wall
    orders = RecordLink.objects.filter(system=erp, entity_type="deal").count()
    print(f"  deals: {run.counts}, sent {sent.sent}, dead {sent.dead}")
    print(f"figure: q2c_orders_created = {orders / created:.0f} orders/s ({orders} orders in {created:.1f} s)")
    back = engine.sync_run_execute(run=engine.sync_run_create(mapping=deal))  # the orders' numbers come back
    sent = outbox.dispatch_all_until_empty()
    wall = time.perf_counter() - wall
    numbered = Record.objects.filter(entity_type="deal", values__has_key="order_number").count()
    print(f"  order numbers back: {back.counts}, sent {sent.sent}; {numbered} deals have their order number")
    print(f"figure: q2c_end_to_end_{args.deals}_deals = {wall / 60:.1f} min")


def customer(i: int) -> dict:
    return {"externalId": f"B-{i:07d}", "entityId": f"B-{i:07d}", "companyName": f"Bench Company {i}",
            "phone": f"+1 217 555 {i % 10000:04d}", "terms": "Net 30", "currency": "USD",
            "creditLimit": 1000 * (i % 50), "category": "Retail", "entityStatus": "CUSTOMER-Closed Won"}


def seed_erp_accounts(erp, first: int, count: int) -> list[str]:
    from connectors.services import connector_session

    ids = []
    with connector_session(erp) as connector:
        for start in range(first, first + count, 1000):
            rows = [customer(i) for i in range(start, min(first + count, start + 1000))]
            ids += [r.external_id for r in connector.upsert_many("customer", rows, "externalId")]
    return ids


def seed_erp_contacts(erp, customer_ids: list[str], count: int) -> None:
    from connectors.services import connector_session

    with connector_session(erp) as connector:
        for start in range(0, count, 1000):
            rows = [{"externalId": f"C-{i:07d}", "entityId": f"C-{i:07d}", "firstName": f"First{i}",
                     "lastName": f"Last{i}", "email": f"person{i}@bench{i % len(customer_ids)}.example",
                     "title": "Buyer", "company": {"id": customer_ids[i % len(customer_ids)]}}
                    for i in range(start, min(count, start + 1000))]
            connector.upsert_many("contact", rows, "externalId")


def seed_linked_filler(crm, erp, account, first: int, count: int) -> None:
    """Accounts already in sync: in both emulators, and in the hub as golden records linked to both (bulk,
    without history: set-up, not the engine's work)."""
    from connectors.services import connector_session
    from integration_hub.kernel.bulk import insert_many
    from integration_hub.records import matching
    from integration_hub.records.models import Record, RecordLink
    from integration_hub.sync.rules import compile_mapping

    compiled = compile_mapping(account)
    keys = matching.entity_keys("account")
    chunk = 5000
    with connector_session(erp) as ns, connector_session(crm) as hs:
        for start in range(first, first + count, chunk):
            rows = [customer(i) for i in range(start, min(first + count, start + chunk))]
            erp_ids = [r.external_id for r in ns.upsert_many("customer", rows, "externalId")]
            values = [compiled.mappers["erp"].to_canonical(row).values for row in rows]
            crm_rows = [{**compiled.mappers["crm"].to_vendor(v).values, "hub_record_id": f"filler-{row['externalId']}"}
                        for v, row in zip(values, rows, strict=True)]
            crm_ids = [r.external_id for r in hs.upsert_many("companies", crm_rows, "hub_record_id")]
            records = [Record(entity_type="account", values=v, display_name=v.get("name", "")) for v in values]
            insert_many(Record, records)
            matching.keys_add(records, keys)
            links = []
            for record, v, row, crm_row, erp_id, crm_id in zip(records, values, rows, crm_rows, erp_ids, crm_ids,
                                                                strict=True):
                # Each link holds what its system was last read to hold, as a synced link does.
                links.append(RecordLink(record=record, system=erp, entity_type="account", external_id=erp_id,
                                        base_snapshot=v, remote_values=row))
                links.append(RecordLink(record=record, system=crm, entity_type="account", external_id=crm_id,
                                        base_snapshot=v, remote_values=crm_row))
            insert_many(RecordLink, links)
    # The hub has read both systems up to now.
    from django.utils import timezone

    from connectors.base import format_timestamp
    from integration_hub.sync.models import SyncCursor

    SyncCursor.objects.filter(mapping=account).update(cursor=format_timestamp(timezone.now()))


if __name__ == "__main__":
    main()
