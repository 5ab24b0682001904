"""The outbox dispatcher: send queued writes in the vendor's batch sizes, exactly as recorded.

A row is claimed with a conditional update (two dispatchers never send the same row), sent with
its vendor's batch write, and its result recorded: a success moves the link's base snapshot to the
written values (so the write's echo on the next pull is no change) and links a created record; a
transient failure waits with exponential backoff; a permanent one, or too many attempts, is a dead
letter with the vendor's message. Rows left "sending" by a dead worker are retried after a grace
period (updates are idempotent by id; creates carry the change's key where the vendor takes one).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connectors.base import ConnectorError, WriteResult
from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub import audit, services
from integration_hub.models import OutboundChange, OutboundStatus, RecordLink, SyncEvent, SyncEventKind

logger = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 8
STALE_SENDING = timedelta(minutes=15)


@dataclass
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def _due(system: ConnectedSystem):
    now = timezone.now()
    return OutboundChange.objects.filter(system=system).filter(
        Q(status=OutboundStatus.PENDING)
        | Q(status=OutboundStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=OutboundStatus.SENDING, next_attempt_at__lte=now - STALE_SENDING))


def _claim(rows: list[OutboundChange]) -> list[OutboundChange]:
    """Take rows for this dispatcher: a conditional update that must change exactly one row each."""
    claimed = []
    now = timezone.now()
    for row in rows:
        taken = OutboundChange.objects.filter(pk=row.pk, status=row.status, attempts=row.attempts).update(
            status=OutboundStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now)
        if taken == 1:
            row.attempts += 1
            claimed.append(row)
    return claimed


def _vendor_record(row: OutboundChange, connector) -> dict:
    record = dict(row.payload)
    if row.link_id:
        record["id"] = row.link.external_id
    else:
        key_field, _ = connector.create_key
        record[key_field] = f"hub-{row.record_id}"  # one per golden record: a retried create is not a second one
    return record


def dispatch_system(*, system: ConnectedSystem, limit: int = 1000) -> DispatchResult:
    """Send what is due for one system."""
    result = DispatchResult()
    rows = list(_due(system).select_related("link", "record").order_by("id")[:limit])
    if not rows:
        return result
    with audit.acting_as(f"outbox:{system.slug}", reason="write sent to " + system.name):
        try:
            with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
                groups: dict[tuple[str, bool], list[OutboundChange]] = {}
                for row in _claim(rows):
                    groups.setdefault((row.vendor_object, row.link_id is None), []).append(row)
                for (vendor_object, creating), group in groups.items():
                    id_field = connector.create_key[1] if creating else None
                    for start in range(0, len(group), BATCH):
                        batch = group[start:start + BATCH]
                        outcomes = connector.upsert_many(vendor_object, [_vendor_record(r, connector) for r in batch],
                                                         id_field)
                        for row, outcome in zip(batch, outcomes, strict=True):
                            _record_outcome(row, outcome, result)
        except ConnectorError as exc:
            # The system is unreachable or refused us (auth): every claimed row waits and retries.
            result.errors.append(exc.message)
            OutboundChange.objects.filter(system=system, status=OutboundStatus.SENDING).update(
                status=OutboundStatus.FAILED, last_error=exc.message[:2000],
                next_attempt_at=timezone.now() + timedelta(seconds=30))
    return result


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


@transaction.atomic
def _record_outcome(row: OutboundChange, outcome: WriteResult, result: DispatchResult) -> None:
    if outcome.ok:
        row.status, row.sent_at, row.last_error = OutboundStatus.SENT, timezone.now(), ""
        row.save(update_fields=["status", "sent_at", "last_error"])
        if row.link_id:
            link = RecordLink.objects.select_for_update().get(pk=row.link_id)
            link.base_snapshot = {**(link.base_snapshot or {}), **row.values}
            link.save(update_fields=["base_snapshot"])
        elif outcome.external_id:
            services.record_link(record=row.record, system=row.system, external_id=outcome.external_id,
                                 base_snapshot=dict(row.values))
        result.sent += 1
        return
    error = outcome.error or ConnectorError("the system gave no result for this write", kind="server",
                                            permanent=False)
    row.last_error = error.message[:2000]
    if error.permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboundStatus.DEAD
        result.dead += 1
        if row.run_id:
            SyncEvent.objects.create(run_id=row.run_id, record=row.record, side=row.side,
                                     external_id=row.link.external_id if row.link_id else "",
                                     kind=SyncEventKind.WRITE_FAILED, message=row.last_error,
                                     data={"values": row.values})
    else:
        row.status = OutboundStatus.FAILED
        row.next_attempt_at = timezone.now() + _backoff(row.attempts)
        result.retrying += 1
    row.save(update_fields=["status", "last_error", "next_attempt_at"])


def dispatch_all() -> DispatchResult:
    """Send what is due for every system that has something queued."""
    total = DispatchResult()
    system_ids = _due_system_ids()
    for system in ConnectedSystem.objects.filter(pk__in=system_ids, is_active=True):
        part = dispatch_system(system=system)
        total.sent += part.sent
        total.retrying += part.retrying
        total.dead += part.dead
        total.errors += part.errors
    return total


def _due_system_ids() -> list[int]:
    now = timezone.now()
    return list(OutboundChange.objects.filter(
        Q(status=OutboundStatus.PENDING) | Q(status=OutboundStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=OutboundStatus.SENDING, next_attempt_at__lte=now - STALE_SENDING))
        .values_list("system_id", flat=True).distinct())
