"""Keeps the blocking index in step with golden records, whoever saves them (sync, admin, merge)."""
from __future__ import annotations

from django.db.models.signals import post_migrate, post_save


def _record_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from reconciliation.duplicates import index

    index.index_record(instance)


def connect() -> None:
    from integration_hub.models import Record
    from reconciliation.duplicates import schedules

    post_save.connect(_record_saved, sender=Record, dispatch_uid="duplicates-blocking-index")
    post_migrate.connect(schedules.ensure_schedules, dispatch_uid="duplicates-schedules")
