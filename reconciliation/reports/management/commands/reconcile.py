"""Reconcile one entity's two systems: `python manage.py reconcile account [--system-pair crm:erp] [--async]`."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from integration_hub.records.models import EntityType
from mapping.selectors import MappingNotFound, mapping_named
from reconciliation.reports import tasks
from reconciliation.reports.models import ReportStatus, ReportTrigger
from reconciliation.reports.reconcile import report_create, report_run


class Command(BaseCommand):
    help = ("Compare an entity's records in its CRM and ERP (counts, one-sided records, field mismatches, money "
            "totals, consistency score) and keep the report. Exits non-zero when the report could not be made.")

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=EntityType.values)
        parser.add_argument("--system-pair", help="crm-slug:erp-slug when the entity is mapped for several pairs")
        parser.add_argument("--async", dest="run_async", action="store_true", help="queue it for a worker")

    def handle(self, *args, entity, system_pair, run_async, **options):
        try:
            mapping = mapping_named(entity, system_pair)
        except MappingNotFound as exc:
            raise CommandError(str(exc)) from exc
        if mapping.published_version_id is None:
            raise CommandError(f"{mapping} has no published rules: publish a version before reconciling.")
        report = report_create(mapping=mapping, trigger=ReportTrigger.COMMAND)
        if run_async:
            tasks.reconcile_mapping.delay(report.pk)
            self.stdout.write(f"Queued reconciliation report {report.pk} for {mapping}.")
            return
        bars: dict[str, tqdm] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[phase] = tqdm(desc=phase, total=total, unit=" records", disable=None)
            if total is not None and bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()

        report = report_run(report=report, progress=progress)
        for bar in bars.values():
            bar.close()
        if report.status == ReportStatus.FAILED:
            raise CommandError(f"report {report.pk}: {report.error}")
        counts = report.counts
        self.stdout.write(
            f"Report {report.pk} for {mapping}: CRM {counts['crm'].get('system')}, ERP {counts['erp'].get('system')}, "
            f"hub {counts['hub']['records']} records; only in the CRM {report.only_crm}, only in the ERP "
            f"{report.only_erp}; {report.mismatched} of {report.compared} linked records differ "
            f"({report.in_flight} more only by changes in flight); money totals off: {report.money_mismatches}; "
            f"consistency {report.score_percent}.")
        for item in report.skipped_fields:
            if item["reason"].startswith("kept in"):
                continue
            self.stdout.write(f"  not compared: {item['field']} ({item['side']}): {item['reason']}")
