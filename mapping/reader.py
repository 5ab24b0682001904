"""The one reader: a vendor record -> canonical values, references as golden ids.

Every place that reads a system (the sync's pull and merge, a conflict's live values, duplicate merges, the
readiness report, reconciliation, the impact preview) reads through here, so they cannot disagree on what a
record says. A side's record goes through its side's rules (the vendor fields exactly as sent, associations
included); a value that fails its rule is reported with its reason, never guessed; a field stopped by schema
drift is not read; a reference (or a document's lines) holds the vendor's own id, which becomes the golden id
of the record linked to it ("record:<id>") -- one link lookup per target entity for a whole batch -- and one the
hub cannot place is left out (unknown, so never taken as a change) and reported with the vendor's id. Lines are
one document: when one line's item cannot be placed, the whole list is left out. Each caller presents what
could not be read its own way (a held record, UNKNOWN, a problem in words).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from connectors.base import Connector, Page, RemoteRecord
from integration_hub.kernel.references import golden_id
from integration_hub.records.models import RecordLink
from mapping.compiled import CompiledMapping
from mapping.pipeline import SideMapper

Key = TypeVar("Key")


def vendor_fields(remote: RemoteRecord) -> dict[str, Any]:
    """A RemoteRecord as the rules read it: its fields, plus its associations under `associations`."""
    if remote.associations:
        return {**remote.fields, "associations": remote.associations}
    return remote.fields


@dataclass(frozen=True, slots=True)
class ReadValues:
    """What one vendor record says, as the hub reads it."""

    values: dict[str, Any]  # canonical, references as golden ids; failed, stopped and unplaced fields left out
    errors: dict[str, str] = field(default_factory=dict)  # field -> why its value failed its rule
    unplaced: dict[str, Any] = field(default_factory=dict)  # reference field -> the vendor id no link places
    updated_at: datetime | None = None  # the vendor's modification time
    readable: dict[str, Any] = field(default_factory=dict)  # the canonical values before references were placed
    fields: dict[str, Any] = field(default_factory=dict)  # the vendor fields the rules read
    flags: dict[str, str] = field(default_factory=dict)  # field -> why its value flowed as typed (in `values`)


def _lines(value: Any) -> list[dict]:
    return [line for line in value if isinstance(line, dict)] if isinstance(value, list) else []


class GoldenIds:
    """A side's references -> golden ids, with one link lookup per target entity for a whole batch of values."""

    def __init__(self, system, references: Mapping[str, str], line_fields: Mapping[str, str],
                 values_list: Iterable[dict]) -> None:
        self.system, self.references, self.line_fields = system, references, line_fields
        wanted: dict[str, set[str]] = {}
        values_list = list(values_list) if references or line_fields else []
        for name, entity in references.items():
            if entity:
                wanted.setdefault(entity, set()).update(
                    str(values[name]) for values in values_list if values.get(name) is not None)
        for name, entity in line_fields.items():
            ids = wanted.setdefault(entity, set())
            for values in values_list:
                ids.update(str(line["item"]) for line in _lines(values.get(name)) if line.get("item") is not None)
        self.known: dict[str, dict[str, int]] = {
            entity: dict(RecordLink.objects.filter(system=system, entity_type=entity, external_id__in=ids)
                         .values_list("external_id", "record_id")) if ids else {}
            for entity, ids in wanted.items()}

    def place(self, values: dict) -> tuple[dict, dict[str, Any]]:
        """(the values with references as golden ids, {field: the vendor id that cannot be placed}); a field that
        cannot be placed is left out of the values: unknown, so never taken as a change."""
        if not self.references and not self.line_fields:
            return values, {}
        out, unplaced = dict(values), {}
        for name, entity in self.references.items():
            if out.get(name) is None:
                continue
            record_id = self.known.get(entity, {}).get(str(out[name])) if entity else None
            if record_id is None:
                unplaced[name] = out.pop(name)
            else:
                out[name] = golden_id(record_id)
        for name, entity in self.line_fields.items():
            if not isinstance(out.get(name), list):
                continue
            known, lines = self.known.get(entity, {}), []
            for line in out[name]:
                record_id = known.get(str(line.get("item"))) if isinstance(line, dict) else None
                if record_id is None:
                    del out[name]
                    unplaced[name] = line.get("item") if isinstance(line, dict) else line
                    break
                lines.append({**line, "item": golden_id(record_id)})
            else:
                out[name] = lines
        return out, unplaced

    def __call__(self, values: dict) -> dict:
        """The values with references as golden ids; what cannot be placed is left out."""
        return self.place(values)[0]

    def unplaced(self, values: dict, fields: set[str] | None = None) -> list[str]:
        """Why references among ``fields`` (all when None) cannot be placed, in words (every line that cannot)."""
        reasons, name = [], self.system.name
        for ref, entity in self.references.items():
            value = values.get(ref)
            if value is None or (fields is not None and ref not in fields):
                continue
            if not entity or str(value) not in self.known.get(entity, {}):
                reasons.append(f"{ref}: {name} {entity or 'record'} {value} is not linked yet")
        for lines_field, entity in self.line_fields.items():
            if fields is not None and lines_field not in fields:
                continue
            known = self.known.get(entity, {})
            for position, line in enumerate(_lines(values.get(lines_field)), start=1):
                if str(line.get("item")) not in known:
                    reasons.append(f"{lines_field}: line {position}'s {entity} ({name} id {line.get('item')}) "
                                   "is not linked yet")
        return reasons


class Reader:
    """Reads one side of a mapping: its system and vendor object, through one side's rules."""

    def __init__(self, system, vendor_object: str, mapper: SideMapper, *, references: Mapping[str, str] | None = None,
                 line_fields: Mapping[str, str] | None = None, stopped: Iterable[str] = (),
                 paths: Iterable[str] = ()) -> None:
        self.system, self.vendor_object, self.mapper = system, vendor_object, mapper
        self.references = dict(references or {})  # reference field -> the entity it points at ("": unknown)
        self.line_fields = dict(line_fields or {})  # line-items field -> the entity its lines point at
        self.stopped = frozenset(stopped)  # fields schema drift stopped on this side: not read
        self.paths = list(paths)  # the vendor paths the rules read (what a connector must ask for)

    @classmethod
    def from_compiled(cls, compiled: CompiledMapping, side: str) -> Reader:
        """A side of a compiled mapping (its published rules, or the draft it was compiled from)."""
        return cls(compiled.system(side), compiled.vendor_object(side), compiled.mappers[side],
                   references=compiled.references, line_fields=compiled.line_fields,
                   stopped=compiled.stopped.get(side, ()), paths=compiled.paths[side])

    # -- reading the vendor -----------------------------------------------------------------------------------
    def changes(self, connector: Connector, since: datetime | None, page_size: int) -> Iterator[Page]:
        """Pages of the side's records changed since ``since`` (all when None), with the fields the rules read."""
        options = connector.read_options(self.vendor_object, self.paths)
        return connector.changes(self.vendor_object, since, page_size, **options)

    def get_many(self, connector: Connector, ids: list[str]) -> list[RemoteRecord]:
        """The side's records with these ids (ids it does not have are left out)."""
        return connector.get_many(self.vendor_object, ids, **connector.read_options(self.vendor_object, self.paths))

    # -- reading records --------------------------------------------------------------------------------------
    def read(self, remotes: Iterable[RemoteRecord]) -> dict[str, ReadValues]:
        """external id -> what the record says, references placed (a record given twice: the later one)."""
        return self.place({remote.external_id: self.canonical(remote) for remote in remotes})

    def canonical(self, remote: RemoteRecord) -> ReadValues:
        """The record through the rules, references still the vendor's ids (`place` places them)."""
        return self._mapped(vendor_fields(remote), remote.updated_at)

    def canonical_fields(self, fields_by_key: Mapping[Key, dict]) -> dict[Key, ReadValues]:
        """The same for vendor fields already read (a link's last known values), by the caller's keys."""
        return {key: self._mapped(fields or {}, None) for key, fields in fields_by_key.items()}

    def place(self, reads: Mapping[Key, ReadValues]) -> dict[Key, ReadValues]:
        """The reads with references as golden ids (one link lookup per target entity for them all)."""
        golden = self.golden_ids(read.readable for read in reads.values())
        placed = {}
        for key, read in reads.items():
            values, unplaced = golden.place(read.readable)
            placed[key] = ReadValues(values, read.errors, unplaced, read.updated_at, read.readable, read.fields,
                                     read.flags)
        return placed

    def golden_ids(self, values_list: Iterable[dict]) -> GoldenIds:
        """The placement of these canonical values' references (looked up now, for them all)."""
        return GoldenIds(self.system, self.references, self.line_fields, values_list)

    def _mapped(self, fields: dict, updated_at: datetime | None) -> ReadValues:
        result = self.mapper.to_canonical(fields)  # the rules see exactly what the vendor sent
        values, stopped = result.values, self.stopped
        if stopped:
            values = {name: value for name, value in values.items() if name not in stopped}
        return ReadValues(values, result.errors, {}, updated_at, values, fields, result.flags)
