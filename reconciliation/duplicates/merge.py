"""Merging duplicates (golden records, or a record the sync held instead of creating): survivorship applied to the
survivor, the absorbed records' links, children, history and open conflicts moved to it, a second identity in a
system retired there (the vendor's merge, else marked inactive), the systems' writes queued in the outbox
(pushes.py). Everything changed is kept in ``Merge.before`` for undo."""
from __future__ import annotations

import copy
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.registry import capabilities
from integration_hub.kernel import audit
from integration_hub.kernel.references import golden_id
from integration_hub.records import services as hub
from integration_hub.records.models import LinkStatus, MatchKey, Record, RecordLink
from integration_hub.sync.merge import is_empty
from integration_hub.sync.models import SyncEvent
from mapping.models import FieldRule, ObjectMapping
from mapping.types import FieldType
from reconciliation.conflicts.models import Conflict, ConflictStatus
from reconciliation.duplicates import pushes
from reconciliation.duplicates.models import (
    BlockingKey,
    CandidateStatus,
    DuplicateCandidate,
    EffectKind,
    EffectStatus,
    Merge,
    MergeEffect,
)
from reconciliation.duplicates.services import (
    INCOMING,
    DuplicateError,
    absorbed_ids,
    close_candidate,
    incoming_record,
    open_candidate,
    undo_window,
)
from reconciliation.duplicates.survivorship import resolve_choices


def _reference_fields(entity_type: str) -> dict[str, list[str]]:
    """Entity -> its fields that point at ``entity_type``, as the published rules say."""
    published = ObjectMapping.objects.exclude(published_version=None).values("published_version")
    rules = FieldRule.objects.filter(version__in=published, field_type=FieldType.REFERENCE, reference_to=entity_type)
    fields: dict[str, list[str]] = {}
    for entity, name in rules.values_list("version__mapping__entity_type", "field").order_by("field").distinct():
        fields.setdefault(entity, []).append(name)
    return fields


def children_of(record: Record) -> list[tuple[Record, str]]:
    """Records whose reference fields point at ``record`` (contacts, deals, quotes, orders, invoices)."""
    fields = _reference_fields(record.entity_type)
    if not fields:
        return []
    token = golden_id(record.pk)
    query = Q()
    for entity, names in fields.items():
        for name in names:
            query |= Q(entity_type=entity, **{f"values__{name}": token})
    out = []
    for child in Record.objects.filter(query).order_by("pk"):
        out += [(child, name) for name in fields.get(child.entity_type, []) if child.values.get(name) == token]
    return out


@transaction.atomic
def candidate_merge(*, candidate: DuplicateCandidate, survivor: Record | int, user,
                    choices: dict[str, Any] | None = None, absorbed: list[int] | None = None) -> Merge:
    """Merge a candidate: ``survivor`` keeps its id and takes each field's chosen value; the others (all, or
    ``absorbed``) hand it their links, children and history. A record the sync held is merged the same way,
    as the golden record it would have been (``choices`` may name it "incoming"): its identity in its system is
    merged into the survivor's there (or becomes the survivor's, where it has none), and both systems get the
    merged values."""
    candidate = open_candidate(candidate)
    survivor_id = survivor.pk if isinstance(survivor, Record) else int(survivor)
    members = {r.pk: r for r in candidate.records.all()}
    if survivor_id not in members:
        raise DuplicateError(f"Record {survivor_id} is not part of {candidate}.")
    if candidate.is_incoming:
        held = incoming_record(candidate)
        members[held.pk] = held
        absorbed = [held.pk]
        choices = {name: held.pk if chosen == INCOMING else chosen for name, chosen in (choices or {}).items()}
    absorbed_ids_ = [i for i in (absorbed or members) if i != survivor_id]
    if not absorbed_ids_ or any(i not in members for i in absorbed_ids_):
        raise DuplicateError("Choose at least one other record of this candidate to merge into the survivor.")
    merge = merge_records(survivor=members[survivor_id], absorbed=[members[i] for i in absorbed_ids_],
                          choices=choices, user=user, candidate=candidate)
    close_candidate(candidate, CandidateStatus.MERGED, user, f"merged into record {survivor_id} (merge #{merge.pk})")
    return merge


@transaction.atomic
def merge_records(*, survivor: Record, absorbed: list[Record], user, choices: dict[str, Any] | None = None,
                  candidate: DuplicateCandidate | None = None) -> Merge:
    """Merge ``absorbed`` into ``survivor``: survivorship per field, links moved (a second link in a system
    the survivor is already linked in is retired: the vendor merges it, or it is marked inactive with a
    reference to the survivor), child references moved, sync events moved, writes queued in the outbox.
    Everything it changed is kept in ``Merge.before`` for undo."""
    records = [survivor] + absorbed
    if len({r.entity_type for r in records}) != 1:
        raise DuplicateError("Only records of one entity type can be merged.")
    gone = absorbed_ids()
    if any(r.pk in gone for r in records):
        raise DuplicateError("A record in this merge was already merged away; undo that merge first.")
    survivor = Record.objects.select_for_update().get(pk=survivor.pk)
    resolved = resolve_choices(records=records, survivor=survivor, overrides=choices)
    # Only a field's owner empties it, in its own system: a merge never writes an empty value.
    changes = {name: c.value for name, c in resolved.items()
               if survivor.values.get(name) != c.value and not is_empty(c.value)}
    merge = Merge.objects.create(
        candidate=candidate, entity_type=survivor.entity_type, survivor=survivor, merged_by=user,
        undo_until=timezone.now() + undo_window(),
        choices={name: {"record": c.record_id, "value": c.value, "reason": c.reason} for name, c in resolved.items()},
        before={"values": copy.deepcopy(survivor.values), "changed": changes, "links": [], "children": [],
                "events": []})
    merge.absorbed.set(absorbed)
    label = ", ".join(f"#{r.pk}" for r in absorbed)
    with audit.acting_as(user.get_username() if user else "system", user=user,
                         reason=f"merge #{merge.pk}: records {label} merged into #{survivor.pk}"):
        if changes:
            hub.record_update_values(record=survivor, changes=changes,
                                     reason=f"merge #{merge.pk}: values chosen from records {label}")
        else:
            survivor._change_reason = f"merge #{merge.pk}: records {label} merged into this one"
            survivor.save()
        moved_in = _move_links(merge, survivor, absorbed)
        _move_children(merge, survivor, absorbed)
        _queue_survivor_writes(merge, survivor, changes, moved_in)
        for record in absorbed:
            record._change_reason = f"merge #{merge.pk}: merged into record #{survivor.pk}"
            record.save()
            BlockingKey.objects.filter(record=record).delete()
            MatchKey.objects.filter(record=record).delete()  # no vendor record is matched to it by key any more
        moved = list(SyncEvent.objects.filter(record__in=absorbed).values_list("pk", "record_id"))
        SyncEvent.objects.filter(pk__in=[pk for pk, _ in moved]).update(record=survivor)
        merge.before["events"] = moved
        merge.before["conflicts"] = _close_conflicts(merge, survivor, absorbed)
        merge.save(update_fields=["before"])
        for other in DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN, records__in=absorbed) \
                .exclude(pk=getattr(candidate, "pk", None)).distinct():
            close_candidate(other, CandidateStatus.STALE, user, f"record merged away by merge #{merge.pk}")
    transaction.on_commit(pushes.dispatch_soon)
    return merge


def _close_conflicts(merge: Merge, survivor: Record, absorbed: list[Record]) -> list[int]:
    """An absorbed record's open conflicts leave the queue: the record is gone, and its systems' links now
    belong to the survivor, whose next sync compares their values again (a disagreement left is a new
    conflict, on the survivor). Returns their ids, reopened if the merge is undone."""
    closed = []
    for conflict in Conflict.objects.select_for_update().filter(record__in=absorbed, status=ConflictStatus.OPEN):
        conflict.status = ConflictStatus.SUPERSEDED
        conflict._change_reason = (f"merge #{merge.pk}: record #{conflict.record_id} merged into #{survivor.pk}; "
                                   f"its next sync compares the systems' values again")
        conflict.save(update_fields=["status"])
        closed.append(conflict.pk)
    return closed


def _move_links(merge: Merge, survivor: Record, absorbed: list[Record]) -> list[RecordLink]:
    """Each absorbed link goes to the survivor; one in a system where the survivor is already linked is
    retired (status archived) with a vendor effect. Returns the links whose system now needs the survivor's
    values (links moved in as the survivor's identity there)."""
    active = {link.system_id: link for link in RecordLink.objects.filter(record=survivor, status=LinkStatus.ACTIVE)
              .select_related("system")}
    moved_in: list[RecordLink] = []
    for link in RecordLink.objects.filter(record__in=absorbed).select_related("system").order_by("pk"):
        was_active = link.status == LinkStatus.ACTIVE
        merge.before["links"].append({"id": link.pk, "record": link.record_id, "status": link.status,
                                      "system": link.system.name, "external_id": link.external_id,
                                      "retired": was_active and link.system_id in active})
        link.record = survivor
        if was_active and link.system_id not in active:
            active[link.system_id] = link
            moved_in.append(link)
            link._change_reason = f"merge #{merge.pk}: moved to record #{survivor.pk}"
            link.save(update_fields=["record"])
            continue
        if was_active:  # a second identity in a system where the survivor has one: retired
            link.status = LinkStatus.ARCHIVED
            link._change_reason = f"merge #{merge.pk}: merged into {active[link.system_id].external_id}"
        else:
            link._change_reason = f"merge #{merge.pk}: moved to record #{survivor.pk}"
        link.save(update_fields=["record", "status"])
        if was_active:
            _retire(merge, survivor, active[link.system_id], link)
    return moved_in


def _retire(merge: Merge, survivor: Record, keep: RecordLink, retired: RecordLink) -> None:
    """The vendor's merge call where it has one; else the absorbed record marked inactive pointing at the
    survivor; else (nothing the vendor offers) an effect telling a person what to do."""
    system = retired.system
    mapping_object = pushes.vendor_object(system, merge.entity_type)
    vendor = capabilities(system.vendor)
    if mapping_object in vendor.merge_objects:
        pushes.queue_vendor_merge(merge, survivor, keep, retired, mapping_object)
        return
    common = {"merge": merge, "system": system, "vendor_object": mapping_object, "record": survivor,
              "survivor_external_id": keep.external_id, "absorbed_external_id": retired.external_id}
    if vendor.deactivation is not None:
        payload = {vendor.deactivation.flag: vendor.deactivation.inactive}
        note = vendor.note_field
        if note and merge.entity_type in ("account", "contact"):
            payload[note] = (f"Merged into {mapping_object} {keep.external_id} (Integration Hub record "
                             f"#{survivor.pk}, merge #{merge.pk})")
        outbound = pushes.outbound(merge, survivor, retired, mapping_object, {}, payload, "deactivate")
        MergeEffect.objects.create(kind=EffectKind.DEACTIVATE, outbound=outbound, status=pushes.stage_status(system),
                                   message=f"{system.name}: {mapping_object} {retired.external_id} marked inactive, "
                                           f"pointing at {keep.external_id}", **common)
        return
    MergeEffect.objects.create(kind=EffectKind.MANUAL, status=EffectStatus.SKIPPED,
                               message=f"{system.name} can neither merge nor deactivate {mapping_object}: archive "
                                       f"{retired.external_id} there by hand (it duplicates {keep.external_id})",
                               **common)


def _queue_survivor_writes(merge: Merge, survivor: Record, changes: dict[str, Any],
                           moved_in: list[RecordLink]) -> None:
    """The survivor's systems get the merged values: its own links the fields the merge changed, a link
    moved in from an absorbed record every value that differs from what that system agreed on last."""
    moved_ids = {link.pk for link in moved_in}
    for link in RecordLink.objects.filter(record=survivor, status=LinkStatus.ACTIVE).select_related("system"):
        if link.pk in moved_ids:
            base = link.base_snapshot or {}
            values = {f: v for f, v in survivor.values.items() if base.get(f) != v and not is_empty(v)}
        else:
            values = changes
        pushes.queue_values(merge, survivor, link, values, f"survivor:{link.pk}")


def _move_children(merge: Merge, survivor: Record, absorbed: list[Record]) -> None:
    token = golden_id(survivor.pk)
    for record in absorbed:
        for child, name in children_of(record):
            merge.before["children"].append({"record": child.pk, "field": name, "old": golden_id(record.pk),
                                             "new": token})
            hub.record_update_values(record=child, changes={name: token},
                                     reason=f"merge #{merge.pk}: its {record.entity_type} #{record.pk} was merged "
                                            f"into #{survivor.pk}")
            for link in RecordLink.objects.filter(record=child, status=LinkStatus.ACTIVE).select_related("system"):
                pushes.queue_values(merge, child, link, {name: token}, f"child:{child.pk}:{name}")
    merge.save(update_fields=["before"])
