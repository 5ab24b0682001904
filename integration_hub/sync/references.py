"""References between records, translated through links: each system stores its own ids, the hub golden ids.

A reference field (a contact's account, an order's customer) and every line of a line-items field (its item)
hold the source system's id when read; the hub keeps "record:<id>" (placed on the way in by the one reader,
mapping/reader.py) and gives each system its own id on the way out, here. A reference the hub cannot place is
never guessed and never written dangling or empty: it is held with its reason on the way out. Lines are one
document: when one line's item cannot be placed, the whole list is held, never written without that line.
"""
from __future__ import annotations

from typing import Any

from integration_hub.kernel.references import has_golden_prefix, record_id_of
from integration_hub.records.models import LinkStatus, RecordLink
from integration_hub.sync.rules import CompiledMapping


def _lines(value: Any) -> list[dict]:
    return [line for line in value if isinstance(line, dict)] if isinstance(value, list) else []


class ToSide:
    """Golden references -> one system's own ids, with one lookup per target entity for a batch of writes."""

    def __init__(self, compiled: CompiledMapping, side: str, values_list: list[dict]) -> None:
        self.compiled, self.system = compiled, compiled.system(side)
        wanted: dict[str, set[int]] = {}
        for field, entity in compiled.references.items():
            if entity:
                wanted.setdefault(entity, set()).update(
                    record_id for values in values_list if (record_id := record_id_of(values.get(field))))
        for field, entity in compiled.line_fields.items():
            ids = wanted.setdefault(entity, set())
            for values in values_list:
                ids.update(record_id for line in _lines(values.get(field))
                           if (record_id := record_id_of(line.get("item"))))
        self.known: dict[str, dict[int, str]] = {
            entity: dict(RecordLink.objects.filter(system=self.system, entity_type=entity, record_id__in=ids,
                                                   status=LinkStatus.ACTIVE)  # not an identity merged away
                         .values_list("record_id", "external_id")) if ids else {}
            for entity, ids in wanted.items()}

    def __call__(self, values: dict) -> tuple[dict, dict[str, str]]:
        """(the values with this system's ids, {field: why it cannot be written yet}); held fields are left out."""
        out, missing, name = dict(values), {}, self.system.name
        for field, entity in self.compiled.references.items():
            value = out.get(field)
            if not has_golden_prefix(value):
                continue
            record_id = record_id_of(value)
            external_id = self.known.get(entity, {}).get(record_id) if entity and record_id else None
            if external_id is None:
                del out[field]
                missing[field] = f"the {entity or 'record'} it points at is not linked in {name} yet"
            else:
                out[field] = external_id
        for field, entity in self.compiled.line_fields.items():
            if not isinstance(out.get(field), list) or not any(
                    isinstance(line, dict) and has_golden_prefix(line.get("item")) for line in out[field]):
                continue  # no lines, or lines in this system's ids already (a dead write rebuilt)
            known, lines = self.known.get(entity, {}), []
            for position, line in enumerate(out[field], start=1):
                record_id = record_id_of(line.get("item")) if isinstance(line, dict) else None
                external_id = known.get(record_id) if record_id else None
                if external_id is None:
                    del out[field]
                    shown = line.get("item") if isinstance(line, dict) else line
                    missing[field] = f"line {position}'s {entity} ({shown}) is not linked in {name} yet"
                    break
                lines.append({**line, "item": external_id})
            else:
                out[field] = lines
        return out, missing
