"""Match keys: find the golden record an unlinked record is, by the mapping's keys, with an index lookup.

A key is a field name or fields joined by "+" ("email", "name+shipping_postcode"). A key matches when every
part is present, scalar and equal (exact values, as stored in the golden record). The keys kept for an
entity are the union of its mappings' match keys; a mapping whose keys change rebuilds them (mapping signal).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from integration_hub.kernel.bulk import insert_rows
from integration_hub.records import extensions
from integration_hub.records.models import MatchKey, Record


def entity_keys(entity_type: str) -> list[str]:
    """Every match key this entity's records are indexed by (as the mapping registers them)."""
    return extensions.match_keys(entity_type)


def key_digest(key: str, values: dict[str, Any]) -> str | None:
    """The digest of ``values`` under ``key``, or None when a part is missing, empty or not a scalar."""
    parts = []
    for part in key.split("+"):
        value = values.get(part)
        if value in (None, "") or isinstance(value, dict | list):
            return None
        parts.append(value)
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def keys_refresh(records: Sequence[Record], keys: Sequence[str] | None = None) -> None:
    """Rewrite the match keys of ``records`` (all of one entity type) from their current values."""
    if not records:
        return
    keys = entity_keys(records[0].entity_type) if keys is None else keys
    with transaction.atomic():
        MatchKey.objects.filter(record_id__in=[r.pk for r in records]).delete()
        _insert(_rows(records, keys))


def keys_add(records: Sequence[Record], keys: Sequence[str] | None = None) -> None:
    """Index new records (all of one entity type)."""
    if records:
        keys = entity_keys(records[0].entity_type) if keys is None else keys
        _insert(_rows(records, keys))


def _rows(records: Iterable[Record], keys: Sequence[str]) -> list[tuple[int, str, str, str]]:
    rows = []
    for record in records:
        for key in keys:
            digest = key_digest(key, record.values)
            if digest is not None:
                rows.append((record.pk, record.entity_type, key, digest))
    return rows


def _insert(rows: list[tuple[int, str, str, str]]) -> None:
    insert_rows(MatchKey, ["record_id", "entity_type", "key", "digest"], rows)


def keys_rebuild(entity_type: str, chunk: int = 2000) -> int:
    """Re-index every record of an entity (after a mapping's match keys changed); returns records seen."""
    keys = entity_keys(entity_type)
    seen, last = 0, 0
    while True:
        records = list(Record.objects.filter(entity_type=entity_type, pk__gt=last).order_by("pk")
                       .only("pk", "entity_type", "values")[:chunk])
        if not records:
            return seen
        keys_refresh(records, keys)
        seen += len(records)
        last = records[-1].pk


def find_matches(entity_type: str, key: str, digests: Iterable[str]) -> dict[str, list[int]]:
    """digest -> ids of the records holding it under ``key`` (lowest id first)."""
    found: dict[str, list[int]] = {}
    wanted = list(set(digests))
    for start in range(0, len(wanted), 1000):
        rows = MatchKey.objects.filter(entity_type=entity_type, key=key, digest__in=wanted[start:start + 1000]) \
            .values_list("digest", "record_id").order_by("record_id")
        for digest, record_id in rows:
            found.setdefault(digest, []).append(record_id)
    return found
