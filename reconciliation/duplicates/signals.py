"""Keeps the blocking index in step with golden records, whoever saves them (sync, admin, merge)."""
from __future__ import annotations

from django.db.models.signals import post_migrate, post_save

from integration_hub.records.models import Record
from integration_hub.records.services import records_written
from reconciliation.duplicates import index, schedules, sync_match


def _record_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return

    index.index_record(instance)


def _records_written(sender, records, created=False, changed=None, **kwargs) -> None:
    """Records the sync wrote in bulk: their keys in one pass (new records have none to compare with). An
    updated record whose changed fields its keys never read keeps the keys it has (`changed`: record id ->
    field names, when the sender knows them). New records are put beside the records the sync held as their
    copies in the same batch (sync_match.complete_waiting)."""
    by_entity: dict[str, list] = {}
    for record in records:
        by_entity.setdefault(record.entity_type, []).append(record)
    for entity_type, group in by_entity.items():
        wanted = {}
        for record in group:
            keys, read = index.keys_and_reads(entity_type, record.values)
            if created or changed is None or read & changed.get(record.pk, read):
                wanted[record.pk] = keys
        index.store_keys(entity_type, wanted, existing={pk: set() for pk in wanted} if created else None,
                         new=created)
        if created:
            sync_match.complete_waiting(entity_type, group)


def connect() -> None:
    post_save.connect(_record_saved, sender=Record, dispatch_uid="duplicates-blocking-index")
    records_written.connect(_records_written, sender=Record, dispatch_uid="duplicates-blocking-index-bulk")
    post_migrate.connect(schedules.ensure_schedules, dispatch_uid="duplicates-schedules")
