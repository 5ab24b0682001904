"""What each system shows for a conflict's field right now, read live (a decision is never made on
values that changed since the conflict was opened). The same reading the sync engine does: the
vendor record through the published rules to canonical values, references through links (mapping/reader.py)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from connectors.services import connector_session
from integration_hub.records.models import RecordLink
from integration_hub.sync.rules import SIDES, CompiledMapping, compile_mapping
from mapping.reader import Reader, ReadValues

BATCH = 100


@dataclass(frozen=True)
class SideNow:
    """One linked side's value of the conflict's field, as just read."""

    value: Any = None
    known: bool = False
    updated_at: datetime | None = None
    problem: str = ""  # why the value is not known (record gone, value the rules cannot read)


def read_current(conflicts: Iterable) -> dict[int, dict[str, SideNow]]:
    """conflict id -> side -> what that linked side shows now; batched per mapping and side.

    Raises ConnectorError when a system cannot be read, NothingPublished when a mapping has no rules."""
    by_mapping: dict[int, list] = defaultdict(list)
    for conflict in conflicts:
        by_mapping[conflict.mapping_id].append(conflict)
    found: dict[int, dict[str, SideNow]] = {}
    for items in by_mapping.values():
        compiled = compile_mapping(items[0].mapping)
        found.update(_read_mapping(compiled, items))
    return found


def _read_mapping(compiled: CompiledMapping, conflicts: list) -> dict[int, dict[str, SideNow]]:
    result: dict[int, dict[str, SideNow]] = {conflict.pk: {} for conflict in conflicts}
    systems = {side: compiled.system(side) for side in SIDES}
    links = RecordLink.objects.filter(record_id__in={c.record_id for c in conflicts},
                                      system__in=systems.values(), entity_type=compiled.mapping.entity_type)
    external = {(link.record_id, link.system_id): link.external_id for link in links}
    for side, system in systems.items():
        wanted = {c.pk: external.get((c.record_id, system.pk)) for c in conflicts}
        ids = sorted({i for i in wanted.values() if i})
        if not ids:
            continue
        reader = Reader.from_compiled(compiled, side)
        remotes = []
        with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
            for start in range(0, len(ids), BATCH):
                remotes += reader.get_many(connector, ids[start:start + BATCH])
        reads = reader.read(remotes)
        for conflict in conflicts:
            external_id = wanted[conflict.pk]
            if external_id:
                result[conflict.pk][side] = _side_now(reader, conflict.field, reads.get(external_id))
    return result


def _side_now(reader: Reader, field: str, read: ReadValues | None) -> SideNow:
    name = reader.system.name
    if read is None:
        return SideNow(problem=f"the record is no longer in {name}")
    if field in reader.stopped:
        return SideNow(updated_at=read.updated_at, problem=f"{field} is not synced with {name} (schema drift)")
    if field in read.errors:
        return SideNow(updated_at=read.updated_at, problem=f"{name}'s value cannot be read: {read.errors[field]}")
    if field in read.unplaced:
        entity = reader.references.get(field) or reader.line_fields.get(field) or "record"
        return SideNow(updated_at=read.updated_at, problem=f"{name}'s value cannot be read: it points at a {entity} "
                                                           f"the hub has not linked ({read.unplaced[field]})")
    if field not in read.values:
        return SideNow(updated_at=read.updated_at, problem=f"{name} does not map {field}")
    return SideNow(value=read.values[field], known=True, updated_at=read.updated_at)
