"""Reconciliation: read both systems as they are now, compare them through the hub's links, keep the report.

1. Count each side with the vendor's count query (HubSpot search `total`, SuiteQL COUNT(*)) and the hub with SQL.
2. Check the schema (the hourly drift check, run now): a renamed or removed vendor field is reported once as a
   field that cannot be compared, not as a mismatch on every record.
3. Read the CRM page by page and keep, per linked golden record, a 64-bit digest of its synced fields (the
   fields both sides hold) -- not the records: memory stays at a few dozen bytes per record.
4. Read the ERP page by page; a linked record whose digest differs is a candidate. Candidates are read again
   from the CRM by id, compared field by field, and each differing field is either *in flight* (a write
   waiting in the outbox, a change the next sync has not pulled yet, or a conflict waiting for a person) or a
   *mismatch*, explained by its lineage.
5. Records read on one side with no counterpart on the other (not linked, or linked to a record the other
   side no longer returns) are listed as one-sided; money fields are totalled per account and currency -- by
   the vendor where it can add up (NetSuite: SuiteQL SUM ... GROUP BY account, currency), else from the read
   (HubSpot has no sum query).
"""
from __future__ import annotations

import gc
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from connectors.base import ConnectorError, RemoteRecord
from connectors.services import connector_session
from integration_hub.kernel import audit
from integration_hub.kernel.money import amount_text
from integration_hub.kernel.references import golden_id, record_id_of
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync.rules import SIDES, CompiledMapping, NothingPublished, compile_mapping
from mapping.drift import drift_check
from mapping.models import DriftKind
from mapping.paths import path_parts, set_path
from mapping.reader import Reader
from reconciliation.reports.compare import UNKNOWN, comparable_fields, fingerprinter, shown
from reconciliation.reports.lineage import Explanations
from reconciliation.reports.models import ItemKind, ReconciliationReport, ReportItem, ReportStatus

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
LOOKUP_BATCH = 5000  # records whose links are looked up with one query
REFETCH_SIZE = 100
MAX_ITEMS_PER_KIND = 10_000  # detailed rows kept per kind; the counts are always complete
OTHER = {"crm": "erp", "erp": "crm"}
LABEL = {"crm": "CRM", "erp": "ERP"}
_AMOUNTS: dict[str, Decimal] = {}  # amount text -> Decimal, for the amounts seen most (credit limits, round sums)
MEASURES = {"amount": "Invoiced", "amount_due": "Outstanding", "amount_paid": "Paid", "total": "Order value",
            "outstanding_balance": "Outstanding balance", "overdue_balance": "Overdue balance",
            "credit_limit": "Credit limit"}
# How a side is counted and its money totalled when its connector has no query for it (`count_query`,
# `totals_query`): from the records read.
NO_VENDOR_COUNT = "no count query for this vendor: counted while reading"
NO_VENDOR_TOTALS = "no aggregate query for this vendor: summed while reading"
Progress = Callable[[str, int, int | None], None]


def report_create(*, mapping, trigger: str, user=None) -> ReconciliationReport:
    """A report waiting to run (the button and the API queue it; the command runs it at once)."""
    return ReconciliationReport.objects.create(
        mapping=mapping, entity_type=mapping.entity_type, trigger=trigger,
        requested_by=user if user is not None and user.is_authenticated else None)


def report_run(*, report: ReconciliationReport, progress: Progress | None = None) -> ReconciliationReport:
    """Compare the mapping's two systems and store what differs. A vendor failure fails the report with the
    vendor's message; what was counted before it stays on the report."""
    report.status, report.error = ReportStatus.RUNNING, ""
    report.save(update_fields=["status", "error"])
    try:
        with audit.acting_as(f"reconciliation:{report.pk}", reason=f"reconciliation of {report.mapping}"):
            reconciliation = _Reconciliation(report, progress or (lambda *_: None))
            try:
                with _fewer_collections():
                    reconciliation.run()
            finally:
                reconciliation.background.close()
        report.status = ReportStatus.SUCCEEDED
    except (ConnectorError, NothingPublished) as exc:
        report.status, report.error = ReportStatus.FAILED, getattr(exc, "message", str(exc))[:2000]
        logger.warning("reconciliation %s failed: %s", report.pk, report.error)
    report.finished_at = timezone.now()
    report.save()
    return report


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A run allocates millions of short-lived objects (vendor records, mapped values) that reference counting
    frees batch by batch, and each batch's objects push the cyclic collector into full collections that would
    traverse the whole process (Django, the connectors, the rules) over and over. For the run, what existed
    before it is frozen out of the collections and the young generation is collected less often; both are
    restored after. Garbage cycles are still collected."""
    global _runs, _thresholds
    with _GC_LOCK:  # the collector is the process's: the first run in changes it, the last one out restores it
        if _runs == 0:
            _thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
        _runs += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_thresholds)
                gc.unfreeze()


_GC_LOCK = threading.Lock()
_runs = 0
_thresholds = gc.get_threshold()


@dataclass
class _SideRead:
    """What one side's read kept: a fingerprint per linked record, and counts."""

    digests: dict[int, int] = field(default_factory=dict)
    read: int = 0
    unreadable: int = 0
    unlinked: list[str] = field(default_factory=list)
    unlinked_count: int = 0


class _Reconciliation:
    def __init__(self, report: ReconciliationReport, progress: Progress) -> None:
        self.report = report
        self.progress = progress
        self.mapping = report.mapping
        self.items: list[ReportItem] = []
        self.kept: dict[str, int] = defaultdict(int)
        # (account key, currency, field) -> {side: Decimal}
        self.money: dict[tuple[str, str, str], dict[str, Decimal]] = defaultdict(dict)
        self.background = _Background()
        self.money_by_vendor: set[str] = set()  # sides whose money totals the vendor added up

    # -- the run -------------------------------------------------------------------------------------
    def run(self) -> None:
        report, mapping = self.report, self.mapping
        self.progress("schema", 0, None)
        try:
            drift_check(mapping=mapping)
        except ConnectorError:  # an unreachable system fails the read below with the vendor's message
            pass
        compiled = compile_mapping(mapping)
        self.compiled = compiled
        self.readers = {side: Reader.from_compiled(compiled, side) for side in SIDES}
        report.rule_version = compiled.version
        rules = {rule.field: rule for rule in compiled.version.rules.all()}
        self.compared = [p.field for p in compiled.policies
                         if p.writes_to == frozenset(SIDES) and not p.stopped
                         and rules[p.field].field_type != "line_items"]
        self.money_fields = [f for f in self.compared if rules[f].field_type == "money"]
        report.compared_fields = self.compared
        report.skipped_fields = self._skipped(compiled, rules)
        self.account_ref = next((f for f, entity in compiled.references.items() if entity == "account"
                                 and f in rules), None)
        self.per_account = self.account_ref is not None and mapping.entity_type != "account"
        self.digest = fingerprinter(self.compared, self.money_fields)
        report.counts = {side: {"system_name": getattr(mapping, f"{side}_system").name} for side in SIDES}
        report.save(update_fields=["rule_version", "compared_fields", "skipped_fields", "counts"])
        hub_counts = self.background.submit(self._hub_counts)  # counted by the database while the CRM is read

        reads = {}
        candidates: list[tuple[int, str, dict, bool]] = []
        for side in ("crm", "erp"):
            reads[side] = self._read_side(side, reads.get("crm"), candidates)
        for key, counts in hub_counts.result().items():
            report.counts.setdefault(key, {}).update(counts)
        self._one_sided(reads)
        mismatched, in_flight = self._compare_candidates(candidates, reads)
        erp_digests = reads["erp"].digests
        report.compared = sum(1 for rid in reads["crm"].digests if rid in erp_digests)
        report.mismatched, report.in_flight = mismatched, in_flight
        report.consistency_score = (report.compared - mismatched) / report.compared if report.compared else None
        self._money_items()
        for item in self.items:
            item.report = report
        ReportItem.objects.bulk_create(self.items, batch_size=1000)
        report.only_crm = reads["crm"].unlinked_count + self.one_sided_counts["crm"]
        report.only_erp = reads["erp"].unlinked_count + self.one_sided_counts["erp"]
        report.field_mismatches = dict(sorted(self.field_counts.items(), key=lambda kv: -kv[1]))

    def _skipped(self, compiled: CompiledMapping, rules: dict) -> list[dict]:
        skipped = []
        findings = {(f.side, f.rule_field): f.detail for f in self.mapping.drift_findings.filter(
            is_open=True, kind__in=[DriftKind.MISSING, DriftKind.RENAMED])}
        for policy in compiled.policies:
            for side in sorted(policy.stopped):
                skipped.append({"field": policy.field, "side": side,
                                "reason": findings.get((side, policy.field), "stopped by schema drift")})
            if not policy.stopped and policy.writes_to != frozenset(SIDES):
                only = next(iter(policy.writes_to), "")
                skipped.append({"field": policy.field, "side": only,
                                "reason": f"kept in the {LABEL.get(only, 'hub')} only: nothing to compare"})
        return skipped

    def _hub_counts(self) -> dict:
        mapping, entity = self.mapping, self.mapping.entity_type
        counts: dict[str, Any] = {}
        for side in SIDES:
            system = getattr(mapping, f"{side}_system")
            counts[side] = {"system_name": system.name, "linked": RecordLink.objects.filter(
                system=system, entity_type=entity, status="active").count()}
        records = Record.objects.filter(entity_type=entity)
        counts["hub"] = {"records": records.count(),
                         "linked_both": records.filter(links__system=mapping.crm_system_id)
                         .filter(links__system=mapping.erp_system_id).distinct().count()}
        return counts

    # -- reading a side ----------------------------------------------------------------------------------
    def _read_side(self, side: str, crm: _SideRead | None, candidates: list) -> _SideRead:
        compiled = self.compiled
        system, obj = compiled.system(side), compiled.vendor_object(side)
        out = _SideRead()
        with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
            total = connector.count(obj)
            how = connector.count_query if total is not None else NO_VENDOR_COUNT
            self.report.counts[side].update({"system": total, "counted_by": how})
            if self.money_fields and self.per_account:
                self.report.counts[side]["money_totalled_by"] = self._vendor_money(side, connector)
            self.progress(f"reading {system.name}", 0, total)
            batch: list = []
            for page in self.readers[side].changes(connector, None, PAGE_SIZE):
                out.unreadable += len(page.errors)
                batch.extend(page.records)
                if len(batch) >= LOOKUP_BATCH:  # one link lookup for several small vendor pages
                    self._read_batch(side, batch, out, crm, candidates)
                    batch = []
                    self.progress(f"reading {system.name}", out.read, total)
            self._read_batch(side, batch, out, crm, candidates)
            self.progress(f"reading {system.name}", out.read, total)
            if total is None:
                self.report.counts[side].update({"system": out.read + out.unreadable})
        self.report.counts[side].update({"read": out.read, "unreadable": out.unreadable})
        for external_id in out.unlinked:
            kind = ItemKind.ONLY_CRM if side == "crm" else ItemKind.ONLY_ERP
            self._item(kind, **{f"{side}_id": external_id},
                       detail=f"{system.name} record {external_id} is linked to nothing in the hub, "
                              f"so nothing in the {LABEL[OTHER[side]]}")
        return out

    def _read_batch(self, side: str, remotes: list, out: _SideRead, crm: _SideRead | None, candidates: list) -> None:
        """Map a batch of one side's records, look their links up at once, keep the fingerprints."""
        if not remotes:
            return
        # The link lookup runs on the database while this thread maps the batch (see _Background).
        lookup = self.background.submit(_links, self.compiled.system(side).pk, self.mapping.entity_type,
                                        [r.external_id for r in remotes])
        values = self._comparable(side, remotes)
        links = lookup.result()
        compared, crm_digests = self.compared, crm.digests if crm is not None else None
        digest_of, digests, unlinked = self.digest, out.digests, out.unlinked
        add_money = self._add_money if self.money_fields and side not in self.money_by_vendor else None
        out.read += len(remotes)
        for remote in remotes:
            external_id = remote.external_id
            comparable = values[external_id]
            if add_money is not None:
                add_money(side, comparable)
            record_id = links.get(external_id)
            if record_id is None:
                out.unlinked_count += 1
                if len(unlinked) < MAX_ITEMS_PER_KIND:
                    unlinked.append(external_id)
                continue
            digest = digest_of(comparable)
            digests[record_id] = digest
            if crm_digests is not None and crm_digests.get(record_id, digest) != digest:
                candidates.append((record_id, external_id, comparable_fields(comparable, compared), remote.updated_at))

    def _comparable(self, side: str, remotes: Iterable) -> dict[str, dict[str, Any]]:
        """Each record's synced fields as canonical values, references turned into golden record ids; a value the
        rules cannot read, or a reference the hub cannot place, is UNKNOWN."""
        mapped = {}
        for external_id, read in self.readers[side].read(remotes).items():
            values = read.values
            if read.errors or read.unplaced:
                values = {**values, **dict.fromkeys(read.errors, UNKNOWN), **dict.fromkeys(read.unplaced, UNKNOWN)}
            mapped[external_id] = values
        return mapped

    # -- money ---------------------------------------------------------------------------------------------
    def _vendor_money(self, side: str, connector) -> str:
        """Money totals per account and currency from the vendor's aggregate query where it has one (NetSuite:
        SuiteQL SUM ... GROUP BY account, currency), instead of summing every record read; says how they were
        totalled. The aggregate's rows go through the side's rules like records, so currencies and accounts are
        read exactly as on a record (a currency map, the account's link)."""
        if connector.totals_query is None:
            return NO_VENDOR_TOTALS
        plan = self._aggregate_plan(side)
        if plan is None:
            return "summed while reading (a money, currency or account path is not a plain column)"
        sums, group_by = plan
        try:
            rows = connector.totals(self.compiled.vendor_object(side), sorted(set(sums.values())),
                                    sorted(set(group_by.values())))
        except ConnectorError as exc:  # refused (a permission, a column it will not sum): the read still sums
            logger.warning("reconciliation %s: %s aggregate query failed: %s", self.report.pk, side, exc)
            return f"summed while reading (the aggregate query failed: {getattr(exc, 'message', exc)})"[:300]
        if rows is None:
            return NO_VENDOR_TOTALS
        remotes = []
        for number, row in enumerate(rows):
            fields: dict[str, Any] = {}
            for path, column in group_by.items():
                if row.get(column) not in (None, ""):
                    set_path(fields, path, row[column])
            for path, column in sums.items():
                if row.get(f"sum_{column}") not in (None, ""):
                    set_path(fields, path, row[f"sum_{column}"])
            remotes.append(RemoteRecord(f"total:{number}", None, fields))
        for values in self._comparable(side, remotes).values():
            self._add_money(side, values)
        self.money_by_vendor.add(side)
        return connector.totals_query

    def _aggregate_plan(self, side: str) -> tuple[dict[str, str], dict[str, str]] | None:
        """({money path: column to sum}, {account or currency path: column to group by}), or None when a path
        is not a column an aggregate query can name (only a body field, or a reference's id, is)."""
        compiled = self.compiled
        paths = compiled.field_paths.get(side, {})
        rules = {rule.field: rule for rule in compiled.version.rules.all()}

        def column(path: str) -> str | None:
            parts = [part for part, _ in path_parts(path)]
            if len(parts) == 1 or (len(parts) == 2 and parts[1] == "id"):
                return parts[0].lower() if "=" not in parts[0] else None
            return None

        sums: dict[str, str] = {}
        group_by: dict[str, str] = {}
        for f in [*self.money_fields, self.account_ref]:
            if len(paths.get(f) or []) != 1 or column(paths[f][0]) is None:
                return None
            (sums if f != self.account_ref else group_by)[paths[f][0]] = column(paths[f][0])
        for f in self.money_fields:
            step = next((t for t in getattr(rules[f], f"{side}_transforms") or [] if t.get("name") == "money"), None)
            currency = ((step or {}).get("params") or {}).get("currency_field")
            if currency:
                if column(currency) is None:
                    return None
                group_by[currency] = column(currency)
        return sums, group_by

    def _add_money(self, side: str, values: dict) -> None:
        if self.per_account:
            ref = values.get(self.account_ref)
            account = ref if isinstance(ref, str) else ("unplaced" if ref is UNKNOWN else "none")
        else:
            account = "all"  # an account's own balances are compared field by field; totals per currency here
        money = self.money
        for f in self.money_fields:
            value = values.get(f)
            if type(value) is not dict:
                continue
            text = value.get("amount")
            amount = _AMOUNTS.get(text) if type(text) is str else None
            if amount is None:
                try:
                    amount = Decimal(text)
                except (TypeError, InvalidOperation):
                    continue
                if type(text) is str and len(_AMOUNTS) < 10_000:
                    _AMOUNTS[text] = amount
            bucket = money[(account, value.get("currency") or "", f)]
            bucket[side] = bucket.get(side, 0) + amount

    def _money_items(self) -> None:
        totals: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
        names = self._account_names({a for a, _, _ in self.money if record_id_of(a) is not None})
        differing = 0
        for (account, currency, f), sides in sorted(self.money.items()):
            crm, erp = sides.get("crm", Decimal(0)), sides.get("erp", Decimal(0))
            for side, amount in (("crm", crm), ("erp", erp)):
                totals[(currency, f)][side] = totals[(currency, f)].get(side, Decimal(0)) + amount
            if crm != erp and account != "all":
                differing += 1
                record_id = record_id_of(account)
                self._item(ItemKind.MONEY, record_id=record_id, field=f, currency=currency[:3],
                           crm_value=amount_text(crm), erp_value=amount_text(erp),
                           detail=f"{MEASURES.get(f, f)} for {names.get(account, account)} in {currency}: "
                                  f"CRM {amount_text(crm)} vs ERP {amount_text(erp)} "
                                  f"(difference {amount_text(crm - erp)})")
        rows = []
        for (currency, f), sides in sorted(totals.items()):
            crm, erp = sides.get("crm", Decimal(0)), sides.get("erp", Decimal(0))
            rows.append({"measure": MEASURES.get(f, f), "field": f, "currency": currency, "crm": amount_text(crm),
                         "erp": amount_text(erp), "difference": amount_text(crm - erp), "agree": crm == erp})
            per_record = self.mapping.entity_type == "account"  # an account's balances are compared field by field
            if crm != erp and not per_record and all(a == "all" for a, c, g in self.money if (c, g) == (currency, f)):
                differing += 1
                self._item(ItemKind.MONEY, field=f, currency=currency[:3], crm_value=amount_text(crm),
                           erp_value=amount_text(erp),
                           detail=f"{MEASURES.get(f, f)} in {currency}: CRM {amount_text(crm)} vs ERP "
                                  f"{amount_text(erp)} (difference {amount_text(crm - erp)})")
        self.report.money = rows
        self.report.money_mismatches = differing

    @staticmethod
    def _account_names(keys: set[str]) -> dict[str, str]:
        ids = [record_id_of(k) for k in keys]
        return {golden_id(pk): name or f"account #{pk}"
                for pk, name in Record.objects.filter(pk__in=ids).values_list("pk", "display_name")}

    # -- one-sided -------------------------------------------------------------------------------------------
    def _one_sided(self, reads: dict[str, _SideRead]) -> None:
        """Linked records read on one side only: the other side has no link, or no longer has the record."""
        self.one_sided_counts = {"crm": 0, "erp": 0}
        system_ids = {side: self.compiled.system(side).pk for side in SIDES}
        names = {side: self.compiled.system(side).name for side in SIDES}
        for side in SIDES:
            other = OTHER[side]
            alone = [rid for rid in reads[side].digests if rid not in reads[other].digests]
            for start in range(0, len(alone), 5000):
                chunk = alone[start:start + 5000]
                ids = defaultdict(dict)
                for rid, system_id, ext in RecordLink.objects.filter(
                        record_id__in=chunk, system_id__in=system_ids.values()).values_list(
                        "record_id", "system_id", "external_id"):
                    ids[rid][system_id] = ext
                for rid in chunk:
                    self.one_sided_counts[side] += 1
                    mine, theirs = ids[rid].get(system_ids[side], ""), ids[rid].get(system_ids[other])
                    if theirs:
                        detail = (f"linked to {names[other]} record {theirs}, which {names[other]} no longer returns "
                                  "(deleted or archived there)")
                    else:
                        detail = f"the golden record has no {LABEL[other]} link: the {LABEL[other]} never got it"
                    kind = ItemKind.ONLY_CRM if side == "crm" else ItemKind.ONLY_ERP
                    self._item(kind, record_id=rid, **{f"{side}_id": mine, f"{other}_id": theirs or ""},
                               detail=detail)

    # -- field by field ---------------------------------------------------------------------------------------
    def _compare_candidates(self, candidates: list, reads: dict[str, _SideRead]) -> tuple[int, int]:
        """Read the candidates again from the CRM and compare field by field; returns (mismatched, in flight)."""
        self.field_counts: dict[str, int] = defaultdict(int)
        if not candidates:
            return 0, 0
        compiled = self.compiled
        crm_system = compiled.system("crm")
        mismatched = in_flight = 0
        with connector_session(crm_system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
            for start in range(0, len(candidates), REFETCH_SIZE):
                chunk = candidates[start:start + REFETCH_SIZE]
                record_ids = [c[0] for c in chunk]
                crm_ids = dict(RecordLink.objects.filter(record_id__in=record_ids, system=crm_system)
                               .values_list("record_id", "external_id"))
                ids = [crm_ids[rid] for rid in record_ids if rid in crm_ids]
                remotes = self.readers["crm"].get_many(connector, ids)
                crm_values = {ext: comparable_fields(values, self.compared)
                              for ext, values in self._comparable("crm", remotes).items()}
                context = Explanations.load(record_ids, compiled)
                crm_times = {r.external_id: r.updated_at for r in remotes}
                for record_id, erp_id, erp_values, erp_updated_at in chunk:
                    crm_id = crm_ids.get(record_id)
                    crm = crm_values.get(crm_id) if crm_id else None
                    if crm is None:
                        continue  # gone from the CRM since it was read: the next report sees it
                    fields = [f for f in self.compared if crm.get(f) is not UNKNOWN
                              and erp_values.get(f) is not UNKNOWN and crm.get(f) != erp_values.get(f)]
                    if not fields:
                        continue
                    pulled = (context.changed_since_read(record_id, "crm", crm_times.get(crm_id))
                              or context.changed_since_read(record_id, "erp", erp_updated_at)
                              or record_id in context.written_since_read)
                    real = [f for f in fields if not (pulled or context.in_flight(record_id, f))]
                    if not real:
                        in_flight += 1
                        continue
                    mismatched += 1
                    for f in real:
                        self.field_counts[f] += 1
                        self._item(ItemKind.FIELD, record_id=record_id, crm_id=crm_id, erp_id=erp_id, field=f,
                                   crm_value=crm.get(f), erp_value=erp_values.get(f),
                                   hub_value=context.values.get(record_id, {}).get(f),
                                   lineage=context.lineage(record_id, f),
                                   detail=f"{f}: CRM {shown(crm.get(f))} vs ERP {shown(erp_values.get(f))}")
                self.progress("comparing", min(start + REFETCH_SIZE, len(candidates)), len(candidates))
        return mismatched, in_flight

    def _item(self, kind: str, *, record_id: int | None = None, **fields: Any) -> None:
        if self.kept[kind] >= MAX_ITEMS_PER_KIND:
            return
        self.kept[kind] += 1
        fields["detail"] = fields.get("detail", "")[:500]
        self.items.append(ReportItem(kind=kind, record_id=record_id, **fields))


def _links(system_id: int, entity_type: str, external_ids: list[str]) -> dict[str, int]:
    """external id -> golden record id, for the ids linked in this system (one query)."""
    if connection.vendor == "postgresql":  # one array parameter, not thousands of placeholders to build and parse
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT external_id, record_id FROM {RecordLink._meta.db_table} "
                           "WHERE system_id = %s AND entity_type = %s AND external_id = ANY(%s)",
                           [system_id, entity_type, external_ids])
            return dict(cursor.fetchall())
    return dict(RecordLink.objects.filter(system_id=system_id, entity_type=entity_type,
                                          external_id__in=external_ids).values_list("external_id", "record_id"))


class _Background:
    """Read-only queries run on a second database connection while the report's thread maps records: the
    database works while Python does. Inside a transaction (tests, a caller's atomic block) a second connection
    would not see what the transaction holds, so the queries run in line instead -- the same results."""

    def __init__(self) -> None:
        self.pool = None if connection.in_atomic_block else ThreadPoolExecutor(1, thread_name_prefix="reconcile-db")

    def submit(self, fn: Callable, *args: Any) -> Future:
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        done: Future = Future()
        done.set_result(fn(*args))
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.submit(connections.close_all).result()  # the worker thread's own connection
            self.pool.shutdown()
            self.pool = None
