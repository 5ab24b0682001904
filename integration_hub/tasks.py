"""Celery entry points for the hub core: thin, load by id, call a service."""
from __future__ import annotations

from celery import shared_task

from integration_hub import audit, services
from integration_hub.models import Record


@shared_task(acks_late=True, reject_on_worker_lost=True)
def record_apply_values(record_id: int, changes: dict, actor: str, reason: str = "",
                        system: str = "hub", sync_run: int | None = None) -> list[str]:
    """Apply field changes to a golden record as a named system actor (e.g. ``sync-run:42``)."""
    record = Record.objects.get(pk=record_id)
    with audit.acting_as(actor, reason=reason):
        return services.record_update_values(
            record=record, changes=changes, reason=reason,
            source=services.Source(system=system, sync_run=sync_run),
        )
