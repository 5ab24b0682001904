"""Write paths for golden records: every change carries its provenance and its actor."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from integration_hub.kernel import audit
from integration_hub.kernel.bulk import insert_many, update_many
from integration_hub.records import matching
from integration_hub.records.models import Record, RecordLink

# Sent after records are written in bulk (no post_save per record): receivers get `records`, `created` and, for
# updates, `changed` (record id -> the field names that changed).
records_written = Signal()

# Fields whose value names the record in lists, in order of preference per entity.
DISPLAY_FIELDS = ("name", "full_name", "title", "number", "invoice_number", "sku", "email")


@dataclass(frozen=True)
class Source:
    """Where a value came from: a system (by slug) in a sync run, or a person in the hub."""

    system: str = "hub"
    sync_run: int | None = None
    rule_version: int | None = None


HUB_EDIT = Source()


def display_name_for(entity_type: str, values: dict[str, Any]) -> str:
    if entity_type == "contact" and not values.get("full_name"):
        full = " ".join(str(values.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
        if full:
            return full[:255]
    for name in DISPLAY_FIELDS:
        if values.get(name):
            return str(values[name])[:255]
    return ""


def _provenance(source: Source, when) -> dict[str, Any]:
    return {
        "system": source.system,
        "actor": audit.current_actor(),
        "sync_run": source.sync_run,
        "rule_version": source.rule_version,
        "at": when.isoformat(),
    }


@transaction.atomic
def record_create(*, entity_type: str, values: dict[str, Any], source: Source = HUB_EDIT,
                  reason: str = "") -> Record:
    """Create a golden record; every field's provenance names ``source``."""
    now = timezone.now()
    stamp = _provenance(source, now)
    record = Record(entity_type=entity_type, values=dict(values),
                    provenance={field: stamp for field in values},
                    display_name=display_name_for(entity_type, values))
    record._change_reason = reason or audit.reason_or("created")
    record.save()
    matching.keys_add([record])
    return record


@transaction.atomic
def record_update_values(*, record: Record, changes: dict[str, Any], source: Source = HUB_EDIT,
                         reason: str = "") -> list[str]:
    """Apply field changes to a record; returns the fields that really changed.

    Unchanged values are skipped (an absent field and an empty one are the same), so a sync that sees
    nothing new writes no history row.
    """
    changed = [f for f, v in changes.items() if record.values.get(f) != v]
    if not changed:
        return []
    stamp = _provenance(source, timezone.now())
    for field in changed:
        record.values[field] = changes[field]
        record.provenance[field] = stamp
    record.display_name = display_name_for(record.entity_type, record.values)
    record._change_reason = reason or audit.reason_or(f"updated {', '.join(sorted(changed))}")
    record.save()
    keys = matching.entity_keys(record.entity_type)
    if {part for key in keys for part in key.split("+")}.intersection(changed):
        matching.keys_refresh([record], keys)
    if source.system == HUB_EDIT.system:
        # A person's edit in the hub reaches the systems with the next sync of the record's mapping.
        RecordLink.objects.filter(record=record).update(needs_merge=True)
    return changed


@transaction.atomic
def record_link(*, record: Record, system, external_id: str, base_snapshot: dict | None = None,
                remote_values: dict | None = None, remote_updated_at=None) -> RecordLink:
    """Link a record to its id in ``system`` (idempotent for the same record and id)."""
    link, created = RecordLink.objects.get_or_create(
        system=system, entity_type=record.entity_type, external_id=str(external_id),
        defaults={"record": record, "base_snapshot": base_snapshot or {}, "remote_values": remote_values or {},
                  "remote_updated_at": remote_updated_at, "last_synced_at": timezone.now()},
    )
    if not created and link.record_id != record.pk:
        raise ValueError(f"{system.slug} {record.entity_type} {external_id} "
                         f"is already linked to record {link.record_id}")
    return link



# --- bulk write paths (the sync): the same provenance and history, one statement per batch -----------------

@transaction.atomic
def records_create_many(*, entity_type: str, items: list[tuple[dict[str, Any], Source]],
                        reason: str = "") -> list[Record]:
    """Create golden records in bulk, each with its source's provenance and a history row (as record_create)."""
    now = timezone.now()
    records = []
    for values, source in items:
        stamp = _provenance(source, now)
        record = Record(entity_type=entity_type, values=dict(values), provenance={field: stamp for field in values},
                        display_name=display_name_for(entity_type, values))
        record._change_reason = reason or audit.reason_or("created")
        records.append(record)
    insert_many(Record, records)
    audit.bulk_history(Record, records, update=False)
    matching.keys_add(records)
    records_written.send(sender=Record, records=records, created=True)
    return records


@transaction.atomic
def records_update_many(items: list[tuple[Record, dict[str, Any], Source]]) -> list[tuple[Record, list[str]]]:
    """Apply field changes to many records of one entity type (as record_update_values); returns the records
    that really changed, with their changed fields."""
    now = timezone.now()
    updated: list[tuple[Record, list[str]]] = []
    for record, changes, source in items:
        changed = [f for f, v in changes.items() if record.values.get(f) != v]
        if not changed:
            continue
        stamp = _provenance(source, now)
        for field in changed:
            record.values[field] = changes[field]
            record.provenance[field] = stamp
        record.display_name = display_name_for(record.entity_type, record.values)
        record.updated_at = now
        record._change_reason = audit.reason_or(f"updated {', '.join(sorted(changed))}")
        updated.append((record, changed))
    if not updated:
        return []
    records = [record for record, _ in updated]
    update_many(Record, records, ["values", "provenance", "display_name", "updated_at"])
    audit.bulk_history(Record, records, update=True)
    keys = matching.entity_keys(records[0].entity_type)
    key_fields = {part for key in keys for part in key.split("+")}
    rekey = [record for record, changed in updated if key_fields.intersection(changed)]
    matching.keys_refresh(rekey, keys)
    records_written.send(sender=Record, records=records, created=False,
                         changed={record.pk: set(fields) for record, fields in updated})
    return updated


@transaction.atomic
def links_create_many(links: list[RecordLink]) -> list[RecordLink]:
    """Create links in bulk with their history rows (callers make sure none exists yet)."""
    now = timezone.now()
    for link in links:
        link.last_synced_at = link.last_synced_at or now
        link.external_id = str(link.external_id)
    insert_many(RecordLink, links)
    audit.bulk_history(RecordLink, links, update=False)
    return links


@transaction.atomic
def links_save_bases(links: list[RecordLink]) -> None:
    """Store moved base snapshots in bulk, with their history rows."""
    if links:
        update_many(RecordLink, links, ["base_snapshot"])
        audit.bulk_history(RecordLink, links, update=True)
