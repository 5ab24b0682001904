"""The blocking index of golden records (``BlockingKey``): kept in step on every save, rebuilt by a scan."""
from __future__ import annotations

from collections.abc import Iterable

from reconciliation.duplicates import blocking, scoring


def keys_for(entity_type: str, values: dict) -> set[str]:
    profile = scoring.PROFILES.get(entity_type)
    if profile is None:
        return set()
    return blocking.blocking_keys(entity_type, profile.prepare(values or {}))


def index_record(record) -> None:
    """Refresh one record's keys (one read; writes only what changed)."""
    from reconciliation.duplicates.models import BlockingKey

    if record.entity_type not in scoring.PROFILES:
        return
    wanted = keys_for(record.entity_type, record.values)
    store_keys(record.entity_type, {record.pk: wanted},
               existing={record.pk: set(BlockingKey.objects.filter(record_id=record.pk).values_list("key", flat=True))})


def store_keys(entity_type: str, wanted: dict[int, set[str]], existing: dict[int, set[str]] | None = None,
               batch: int = 5000) -> tuple[int, int]:
    """Make the index hold exactly ``wanted`` for these records; returns (added, removed)."""
    from django.db import transaction

    from reconciliation.duplicates.models import BlockingKey

    if existing is None:
        existing = {}
        ids = list(wanted)
        for start in range(0, len(ids), batch):
            for record_id, key in BlockingKey.objects.filter(record_id__in=ids[start:start + batch]) \
                    .values_list("record_id", "key"):
                existing.setdefault(record_id, set()).add(key)
    added: list[BlockingKey] = []
    removed: list[tuple[int, Iterable[str]]] = []
    for record_id, keys in wanted.items():
        have = existing.get(record_id, set())
        added += [BlockingKey(record_id=record_id, entity_type=entity_type, key=key) for key in keys - have]
        if have - keys:
            removed.append((record_id, have - keys))
    with transaction.atomic():
        for record_id, keys in removed:
            BlockingKey.objects.filter(record_id=record_id, key__in=list(keys)).delete()
        BlockingKey.objects.bulk_create(added, batch_size=batch, ignore_conflicts=True)
    return len(added), sum(len(list(k)) for _, k in removed)
