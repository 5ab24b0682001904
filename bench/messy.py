"""Messy data through the sync: an initial sync of records written the way real CRMs and ERPs hold them.

1. `--records N` records per system from the messy corpus (connectors/sandbox/messy.py, `--seed`): HubSpot
   companies and their contacts, NetSuite customers and their contacts, some organisations and people in both
   systems, with the failure classes real data has (local and vanity phones, extensions, typos and legal-form
   variants, duplicates, unicode and right-to-left names, blank required fields, 10 kB notes, unknown picklist
   values, references to archived companies, over-long values; the deals' classes, missing currencies and bad
   dates, are left out with the deals, which these mappings do not sync).
2. `--restaurants`: the public restaurants set (../shared/data/er/restaurants, 864 rows from two guides with 112
   labelled duplicate pairs) as HubSpot companies instead, and nothing in NetSuite.

The default template's account and contact mappings, published, each told to create what is new on either side
in the other (`always`), so every record is expected to reach the other system. One account sync, its writes
sent, then one contact sync, its writes sent. Prints `figure:` lines:
- flowed: of the records expected to flow (live, and the fields the other system requires filled and fitting),
  the share now linked in the other system (goal >= 99 %), and why the others did not;
- fields held: open held fields (integration_hub.sync.models.HeldField) of the fields read that carry a value;
- records held: the runs' "failed" and "unlinked" events (whole records), their reasons grouped;
- duplicates created: records of one true entity that ended up as two in the other system (goal 0): the corpus
  knows each record's entity; for the restaurants the set's gold pairs say (read here only, to measure);
- false merges (corpus only): golden records linked to records of two different true entities.

Run: .venv/bin/python bench/messy.py [--records 10000] [--seed 7] [--restaurants]

Uses its own database: BENCH_DATABASE_URL (a scratch PostgreSQL database, never a real one), else SQLite in a
temporary folder; DATABASE_URL is ignored on purpose. The corpus is loaded into the emulators in this process
and saved to state files; each emulator then serves its file from a subprocess (the vendor's own machine).
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.sandbox import create_emulator  # noqa: E402  (after the path: run as a script)
from connectors.sandbox.messy import (  # noqa: E402
    CRM,
    ERP,
    Corpus,
    CorpusRecord,
    Loaded,
    expected_to_flow,
    generate,
    load_corpus,
    restaurant_companies,
    restaurants_dir,
)
from connectors.sandbox.server import serve_in_background  # noqa: E402

ENTITY_OF = {"companies": "account", "customer": "account", "contacts": "contact", "contact": "contact"}
OBJECT_OF = {("account", CRM): "companies", ("account", ERP): "customer", ("contact", CRM): "contacts",
             ("contact", ERP): "contact"}
TOP_REASONS = 12


@contextmanager
def emulator_process(vendor: str, state_file: str):
    """Serve `vendor`'s emulator from its state file in a subprocess on a free port; yield its URL."""
    process = subprocess.Popen([sys.executable, __file__, "--serve", vendor, "--state", state_file], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "listening on " not in line:
            raise RuntimeError(f"{vendor} emulator did not start: {line!r}")
        yield line.split("listening on ")[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def serve_state(vendor: str, state_file: str) -> None:
    """--serve: the emulator on the loaded corpus, until SIGTERM; what the sync writes stays in memory (saving
    the whole store after every write would measure the emulator's disk, not the hub)."""
    emulator = create_emulator(vendor, state_file=state_file)
    emulator.store.state_file = None
    running = serve_in_background(emulator, "127.0.0.1", 0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"{vendor} sandbox listening on {running.url}", flush=True)
    stop.wait()
    running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="records per system (companies + contacts)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--restaurants", action="store_true", help="the public restaurants set as CRM companies")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_state(args.serve, args.state)
        return
    scratch = tempfile.mkdtemp(prefix="bench-messy-")
    started = time.perf_counter()
    if args.restaurants:
        records, corpus = restaurant_companies(), None
        print(f"read {len(records)} restaurants from {restaurants_dir()}")
    else:
        corpus = generate(args.records, seed=args.seed, deals=0)
        records = [record for record in corpus if record.object in ENTITY_OF]
        print(f"generated {len(records)} records (seed {args.seed}) in {time.perf_counter() - started:.1f} s: "
              f"{dict(Counter(f'{r.system} {r.object}' for r in records))}")
    states, loaded = load_into_state_files(records, scratch)
    if loaded.refused:
        print(f"  the emulators refused {len(loaded.refused)} records, e.g. {next(iter(loaded.refused.items()))}")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_hub.settings"
    import django  # the scratch database is chosen above, before Django reads its settings

    django.setup()
    from django.core.management import call_command  # Django is set up just above

    call_command("migrate", verbosity=0)
    with emulator_process("hubspot", states["hubspot"]) as crm_url, \
            emulator_process("netsuite", states["netsuite"]) as erp_url:
        systems, mappings, runs = run_sync(crm_url, erp_url)
        report(records, loaded, corpus, systems, mappings, runs, "restaurants" if args.restaurants else "messy")


def load_into_state_files(records: list[CorpusRecord], scratch: str) -> tuple[dict[str, str], Loaded]:
    """Both emulators with the corpus written in, saved as state files for the serving subprocesses."""
    hubspot, netsuite = create_emulator("hubspot"), create_emulator("netsuite")
    started = time.perf_counter()
    loaded = load_corpus(records, hubspot=hubspot, netsuite=netsuite)
    states = {}
    for emulator in (hubspot, netsuite):
        states[emulator.vendor] = emulator.store.state_file = os.path.join(scratch, f"{emulator.vendor}.json")
        emulator.store.save()
    print(f"loaded {len(loaded.ids)} records into the emulators in {time.perf_counter() - started:.1f} s")
    return states, loaded


def run_sync(crm_url: str, erp_url: str):
    # Django is set up by main() before this runs.
    from django.contrib.auth.models import Group, User

    from connectors.models import ConnectedSystem
    from connectors.sandbox.netsuite import DEMO_TBA
    from integration_hub.kernel import roles
    from integration_hub.sync import engine, outbox
    from mapping import services
    from mapping.models import CreatePolicy, VersionStatus

    revops = User.objects.create_user("bench-revops")
    revops.groups.add(Group.objects.get(name=roles.REVOPS_ADMIN))
    finance = User.objects.create_user("bench-finance")
    finance.groups.add(Group.objects.get(name=roles.FINANCE_APPROVER))
    crm = ConnectedSystem.objects.create(slug="bench-crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url=crm_url, credentials={"access_token": "sandbox-token"},
                                         rollout_stage="two_way", rate_limit="off")
    erp = ConnectedSystem.objects.create(slug="bench-erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url=erp_url, credentials=dict(DEMO_TBA), rollout_stage="two_way")
    services.template_prepare_crm(crm_system=crm)
    installed = {m.entity_type: m for m in services.template_install(crm_system=crm, erp_system=erp, user=revops)}
    mappings, runs = {}, []
    for entity in ("account", "contact"):
        mapping = installed[entity]
        draft = mapping.versions.get(status=VersionStatus.DRAFT)
        if draft.needs_finance_signoff:
            services.version_sign_off(version=draft, user=finance)
        try:
            services.version_publish(version=draft, user=revops)
        except services.PublishRefused as refused:
            # A real portal's picklists have values the template does not map: what the sync does with them
            # is what this measures, so the rules are published without the remote check, and that is said.
            print(f"  {entity}: publishing was refused against the loaded systems ({len(refused.messages)} "
                  f"problems, e.g. {refused.messages[0]}); published without the remote check")
            services.version_publish(version=draft, user=revops, check_remote=False)
        mapping.refresh_from_db()
        mapping.crm_creates = mapping.erp_creates = CreatePolicy.ALWAYS  # every record is expected to flow
        mapping.save()
        mappings[entity] = mapping
    for entity in ("account", "contact"):  # contacts after their companies are linked in both systems
        wall = time.perf_counter()
        run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mappings[entity]))
        sent = outbox.dispatch_all_until_empty()
        print(f"  {entity}: {run.get_status_display()}, {run.counts}; sent {sent.sent}, dead {sent.dead} "
              f"({time.perf_counter() - wall:.1f} s)")
        runs.append(run)
    return {CRM: crm, ERP: erp}, mappings, runs


class Links:
    """The hub's active links after the sync, indexed for the figures."""

    def __init__(self, systems) -> None:
        # Django is set up by main() before this runs.
        from integration_hub.records.models import LinkStatus, RecordLink

        side_of = {system.pk: side for side, system in systems.items()}
        self.golden: dict[tuple[str, str, str], int] = {}  # (side, entity type, external id) -> golden record
        self.sides: dict[int, set[str]] = defaultdict(set)  # golden record -> the sides it is linked in
        self.ids: dict[tuple[int, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for system_id, entity, external_id, record_id in RecordLink.objects.filter(
                status=LinkStatus.ACTIVE).values_list("system_id", "entity_type", "external_id", "record_id"):
            side = side_of[system_id]
            self.golden[(side, entity, external_id)] = record_id
            self.sides[record_id].add(side)
            self.ids[(record_id, entity)][side].append(external_id)


def report(records, loaded: Loaded, corpus: Corpus | None, systems, mappings, runs, prefix: str) -> None:
    links = Links(systems)
    entity_of = truth(records, corpus)
    keys_by_id = {(entity, side): loaded.keys_by_id(side, obj) for (entity, side), obj in OBJECT_OF.items()}
    report_flow(records, loaded, links, entity_of, keys_by_id, systems, runs, prefix)
    report_held(records, loaded, mappings, runs, prefix)
    report_duplicates(records, loaded, links, entity_of, keys_by_id, prefix)


def report_flow(records, loaded: Loaded, links: Links, entity_of, keys_by_id, systems, runs, prefix: str) -> None:
    """Of the records expected to flow, those linked in the other system, and why the others are not; a record
    the duplicate screen held is a right hold when the golden record it waits beside is its own true entity."""
    # Django is set up by main() before this runs.
    from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncEvent, SyncEventKind
    from reconciliation.duplicates.models import CandidateStatus, DuplicateCandidate

    events: dict[tuple[str, str], str] = {}
    for side, external_id, message, data in SyncEvent.objects.filter(
            run__in=runs, kind__in=[SyncEventKind.FAILED, SyncEventKind.UNLINKED]).values_list(
            "side", "external_id", "message", "data"):
        events.setdefault((side, external_id), reasons_of(message, data)[0])
    failed_writes = {record_id: mask(error) for record_id, error in OutboundChange.objects.filter(
        status__in=[OutboundStatus.DEAD, OutboundStatus.FAILED]).values_list("record_id", "last_error")}
    side_of = {system.pk: side for side, system in systems.items()}
    waits_beside: dict[tuple[str, str], set[str]] = defaultdict(set)  # a held record -> the entities it may be
    for candidate in DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).exclude(
            incoming_external_id="").prefetch_related("records"):
        where = (side_of.get(candidate.incoming_system_id, ""), candidate.incoming_external_id)
        for golden in candidate.records.all():
            for side, ids in links.ids.get((golden.pk, golden.entity_type), {}).items():
                keys = keys_by_id[(golden.entity_type, side)]
                waits_beside[where] |= {entity_of.get(keys.get(ext, "")) for ext in ids} - {None}

    expected = [r for r in records if r.key in loaded.ids and expected_to_flow(r)]
    why_not: Counter[str] = Counter()
    flowed = rightly_queued = 0
    for record in expected:
        other = ERP if record.system == CRM else CRM
        where = (record.system, loaded.ids[record.key])
        golden = links.golden.get((record.system, ENTITY_OF[record.object], where[1]))
        if golden is not None and other in links.sides[golden]:
            flowed += 1
            continue
        reason = events.get(where) or (failed_writes.get(golden, "linked here, not created there (no event)")
                                       if golden else "no event")
        if reason.startswith("held for the duplicate queue"):
            right = entity_of.get(record.key) in waits_beside[where]
            rightly_queued += right
            reason += " (beside a record of the same true entity)" if right else " (beside another entity's record)"
        why_not[reason] += 1
    share = 100 * flowed / len(expected) if expected else 0.0
    print(f"figure: {prefix}_flowed = {share:.1f} % ({flowed} of {len(expected)} records expected to flow reached "
          f"the other system; goal >= 99 %)")
    share = 100 * (flowed + rightly_queued) / len(expected) if expected else 0.0
    print(f"figure: {prefix}_flowed_or_rightly_queued = {share:.1f} % (with the {rightly_queued} true duplicates "
          f"waiting in the duplicate queue)")
    print_top("not flowed", why_not)


def report_held(records, loaded: Loaded, mappings, runs, prefix: str) -> None:
    # Django is set up by main() before this runs.
    from integration_hub.sync.models import HeldField, SyncEvent, SyncEventKind

    held = HeldField.objects.filter(mapping__in=list(mappings.values()), cleared_at__isnull=True)
    fields_read = count_fields_read(records, loaded, mappings)
    share = 100 * held.count() / fields_read if fields_read else 0.0
    print(f"figure: {prefix}_fields_held = {share:.2f} % ({held.count()} open held fields of {fields_read} fields "
          f"read with a value)")
    print_top("held fields", Counter(f"{side} {field}: {mask(reason)}"
                                     for side, field, reason in held.values_list("side", "field", "reason")))
    whole = SyncEvent.objects.filter(run__in=runs, kind__in=[SyncEventKind.FAILED, SyncEventKind.UNLINKED])
    reasons = Counter(reason for message, data in whole.values_list("message", "data")
                      for reason in reasons_of(message, data))
    print(f"figure: {prefix}_records_held = {whole.count()} records (the runs' failed and unlinked events)")
    print_top("records held", reasons)


def report_duplicates(records, loaded: Loaded, links: Links, entity_of, keys_by_id, prefix: str) -> None:
    """Records the hub created in a system for a true entity that already had one there (or that it created
    twice), and golden records joining two true entities."""
    duplicates = Counter()
    for side in (CRM, ERP):
        other = ERP if side == CRM else CRM
        before = Counter(entity_of[r.key] for r in records
                         if r.system == side and r.key in loaded.ids and not r.archived and entity_of.get(r.key))
        created: Counter[str] = Counter()
        for (_record_id, entity), by_side in links.ids.items():
            for external_id in by_side.get(side, []):
                if external_id in keys_by_id[(entity, side)]:
                    continue  # a record the corpus put there, not one the hub created
                sources = {entity_of.get(keys_by_id[(entity, other)].get(ext, ""))
                           for ext in by_side.get(other, [])} - {None}
                if sources:
                    created[sorted(sources)[0]] += 1
        extra = {entity: before[entity] + n - max(before[entity], 1) for entity, n in created.items()}
        duplicates[side] = sum(n for n in extra.values() if n > 0)
        for entity in [entity for entity, n in extra.items() if n > 0][:3]:
            names = [display(r) for r in records if entity_of.get(r.key) == entity and r.key in loaded.ids]
            print(f"    e.g. {entity}: {before[entity]} record(s) in {side.upper()} before, {created[entity]} created "
                  f"there; its records: {names}")
    false_merges = 0
    for (_record_id, entity), by_side in links.ids.items():
        found = {entity_of.get(keys_by_id[(entity, side)].get(ext, "")) for side, ids in by_side.items()
                 for ext in ids}
        false_merges += len(found - {None}) > 1
    print(f"figure: {prefix}_duplicates_created = {sum(duplicates.values())} records (goal 0; in HubSpot "
          f"{duplicates[CRM]}, in NetSuite {duplicates[ERP]})")
    print(f"figure: {prefix}_false_merges = {false_merges} golden records linked to records of two true entities")


def display(record: CorpusRecord) -> str:
    fields = record.fields
    name = fields.get("name") or fields.get("companyName") or " ".join(
        str(fields.get(f) or "") for f in ("firstname", "lastname", "firstName", "lastName")).strip()
    return f"{record.key} {name!r}"[:90]


def truth(records: list[CorpusRecord], corpus: Corpus | None) -> dict[str, str]:
    """Corpus key -> the true entity: the corpus's own, or for the restaurants the gold pairs' clusters."""
    if corpus is not None:
        return {record.key: record.entity for record in records}
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    with (restaurants_dir() / "restaurant_gold.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            first, second = (f"crm:companies:restaurant-{int(row[k])}" for k in ("id_1", "id_2"))
            parent[find(second)] = find(first)
    return {record.key: find(record.key) for record in records}


def count_fields_read(records: list[CorpusRecord], loaded: Loaded, mappings) -> int:
    """Fields the rules read that carry a value, over the live records loaded."""
    paths = {}
    for entity, mapping in mappings.items():
        rules = mapping.published_version.rules.all()
        paths[entity] = {CRM: [r.crm_path for r in rules if r.crm_path], ERP: [r.erp_path for r in rules if r.erp_path]}
    total = 0
    for record in records:
        if record.key in loaded.ids and not record.archived:
            total += sum(1 for path in paths[ENTITY_OF[record.object]][record.system] if has_value(record.fields, path))
    return total


def has_value(fields: dict, path: str) -> bool:
    """Whether a rule's path finds a value in a record's fields (a nested path: its last name anywhere below)."""
    head, *rest = path.split(".")
    value = fields.get(head)
    if not rest or value in (None, "", [], {}):
        return value not in (None, "", [], {})
    return _nested(value, rest[-1])


def _nested(value, name: str) -> bool:
    if isinstance(value, dict):
        return value.get(name) not in (None, "") or any(_nested(v, name) for v in value.values())
    if isinstance(value, list):
        return any(_nested(v, name) for v in value)
    return False


def reasons_of(message: str, data: dict) -> list[str]:
    """One event's reasons, values masked so that one cause is one line: a held record's failing fields, or the
    message up to its first colon."""
    errors = (data or {}).get("errors")
    if isinstance(errors, dict) and errors:
        return [f"held: {field}: {mask(str(reason))}" for field, reason in sorted(errors.items())]
    head = message.split(":", 1)[0] if message.startswith("held for") else mask(message)
    return [head]


def mask(text: str) -> str:
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", text)
    return re.sub(r"\d+", "N", text)[:160]


def print_top(what: str, counts: Counter) -> None:
    for reason, n in counts.most_common(TOP_REASONS):
        print(f"    {n:6d} × {reason}")
    if len(counts) > TOP_REASONS:
        print(f"    ... and {len(counts) - TOP_REASONS} more {what} reasons")


if __name__ == "__main__":
    main()
