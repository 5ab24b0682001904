"""Run a sync of one entity's mapping: `python manage.py sync account [--full] [--shadow] [--async]`."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from tqdm import tqdm

from integration_hub.records.models import EntityType
from integration_hub.sync import engine, outbox, run_lifecycle, tasks
from integration_hub.sync.models import SyncMode, SyncStatus, SyncTrigger
from mapping.selectors import MappingNotFound, mapping_named


class Command(BaseCommand):
    help = "Sync one entity between its CRM and ERP (in-process with a progress bar, or --async via a worker)."

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=EntityType.values)
        parser.add_argument("--system-pair", help="crm-slug:erp-slug when the entity is mapped for several pairs")
        parser.add_argument("--full", action="store_true", help="read everything, not only changes since the cursor")
        parser.add_argument("--shadow", action="store_true", help="store the writes it would send; send nothing")
        parser.add_argument("--async", dest="run_async", action="store_true", help="queue it for a worker")

    def handle(self, *args, entity, system_pair, full, shadow, run_async, **options):
        try:
            mapping = mapping_named(entity, system_pair)
        except MappingNotFound as exc:
            raise CommandError(str(exc)) from exc
        mode = SyncMode.SHADOW if shadow else SyncMode.LIVE
        run = engine.sync_run_create(mapping=mapping, trigger=SyncTrigger.MANUAL, mode=mode, full=full)
        if run_async:
            tasks.sync_mapping.delay(mapping.pk, run_id=run.pk)
            self.stdout.write(f"Queued sync-run:{run.pk} for {mapping}.")
            return
        bar = tqdm(desc=f"sync {entity}", unit=" records", disable=None)

        def progress(current):
            bar.n = current.processed
            bar.set_postfix({k: v for k, v in current.counts.items() if v})
            bar.refresh()

        engine.sync_run_execute(run=run, progress=progress)
        bar.close()
        sent = outbox.dispatch_all()
        run.refresh_from_db()  # the dispatch may have dead-lettered some of its writes
        counts = ", ".join(f"{k} {v}" for k, v in run.counts.items() if v) or "nothing to do"
        writes = ", ".join(f"{w['count']} {w['label'].lower()}" for w in run_lifecycle.run_writes(run)) or "none"
        self.stdout.write(f"sync-run:{run.pk} {run.get_status_display()}: {counts}; its writes: {writes} "
                          f"(this dispatch sent {sent.sent}, retrying {sent.retrying}, dead letters {sent.dead}).")
        if run.status == SyncStatus.FAILED:
            raise CommandError(run.error)
        if run.status == SyncStatus.WRITES_FAILED:
            raise CommandError(f"{run.dead_writes} of the run's writes were given up on (dead letters): "
                               f"see {run.get_absolute_url()} for each one's error, and "
                               f"{reverse('sync:dead-letters')}?run={run.pk} to retry, correct or discard them.")
