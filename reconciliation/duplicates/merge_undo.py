"""Undoing a merge within its window: values, links, children, conflicts and sync events back as they were, and
what the merge sent to each system cancelled (not sent yet) or reversed through the outbox where the vendor can."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.registry import capabilities
from integration_hub.kernel import audit
from integration_hub.records import matching
from integration_hub.records import services as hub
from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncEvent
from reconciliation.conflicts.models import Conflict, ConflictStatus
from reconciliation.duplicates import pushes
from reconciliation.duplicates.models import CandidateStatus, EffectKind, EffectStatus, Merge, MergeEffect, MergeStatus
from reconciliation.duplicates.services import DuplicateError


@transaction.atomic
def merge_undo(*, merge: Merge, user) -> Merge:
    """Undo a merge within its window: the survivor's merged fields back to their values before (a field
    changed since the merge is kept, and said so), links, child references and sync events back to the
    absorbed records, the absorbed records scanned again. Pushes not sent yet are cancelled; sent value
    writes and deactivations are reversed through the outbox; a vendor merge already sent cannot be undone
    by the vendor (HubSpot) and is reported, its link left archived on the absorbed record."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if merge.status != MergeStatus.DONE:
        raise DuplicateError(f"Merge #{merge.pk} was already undone.")
    if timezone.now() > merge.undo_until:
        raise DuplicateError(f"Merge #{merge.pk} can no longer be undone: its window closed at "
                             f"{merge.undo_until:%Y-%m-%d %H:%M} UTC.")
    report: list[dict[str, Any]] = []
    survivor = Record.objects.select_for_update().get(pk=merge.survivor_id)
    absorbed = list(merge.absorbed.all())
    with audit.acting_as(user.get_username() if user else "system", user=user,
                         reason=f"undo of merge #{merge.pk}"):
        restore, kept = {}, []
        before = merge.before.get("values", {})
        for name, merged_value in merge.before.get("changed", {}).items():
            if survivor.values.get(name) == merged_value:
                restore[name] = before.get(name)
            else:
                kept.append(name)
        if restore:
            hub.record_update_values(record=survivor, changes=restore,
                                     reason=f"undo of merge #{merge.pk}: values before the merge")
        report += [{"what": f"{name}: changed since the merge, kept", "done": False} for name in kept]
        report += _undo_children(merge)
        report += _undo_links(merge)
        report += _undo_conflicts(merge)
        report += _undo_effects(merge, survivor)
        SyncEvent.objects.filter(pk__in=[pk for pk, _ in merge.before.get("events", [])]).update(record=None)
        for pk, record_id in merge.before.get("events", []):
            SyncEvent.objects.filter(pk=pk).update(record_id=record_id)
        for record in absorbed:
            record._change_reason = f"undo of merge #{merge.pk}: a record of its own again"
            record.save()  # the save re-indexes its blocking keys
        matching.keys_refresh(absorbed)  # and its match keys, which the merge took away
        merge.status, merge.undone_by, merge.undone_at, merge.undo_report = (MergeStatus.UNDONE, user,
                                                                              timezone.now(), report)
        merge._change_reason = "undone"
        merge.save()
        if merge.candidate_id:
            candidate = merge.candidate
            candidate.status, candidate.decided_by, candidate.decided_at = CandidateStatus.OPEN, None, None
            candidate._change_reason = f"merge #{merge.pk} undone: open again"
            candidate.save()
    transaction.on_commit(pushes.dispatch_soon)
    return merge


def _undo_effects(merge: Merge, survivor: Record) -> list[dict[str, Any]]:
    report = []
    for effect in merge.effects.filter(undo=False).select_related("outbound", "system"):
        if effect.outbound_id:
            cancelled = OutboundChange.objects.filter(
                pk=effect.outbound_id, status__in=[OutboundStatus.PENDING, OutboundStatus.FAILED,
                                                   OutboundStatus.SHADOW]) \
                .update(status=OutboundStatus.DEAD, last_error=f"cancelled: merge #{merge.pk} undone")
            if cancelled:
                effect.status = EffectStatus.CANCELLED
                effect.save(update_fields=["status"])
                report.append({"what": f"{effect.message}: not sent yet, cancelled", "done": True})
            elif effect.kind == EffectKind.DEACTIVATE:
                report.append(_reactivate(merge, effect))
            elif effect.kind == EffectKind.UPDATE:
                report.append(_write_back(merge, effect))
            elif effect.kind == EffectKind.VENDOR_MERGE:
                report.append(_not_reversible(merge, effect, survivor))
            continue
        if effect.kind != EffectKind.VENDOR_MERGE:
            continue
        # A vendor merge without an outbox row: skipped by the rollout stage, or sent before merges went through
        # the outbox (its status is then its own).
        cancelled = MergeEffect.objects.filter(pk=effect.pk, status__in=[
            EffectStatus.PENDING, EffectStatus.FAILED, EffectStatus.SHADOW, EffectStatus.SKIPPED]) \
            .update(status=EffectStatus.CANCELLED)
        if cancelled:
            report.append({"what": f"{effect.message}: not sent yet, cancelled", "done": True})
        else:
            report.append(_not_reversible(merge, effect, survivor))
    return report


def _not_reversible(merge: Merge, effect: MergeEffect, survivor: Record) -> dict[str, Any]:
    """A vendor merge sent (or on its way): the vendor cannot undo it (HubSpot); a person is told."""
    MergeEffect.objects.create(
        merge=merge, system=effect.system, kind=EffectKind.MANUAL, undo=True, record=survivor,
        vendor_object=effect.vendor_object, survivor_external_id=effect.survivor_external_id,
        absorbed_external_id=effect.absorbed_external_id, status=EffectStatus.NOT_REVERSIBLE,
        message=f"{effect.system.name} cannot undo a merge: {effect.vendor_object} "
                f"{effect.absorbed_external_id} stays merged into {effect.survivor_external_id}")
    return {"what": f"{effect.system.name} cannot undo its merge of {effect.absorbed_external_id} "
                    f"into {effect.survivor_external_id}; that link stays archived", "done": False}


def _write_back(merge: Merge, effect: MergeEffect) -> dict[str, Any]:
    """A value write the merge sent: the record that link belongs to now (after undo) gets its own values for
    those fields written again."""
    link = RecordLink.objects.select_related("system", "record").get(pk=effect.outbound.link_id)
    record = link.record
    values = {name: record.values.get(name) for name in effect.outbound.values}
    pushes.queue_values(merge, record, link, values, f"undo:{effect.pk}")
    return {"what": f"{link.system.name} {link.external_id}: values of record #{record.pk} written back",
            "done": True}


def _reactivate(merge: Merge, effect: MergeEffect) -> dict[str, Any]:
    link = effect.outbound.link
    vendor = capabilities(effect.system.vendor)
    payload = {vendor.deactivation.flag: vendor.deactivation.active}
    note = vendor.note_field
    if note and note in effect.outbound.payload:
        payload[note] = (link.remote_values or {}).get(note) or ""
    outbound = pushes.outbound(merge, effect.record, link, effect.vendor_object, {}, payload, "undo:reactivate")
    MergeEffect.objects.create(merge=merge, system=effect.system, kind=EffectKind.REACTIVATE, undo=True,
                               vendor_object=effect.vendor_object, record=effect.record, outbound=outbound,
                               survivor_external_id=effect.survivor_external_id,
                               absorbed_external_id=effect.absorbed_external_id,
                               status=pushes.stage_status(effect.system),
                               message=f"{effect.system.name}: {effect.vendor_object} {effect.absorbed_external_id} "
                                       f"marked active again")
    return {"what": f"{effect.system.name} {effect.absorbed_external_id}: marked active again", "done": True}


def _undo_links(merge: Merge) -> list[dict[str, Any]]:
    report = []
    # Merged away in the vendor: its outbox row was sent (or, made before merges went through the outbox, it was).
    irreversible = set(merge.effects.filter(kind=EffectKind.VENDOR_MERGE).filter(
        Q(outbound__status=OutboundStatus.SENT) | Q(outbound__isnull=True, status=EffectStatus.SENT))
        .values_list("absorbed_external_id", "system_id"))
    for entry in merge.before.get("links", []):
        link = RecordLink.objects.select_related("system").get(pk=entry["id"])
        link.record_id = entry["record"]
        link.status = entry["status"]
        if (link.external_id, link.system_id) in irreversible:
            link.status = LinkStatus.ARCHIVED
        link._change_reason = f"undo of merge #{merge.pk}: back to record #{entry['record']}"
        link.save(update_fields=["record", "status"])
        report.append({"what": f"{link.system.name} {link.external_id}: back to record #{entry['record']}"
                               + (" (archived: merged away in the vendor)" if link.status != entry["status"] else ""),
                       "done": True})
    return report


def _undo_children(merge: Merge) -> list[dict[str, Any]]:
    report = []
    for entry in merge.before.get("children", []):
        child = Record.objects.select_for_update().get(pk=entry["record"])
        if child.values.get(entry["field"]) != entry["new"]:
            report.append({"what": f"record #{child.pk} {entry['field']}: changed since the merge, kept",
                           "done": False})
            continue
        hub.record_update_values(record=child, changes={entry["field"]: entry["old"]},
                                 reason=f"undo of merge #{merge.pk}: points at {entry['old']} again")
        report.append({"what": f"record #{child.pk} {entry['field']}: points at {entry['old']} again", "done": True})
    return report


def _undo_conflicts(merge: Merge) -> list[dict[str, Any]]:
    report = []
    for conflict in Conflict.objects.select_for_update().filter(pk__in=merge.before.get("conflicts", []),
                                                                 status=ConflictStatus.SUPERSEDED):
        if Conflict.objects.filter(record_id=conflict.record_id, field=conflict.field,
                                   status=ConflictStatus.OPEN).exists():
            report.append({"what": f"conflict #{conflict.pk} ({conflict.field}): another one is open, left closed",
                           "done": False})
            continue
        conflict.status = ConflictStatus.OPEN
        conflict._change_reason = f"undo of merge #{merge.pk}: open again"
        conflict.save(update_fields=["status"])
        report.append({"what": f"conflict #{conflict.pk} ({conflict.field}): open again", "done": True})
    return report
