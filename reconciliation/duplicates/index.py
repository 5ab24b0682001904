"""The blocking index of golden records (``BlockingKey``): kept in step on every save, rebuilt by a scan."""
from __future__ import annotations

from django.db import transaction

from integration_hub.kernel.bulk import insert_rows
from reconciliation.duplicates import blocking, scoring
from reconciliation.duplicates.models import BlockingKey


def keys_for(entity_type: str, values: dict) -> set[str]:
    profile = scoring.PROFILES.get(entity_type)
    if profile is None:
        return set()
    return blocking.blocking_keys(entity_type, profile.prepare(values or {}))


class _Reads(dict):
    """Values that remember which fields were read."""

    def __init__(self, values) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)


def keys_and_reads(entity_type: str, values: dict) -> tuple[set[str], set[str]]:
    """The blocking keys, and the fields reading them took. The keys depend on those fields only: a record
    whose change touched none of them keeps its keys (the same reads of the same values give the same
    keys)."""
    reads = _Reads(values or {})
    return keys_for(entity_type, reads), reads.read


def index_record(record) -> None:
    """Refresh one record's keys (one read; writes only what changed)."""
    if record.entity_type not in scoring.PROFILES:
        return
    wanted = keys_for(record.entity_type, record.values)
    store_keys(record.entity_type, {record.pk: wanted},
               existing={record.pk: set(BlockingKey.objects.filter(record_id=record.pk).values_list("key", flat=True))})


def store_keys(entity_type: str, wanted: dict[int, set[str]], existing: dict[int, set[str]] | None = None,
               batch: int = 5000, *, new: bool = False) -> tuple[int, int]:
    """Make the index hold exactly ``wanted`` for these records, a batch of records at a time (memory stays
    flat on a first scan of a large import); returns (added, removed). ``new``: records created in the current
    transaction, which no other writer can have keyed (their keys are copied in without a conflict check)."""
    ids = list(wanted)
    added_total = removed_total = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        have_by_id: dict[int, set[str]] = {}
        if existing is not None:
            have_by_id = {i: existing.get(i, set()) for i in chunk}
        else:
            for record_id, key in BlockingKey.objects.filter(record_id__in=chunk).values_list("record_id", "key"):
                have_by_id.setdefault(record_id, set()).add(key)
        added, removed = _write_keys(entity_type, {i: wanted[i] for i in chunk}, have_by_id, batch, new=new)
        added_total += added
        removed_total += removed
    return added_total, removed_total


def _write_keys(entity_type: str, wanted: dict[int, set[str]], have_by_id: dict[int, set[str]],
                batch: int, *, new: bool = False) -> tuple[int, int]:
    added: list[tuple[int, str, str]] = []
    removed = 0
    with transaction.atomic():
        for record_id, keys in wanted.items():
            have = have_by_id.get(record_id, set())
            added += [(record_id, entity_type, key) for key in keys - have]
            gone = have - keys
            if gone:
                removed += len(gone)
                BlockingKey.objects.filter(record_id=record_id, key__in=list(gone)).delete()
        insert_rows(BlockingKey, ["record_id", "entity_type", "key"], added, ignore_conflicts=not new)
    return len(added), removed
