"""Survivorship: the value each field of a merged record takes by default (the system of record's, else the most
recent, else the most complete record's), and a person's choices applied over it."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import F

from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync.merge import is_empty
from mapping.models import FieldRule
from reconciliation.duplicates.models import DuplicateCandidate
from reconciliation.duplicates.services import INCOMING, DuplicateError, held_since


@dataclass(frozen=True)
class FieldChoice:
    """The value a field takes in the merge: from which record (its id, or INCOMING for the record the sync
    held), and why (the default's reason, or "chosen")."""

    field: str
    record_id: int | str | None
    value: Any
    reason: str


@dataclass(frozen=True)
class Contender:
    """One record of a merge as survivorship weighs it: its values, when each was set, the roles (crm, erp) of
    the systems it is linked in."""

    key: int | str  # record id, or INCOMING
    values: dict[str, Any]
    provenance: dict[str, Any]
    roles: frozenset[str]


def field_owners(entity_type: str) -> dict[str, str]:
    """Canonical field -> its system of record ("crm" | "erp" | "shared") in the published rules."""
    owners: dict[str, str] = {}
    for name, owner in FieldRule.objects.filter(version__mapping__entity_type=entity_type,
                                                version__mapping__published_version__isnull=False) \
            .filter(version=F("version__mapping__published_version")) \
            .values_list("field", "system_of_record"):
        owners.setdefault(name, owner)
    return owners


def contenders(records: list[Record], survivor: Record) -> list[Contender]:
    """The records as survivorship weighs them, the survivor first."""
    roles: dict[int, set[str]] = defaultdict(set)
    for record_id, role in RecordLink.objects.filter(record__in=records, status=LinkStatus.ACTIVE) \
            .values_list("record_id", "system__role"):
        roles[record_id].add(role)
    ordered = [survivor] + [r for r in records if r.pk != survivor.pk]
    return [Contender(r.pk, r.values, r.provenance, frozenset(roles[r.pk])) for r in ordered]


def survivorship_defaults(*, records: list[Record], survivor: Record) -> dict[str, FieldChoice]:
    """Per field, the default value of the merged record (see ``defaults_for``)."""
    return defaults_for(contenders(records, survivor), field_owners(survivor.entity_type))


def candidate_defaults(candidate: DuplicateCandidate, records: list[Record],
                       survivor: Record) -> dict[str, FieldChoice]:
    """Per field, the default value when merging a candidate into ``survivor``: its records, and the record the
    sync held (INCOMING), weighed as the golden record a merge makes of it (services.incoming_record)."""
    ordered = contenders(records, survivor)
    if candidate.is_incoming:
        when = held_since(candidate)
        ordered.append(Contender(INCOMING, candidate.incoming_values,
                                 {name: {"at": when} for name in candidate.incoming_values},
                                 frozenset({candidate.incoming_system.role})))
    return defaults_for(ordered, field_owners(survivor.entity_type))


def defaults_for(ordered: list[Contender], owners: dict[str, str]) -> dict[str, FieldChoice]:
    """Per field, the default value of the merged record: the system of record's value (a record linked in
    the owning system), else the most recent value (per-field provenance time), else the most complete
    record's; the survivor's (the first contender's) own value wins ties."""
    survivor = ordered[0]
    completeness = {c.key: sum(not is_empty(v) for v in c.values.values()) for c in ordered}
    fields = sorted({f for c in ordered for f in c.values})
    out: dict[str, FieldChoice] = {}
    for name in fields:
        having = [c for c in ordered if not is_empty(c.values.get(name))]
        if not having:
            out[name] = FieldChoice(name, survivor.key, survivor.values.get(name), "no record has a value")
            continue
        if len(having) == 1:
            out[name] = FieldChoice(name, having[0].key, having[0].values[name], "the only value")
            continue
        if len({repr(c.values[name]) for c in having}) == 1:
            out[name] = FieldChoice(name, having[0].key, having[0].values[name],
                                    "the same in every record" if len(having) == len(ordered) else
                                    "the same wherever set")
            continue
        owner = owners.get(name, "")
        if owner in ("crm", "erp"):
            owned = [c for c in having if owner in c.roles]
            if owned:
                pick = _most_recent(owned, name)
                out[name] = FieldChoice(name, pick.key, pick.values[name], f"{owner.upper()} owns it")
                continue
        if any(_when(c, name) for c in having):
            pick = _most_recent(having, name)
            out[name] = FieldChoice(name, pick.key, pick.values[name], "most recent")
            continue
        pick = max(having, key=lambda c: completeness[c.key])
        out[name] = FieldChoice(name, pick.key, pick.values[name], "most complete record")
    return out


def _when(contender: Contender, name: str) -> str:
    return str((contender.provenance.get(name) or {}).get("at") or "")


def _most_recent(ordered: list[Contender], name: str) -> Contender:
    best = ordered[0]
    for contender in ordered[1:]:
        if _when(contender, name) > _when(best, name):
            best = contender
    return best


def resolve_choices(*, records: list[Record], survivor: Record,
                    overrides: dict[str, Any] | None = None) -> dict[str, FieldChoice]:
    """The defaults with a person's choices applied: ``{field: record id}`` takes that record's value,
    ``{field: {"value": v}}`` a value typed in."""
    choices = survivorship_defaults(records=records, survivor=survivor)
    by_id = {r.pk: r for r in records}
    for name, chosen in (overrides or {}).items():
        if isinstance(chosen, dict) and "value" in chosen:
            choice = FieldChoice(name, None, chosen["value"], "typed in")
        else:
            try:
                record = by_id[int(chosen)]
            except (KeyError, TypeError, ValueError):
                raise DuplicateError(f"{name}: choose one of the merged records ({', '.join(map(str, by_id))}), "
                                     f"not {chosen!r}.") from None
            choice = FieldChoice(name, record.pk, record.values.get(name), "chosen")
        if is_empty(choice.value) and any(not is_empty(r.values.get(name)) for r in records):
            raise DuplicateError(f"{name}: a merge keeps values, it never empties a field the records hold; "
                                 f"choose a record that has a value.")
        choices[name] = choice
    return choices
