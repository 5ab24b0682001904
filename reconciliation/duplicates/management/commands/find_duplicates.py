"""Scan golden records for duplicates: `python manage.py find_duplicates account [--async]`."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from integration_hub.kernel import audit
from reconciliation.duplicates import scan, scoring, tasks


class Command(BaseCommand):
    help = "Find duplicate golden records of one entity (in-process with a progress bar, or --async via a worker)."

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=scoring.ENTITY_TYPES)
        parser.add_argument("--async", dest="run_async", action="store_true", help="queue it for a worker")

    def handle(self, *args, entity, run_async, **options):
        if run_async:
            tasks.scan_duplicates.delay(entity)
            self.stdout.write(f"Queued a duplicate scan of {entity}s.")
            return
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[stage] = tqdm(total=total, desc=f"{entity}s {stage}", unit=" pairs"
                                         if stage == "scored" else " records", disable=None)
            bar.n = done
            bar.refresh()

        try:
            with audit.acting_as("duplicate-scan", reason=f"find_duplicates {entity}"):
                summary = scan.duplicates_scan(entity_type=entity, progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(str(summary))
