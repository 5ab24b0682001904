"""The outbox dispatcher: send queued writes in the vendor's batch sizes, exactly as recorded.

A row is claimed with a conditional update (two dispatchers never send the same row), sent with
its vendor's batch write, and its result recorded: a success moves the link's base snapshot to the
written values (so the write's echo on the next pull is no change) and links a created record; a
transient failure waits with exponential backoff; a permanent one, or too many attempts, is a dead
letter with the vendor's message, counted on the run that queued it (which then never reads "succeeded").
Rows left "sending" by a dead worker are retried after a grace period (updates are idempotent by id; creates
carry the change's key where the vendor takes one). A merge row (a duplicate merge's vendor call) is sent with the
vendor's merge, one call per row, under the same claim, backoff and dead-letter rules.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from connectors.base import ConnectorError, WriteResult
from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.kernel import audit
from integration_hub.kernel.bulk import update_many
from integration_hub.records import services
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync.models import (
    OutboundChange,
    OutboundOperation,
    OutboundStatus,
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncStatus,
)

logger = logging.getLogger(__name__)

# Rows handed to a connector at once: it splits them into the vendor's batch requests (100 records each for
# HubSpot and NetSuite) and the results are stored per hand-over, in one transaction.
BATCH = 500
MAX_ATTEMPTS = 8
# Rows a dead dispatcher had taken are sent again after this long (a live one finishes a batch well within it).
STALE_SENDING = timedelta(seconds=settings.OUTBOX_STALE_SENDING_SECONDS)


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


def _claim(system: ConnectedSystem, limit: int) -> list[OutboundChange]:
    """Take due rows for this dispatcher: locked rows another dispatcher holds are skipped, the taken ones
    are marked "sending" in the same transaction (two dispatchers never send the same row)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(_due(system).select_for_update(skip_locked=True).order_by("id")
                   .values_list("pk", flat=True)[:limit])
        OutboundChange.objects.filter(pk__in=ids).update(
            status=OutboundStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now)
    return list(OutboundChange.objects.filter(pk__in=ids).select_related("link").order_by("id"))


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
    if not _due(system).exists():
        return result
    with audit.acting_as(f"outbox:{system.slug}", reason="write sent to " + system.name):
        try:
            with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
                groups: dict[tuple[str, bool], list[OutboundChange]] = {}
                merges: list[OutboundChange] = []
                for row in _claim(system, limit):
                    if row.operation == OutboundOperation.MERGE:
                        merges.append(row)
                    else:
                        groups.setdefault((row.vendor_object, row.link_id is None), []).append(row)
                for start in range(0, len(merges), BATCH):
                    batch = merges[start:start + BATCH]
                    _record_outcomes(system, batch, [_merge(connector, row) for row in batch], result)
                for (vendor_object, creating), group in groups.items():
                    id_field = connector.create_key[1] if creating else None
                    for start in range(0, len(group), BATCH):
                        batch = group[start:start + BATCH]
                        outcomes = connector.upsert_many(vendor_object, [_vendor_record(r, connector) for r in batch],
                                                         id_field)
                        _record_outcomes(system, batch, outcomes, result)
        except ConnectorError as exc:
            # The system is unreachable or refused us (auth): every claimed row waits and retries.
            result.errors.append(exc.message)
            OutboundChange.objects.filter(system=system, status=OutboundStatus.SENDING).update(
                status=OutboundStatus.FAILED, last_error=exc.message[:2000],
                next_attempt_at=timezone.now() + timedelta(seconds=30))
    return result


def _merge(connector, row: OutboundChange) -> WriteResult:
    """A merge row's vendor call: the absorbed record merged into the row's link (the survivor there)."""
    absorbed_id = str(row.payload["absorbed_id"])
    try:
        connector.merge(row.vendor_object, row.link.external_id, absorbed_id)
    except ConnectorError as exc:
        return WriteResult(ok=False, external_id=None, key=absorbed_id, error=exc)
    return WriteResult(ok=True, external_id=row.link.external_id, key=absorbed_id)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


@transaction.atomic
def _record_outcomes(system: ConnectedSystem, batch: list[OutboundChange], outcomes: list[WriteResult],
                     result: DispatchResult) -> None:
    """Store a batch's results: sent rows, the bases they move, the links of created records, and failures."""
    now = timezone.now()
    sent = [(row, outcome) for row, outcome in zip(batch, outcomes, strict=True) if outcome.ok]
    for row, _ in sent:
        row.status, row.sent_at, row.last_error = OutboundStatus.SENT, now, ""
    update_many(OutboundChange, [row for row, _ in sent], ["status", "sent_at", "last_error"])
    result.sent += len(sent)

    # An update moves its link's base to what was written, so its echo on the next pull is no change.
    updated = [row for row, _ in sent if row.link_id and row.operation == OutboundOperation.UPSERT]
    links = RecordLink.objects.select_for_update().in_bulk([row.link_id for row in updated])
    for row in updated:
        link = links[row.link_id]
        link.base_snapshot = {**(link.base_snapshot or {}), **row.values}
    services.links_save_bases(list(links.values()))

    # A create links the new external id (a retried create the system answered with the same id: no second link).
    created = [(row, str(outcome.external_id)) for row, outcome in sent if not row.link_id and outcome.external_id]
    if created:
        entity_of = dict(Record.objects.filter(pk__in=[row.record_id for row, _ in created])
                         .values_list("pk", "entity_type"))
        # By (system, entity type, external id): the unique index's order, so each id is one index look-up.
        linked = {(entity, external_id): record_id for entity, external_id, record_id in RecordLink.objects.filter(
            system=system, entity_type__in=set(entity_of.values()), external_id__in=[eid for _, eid in created])
            .order_by().values_list("entity_type", "external_id", "record_id")}
        new_links = {}
        for row, external_id in created:
            key = (entity_of[row.record_id], external_id)
            owner = linked.get(key) or (new_links[key].record_id if key in new_links else None)
            if owner is None:
                new_links[key] = RecordLink(record_id=row.record_id, system=system, entity_type=key[0],
                                            external_id=external_id, base_snapshot=dict(row.values))
            elif owner != row.record_id:  # the system answered with an id another record holds: a person looks
                logger.error("%s answered a create for record %s with %s, linked to record %s already",
                             system.slug, row.record_id, external_id, owner)
                row.status, row.last_error = OutboundStatus.DEAD, (
                    f"{system.name} answered with id {external_id}, which is linked to record {owner} already")
                row.save(update_fields=["status", "last_error"])
                result.sent -= 1
                result.dead += 1
        services.links_create_many(list(new_links.values()))

    for row, outcome in zip(batch, outcomes, strict=True):
        if not outcome.ok:
            _record_failure(row, outcome, result)
    _count_dead_on_runs([row for row in batch if row.status == OutboundStatus.DEAD])


def _count_dead_on_runs(dead: list[OutboundChange]) -> None:
    """A run's writes given up on are counted on the run, and a run that had succeeded says it did not quite:
    one UPDATE per run, in the batch's transaction (the engine's own final status checks the count the same way,
    see run_lifecycle._finish, so a run still running when its write dies ends "completed with failed writes" too)."""
    for run_id, n in Counter(row.run_id for row in dead if row.run_id).items():
        SyncRun.objects.filter(pk=run_id).update(
            dead_writes=F("dead_writes") + n,
            status=Case(When(status=SyncStatus.SUCCEEDED, then=Value(SyncStatus.WRITES_FAILED)), default=F("status")))


def _record_failure(row: OutboundChange, outcome: WriteResult, result: DispatchResult) -> None:
    error = outcome.error or ConnectorError("the system gave no result for this write", kind="server",
                                            permanent=False)
    row.last_error = error.message[:2000]
    if error.permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboundStatus.DEAD
        result.dead += 1
        if row.run_id:
            SyncEvent.objects.create(run_id=row.run_id, record_id=row.record_id, side=row.side,
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
    for system in ConnectedSystem.objects.filter(is_active=True):
        part = dispatch_system(system=system)  # one index look-up when nothing is due
        total.sent += part.sent
        total.retrying += part.retrying
        total.dead += part.dead
        total.errors += part.errors
    return total


def dispatch_all_until_empty(*, budget_seconds: float | None = None) -> DispatchResult:
    """Send batches until nothing is due (rows waiting for their backoff are not due), or the budget is spent."""
    total = DispatchResult()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    while True:
        part = dispatch_all()
        total.sent += part.sent
        total.retrying += part.retrying
        total.dead += part.dead
        total.errors += part.errors
        if not (part.sent or part.retrying or part.dead) or (deadline is not None and time.monotonic() > deadline):
            return total
