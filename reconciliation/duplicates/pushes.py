"""What a merge (and its undo) writes to each system, as outbox rows: values through the sync's one writer
(payload builder, reference translation, rollout-stage gate), a retired record marked inactive, the vendor's
merge call. Each is a MergeEffect pointing at its outbox row, whose status is the effect's."""
from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db.models import Q

from connectors.models import ConnectedSystem
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import tasks as hub_tasks
from integration_hub.sync.models import OutboundChange, OutboundOperation, OutboundStatus
from integration_hub.sync.references import ToSide
from integration_hub.sync.rules import NothingPublished, compile_mapping
from integration_hub.sync.writes import outgoing, write_status
from mapping.models import ObjectMapping
from reconciliation.duplicates.models import EffectKind, EffectStatus, Merge, MergeEffect

logger = logging.getLogger(__name__)


def stage_status(system: ConnectedSystem) -> str:
    """The status an effect in this system starts with, as its rollout stage allows (the sync's gate)."""
    status = write_status(system, system.role)
    if status is None:
        return EffectStatus.SKIPPED
    return EffectStatus.SHADOW if status == OutboundStatus.SHADOW else EffectStatus.PENDING


def effect_status(effect: MergeEffect) -> str:
    """An outbox-backed effect's status is its outbox row's."""
    if effect.outbound_id and effect.status not in (EffectStatus.CANCELLED, EffectStatus.SKIPPED):
        return effect.outbound.status
    return effect.status


def mapping_for(system: ConnectedSystem, entity_type: str) -> ObjectMapping | None:
    return ObjectMapping.objects.filter(Q(crm_system=system) | Q(erp_system=system), entity_type=entity_type) \
        .select_related("crm_system", "erp_system", "published_version").first()


def vendor_object(system: ConnectedSystem, entity_type: str) -> str:
    mapping = mapping_for(system, entity_type)
    if mapping is None:
        return entity_type
    return mapping.crm_object if mapping.crm_system_id == system.pk else mapping.erp_object


def outbound(merge: Merge, record: Record, link: RecordLink, object_name: str, values: dict[str, Any],
             payload: dict[str, Any], purpose: str,
             operation: str = OutboundOperation.UPSERT) -> OutboundChange | None:
    """An outbox row for one link, as the system's rollout stage allows (None: nothing may be written there)."""
    system = link.system
    status = write_status(system, system.role)
    if status is None:
        return None
    key = hashlib.sha256(f"duplicates:merge:{merge.pk}:{purpose}:{link.pk}:{record.pk}".encode()).hexdigest()
    return OutboundChange.objects.create(
        record=record, system=system, link=link, side=system.role, vendor_object=object_name, operation=operation,
        values=values, payload=payload, idempotency_key=key, status=status)


def queue_vendor_merge(merge: Merge, survivor: Record, keep: RecordLink, retired: RecordLink,
                       object_name: str) -> MergeEffect:
    """The vendor's merge call, `retired` merged into `keep`: an outbox merge row sent like any other write."""
    system = retired.system
    row = outbound(merge, survivor, keep, object_name, {}, {"absorbed_id": retired.external_id},
                   f"vendor-merge:{retired.pk}", OutboundOperation.MERGE)
    return MergeEffect.objects.create(
        merge=merge, system=system, kind=EffectKind.VENDOR_MERGE, vendor_object=object_name, record=survivor,
        survivor_external_id=keep.external_id, absorbed_external_id=retired.external_id, outbound=row,
        status=stage_status(system),
        message=f"{system.name}: merge {object_name} {retired.external_id} into {keep.external_id}")


def queue_values(merge: Merge, record: Record, link: RecordLink, values: dict[str, Any], purpose: str,
                 *, kind: str = EffectKind.UPDATE) -> MergeEffect | None:
    """Queue canonical values for one link through the sync's writer and the published rules: only fields the
    rules write to that side, references as that system's ids, what cannot be written there yet left out."""
    mapping = mapping_for(link.system, record.entity_type)
    if mapping is None or not values:
        return None
    try:
        compiled = compile_mapping(mapping)
    except NothingPublished:
        return None
    side = "crm" if mapping.crm_system_id == link.system_id else "erp"
    out = outgoing(compiled, side, ToSide(compiled, side, [values]), link, values)
    if not out.values or not out.payload:
        return None
    object_name = compiled.vendor_object(side)
    row = outbound(merge, record, link, object_name, out.values, out.payload, purpose)
    left_out = {**out.missing, **out.locked, **out.errors}
    message = f"{link.system.name} {link.external_id}: write {', '.join(sorted(out.values))}"
    if left_out:
        message += "; left out: " + "; ".join(f"{name} ({why})" for name, why in sorted(left_out.items()))
    return MergeEffect.objects.create(
        merge=merge, system=link.system, kind=kind, undo=purpose.startswith("undo"), vendor_object=object_name,
        record=record, survivor_external_id=link.external_id, outbound=row, status=stage_status(link.system),
        message=message[:500])


def dispatch_soon() -> None:
    """Send the merge's writes now rather than at the dispatcher's next beat."""
    try:
        hub_tasks.dispatch_outbox.delay()
    except Exception:  # a broker outage must not undo a merge: the minute schedule sends them later
        logger.warning("could not queue the merge's writes now; the schedule will send them", exc_info=True)
