"""Dead letters: the writes the outbox gave up on (outbox.py), and what a RevOps admin does with them. Send them
again (one, the ticked ones, or a whole cause), correct a value of one and send it, or discard them with a reason.
Each action is kept in the record's history (who, when, why); what is put back is sent by the outbox like any write.

A write put back carries what it should now: fields a later write to the same record and system has set are left
out (an older write never undoes a newer one), it is rebuilt by the one payload builder (writes.outgoing) under the
mapping's published rules, and a create whose record has been linked since becomes an update of that link.
"""
from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When

from integration_hub.kernel import audit, roles
from integration_hub.kernel.bulk import update_many
from integration_hub.records.models import LinkStatus, Record, RecordLink
from integration_hub.sync.models import OutboundChange, OutboundOperation, OutboundStatus, SyncRun
from integration_hub.sync.references import ToSide
from integration_hub.sync.rules import CompiledMapping, compile_mapping
from integration_hub.sync.writes import outgoing
from mapping.models import ObjectMapping

NOT_REVOPS = "Only RevOps admins retry, edit or discard dead letters."


@dataclass
class Outcome:
    """What an action did: the writes it put back (or discarded), and those it left as they were, with why."""

    done: list[OutboundChange] = field(default_factory=list)
    kept: dict[int, str] = field(default_factory=dict)
    left_out: dict[int, str] = field(default_factory=dict)  # fields a put-back write no longer carries, and why


def require_revops(user) -> None:
    if not roles.is_revops(user):
        raise PermissionDenied(NOT_REVOPS)


def dead_letters() -> QuerySet:
    return OutboundChange.objects.filter(status=OutboundStatus.DEAD)


def of_records(record_ids: Iterable[int], compiled: CompiledMapping) -> QuerySet:
    """The dead writes of these records to the systems and objects of a mapping."""
    sides = Q()
    for side in ("crm", "erp"):
        sides |= Q(system=compiled.system(side), vendor_object=compiled.vendor_object(side))
    return dead_letters().filter(sides, record_id__in=list(record_ids))


# --- putting writes back ------------------------------------------------------------------------

def put_back(rows: list[OutboundChange], *, run: SyncRun | None = None) -> Outcome:
    """Dead writes back to the outbox, rebuilt to carry what they should now (see the module's doc); `run`, when
    given, counts them from now on (a replay: if they are refused again, it says so)."""
    outcome = _rebuild(rows)
    with transaction.atomic():
        update_many(OutboundChange, outcome.done, ["values", "payload", "link"])
        requeue([row.pk for row in outcome.done], run=run)
    return outcome


def requeue(ids: list[int], *, run: SyncRun | None = None) -> int:
    """Dead writes back to pending with their attempts from zero. The runs that counted them as given up on count
    them no longer (their status still says their writes failed)."""
    rows = OutboundChange.objects.filter(pk__in=ids, status=OutboundStatus.DEAD)
    _uncount(rows.values_list("run_id", flat=True))
    return rows.update(status=OutboundStatus.PENDING, attempts=0, next_attempt_at=None,
                       **({"run": run} if run is not None else {}))


def _uncount(run_ids: Iterable[int | None]) -> None:
    for run_id, n in Counter(run_id for run_id in run_ids if run_id).items():
        SyncRun.objects.filter(pk=run_id).update(
            dead_writes=Case(When(dead_writes__gte=n, then=F("dead_writes") - n), default=Value(0)))


def _rebuild(rows: list[OutboundChange]) -> Outcome:
    outcome = Outcome()
    later = _fields_written_since(rows)
    rules: dict[tuple, CompiledMapping | None] = {}
    for row in rows:
        if row.operation != OutboundOperation.UPSERT:  # a vendor merge: its call is the same whatever changed
            outcome.done.append(row)
            continue
        values = {name: value for name, value in row.values.items() if name not in later.get(row.pk, ())}
        if not values:
            outcome.kept[row.pk] = "later writes to the record have set every field it carried: nothing is left " \
                                   "to send (discard it)"
            continue
        compiled = _rules_for(row, rules)
        if compiled is None:
            outcome.kept[row.pk] = "its mapping has no published rules to rebuild the write with"
            continue
        link = row.link or _current_link(row)
        out = outgoing(compiled, row.side, ToSide(compiled, row.side, [values]), link, values)
        why = {**out.missing, **out.locked, **out.errors}
        if not out.values:
            outcome.kept[row.pk] = "; ".join(f"{name}: {reason}" for name, reason in why.items()) or (
                f"the published rules write none of its fields to {row.system.name} any more")
            continue
        dropped = {name: _left_out_because(name, why, later.get(row.pk, set()))
                   for name in row.values if name not in out.values}
        if dropped:
            outcome.left_out[row.pk] = "; ".join(f"{name}: {reason}" for name, reason in dropped.items())
        row.values, row.payload, row.link = out.values, out.payload, link
        outcome.done.append(row)
    return outcome


def _left_out_because(name: str, why: dict[str, str], written_since: set[str]) -> str:
    if name in why:
        return why[name]
    return "a later write has set it" if name in written_since else "the published rules do not write it there"


def _fields_written_since(rows: list[OutboundChange]) -> dict[int, set[str]]:
    """Per dead write, the fields later writes to the same record and system have sent (queued after it)."""
    upserts = [row for row in rows if row.operation == OutboundOperation.UPSERT]
    if not upserts:
        return {}
    sent: dict[tuple[int, int], list[tuple[int, set[str]]]] = {}
    for record_id, system_id, pk, values in OutboundChange.objects.filter(
            record_id__in={row.record_id for row in upserts}, status=OutboundStatus.SENT,
            operation=OutboundOperation.UPSERT, pk__gt=min(row.pk for row in upserts)).values_list(
            "record_id", "system_id", "pk", "values"):
        sent.setdefault((record_id, system_id), []).append((pk, set(values or {})))
    return {row.pk: {name for pk, names in sent.get((row.record_id, row.system_id), []) if pk > row.pk
                     for name in names} for row in upserts}


def _rules_for(row: OutboundChange, cache: dict[tuple, CompiledMapping | None]) -> CompiledMapping | None:
    """The published rules of the mapping the write belongs to (its entity, and its system and object on its
    side), compiled once per mapping."""
    key = (row.record.entity_type, row.side, row.system_id, row.vendor_object)
    if key not in cache:
        mapping = ObjectMapping.objects.filter(
            entity_type=key[0], published_version__isnull=False,
            **{f"{row.side}_system_id": row.system_id, f"{row.side}_object": row.vendor_object}).first()
        cache[key] = compile_mapping(mapping) if mapping is not None else None
    return cache[key]


def _current_link(row: OutboundChange) -> RecordLink | None:
    """The record's link on the write's system, made since the create was refused (matched, or created)."""
    return RecordLink.objects.filter(record_id=row.record_id, system_id=row.system_id,
                                     entity_type=row.record.entity_type, status=LinkStatus.ACTIVE).first()


def _locked(rows: QuerySet) -> list[OutboundChange]:
    """The dead ones among `rows`, locked for this transaction (two people acting on one write: one does)."""
    return list(rows.filter(status=OutboundStatus.DEAD).select_for_update(of=("self",))
                .select_related("record", "link", "system").order_by("id"))


# --- what a person does -------------------------------------------------------------------------

def retry(*, rows: QuerySet, user, reason: str = "") -> Outcome:
    """Send these dead writes again (see the module's doc for what they carry)."""
    require_revops(user)
    with transaction.atomic(), _acting(user, reason or "dead letters retried"):
        outcome = put_back(_locked(rows))
        _audit(outcome.done, "Retried", reason)
    return outcome


def edit_and_retry(*, row: OutboundChange, values: dict[str, Any], user, reason: str = "") -> OutboundChange:
    """Send one dead write again with some of its values corrected (canonical values, references as the
    system's own ids), rebuilt into the vendor payload by the one payload builder. The golden record keeps its
    own values: a value its owner should correct is corrected there."""
    require_revops(user)
    with transaction.atomic(), _acting(user, reason or "dead letter edited and retried"):
        locked = _locked(OutboundChange.objects.filter(pk=row.pk))
        if not locked:
            raise ValidationError("This write is no longer a dead letter: someone retried or discarded it.")
        row = locked[0]
        if row.operation != OutboundOperation.UPSERT:
            raise ValidationError("A vendor merge has no values to edit: retry it or discard it.")
        unknown = sorted(set(values) - set(row.values))
        if unknown:
            raise ValidationError(f"The write carries no {', '.join(unknown)}.")
        compiled = _rules_for(row, {})
        if compiled is None:
            raise ValidationError("Its mapping has no published rules to rebuild the write with.")
        wanted = {**row.values, **values}
        link = row.link or _current_link(row)
        out = outgoing(compiled, row.side, ToSide(compiled, row.side, [wanted]), link, wanted)
        problems = {name: reason for name, reason in {**out.missing, **out.locked, **out.errors}.items()}
        problems.update({name: f"the published rules do not write it to {row.system.name}"
                         for name in wanted if name not in out.values and name not in problems})
        if problems:
            raise ValidationError({name: [why] for name, why in problems.items()})
        changed = ", ".join(f"{name}: {row.values.get(name)!r} → {value!r}" for name, value in values.items()
                            if value != row.values.get(name))
        row.values, row.payload, row.link = out.values, out.payload, link
        row.save(update_fields=["values", "payload", "link"])
        requeue([row.pk])
        _audit([row], "Edited and retried", "; ".join(part for part in (changed, reason) if part))
    return row


def discard(*, rows: QuerySet, user, reason: str) -> Outcome:
    """Never send these dead writes: they stay, discarded, with the reason in their records' history."""
    require_revops(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why these writes are discarded: the reason is kept in each record's history.")
    with transaction.atomic(), _acting(user, reason):
        dead = _locked(rows)
        OutboundChange.objects.filter(pk__in=[row.pk for row in dead], status=OutboundStatus.DEAD).update(
            status=OutboundStatus.DISCARDED)
        _uncount(row.run_id for row in dead)
        _audit(dead, "Discarded", reason)
    return Outcome(done=dead)


# --- the audit ----------------------------------------------------------------------------------

def _acting(user, reason: str):
    return audit.acting_as(user.get_username(), user=user, reason=reason)


def _audit(rows: list[OutboundChange], action: str, why: str) -> None:
    """One history row per write on its record: who (the acting user), when, what and why."""
    entries = []
    for row in rows:
        record = copy.copy(row.record)
        record._change_reason = (f"{action} dead letter #{row.pk} (a write to {row.system.name} "
                                 f"{row.vendor_object}){f' — {why}' if why else ''}")
        entries.append(record)
    audit.bulk_history(Record, entries, update=True)


_ACTION = re.compile(r"^(?P<what>Retried|Edited and retried|Discarded) dead letter #(?P<pk>\d+) \(.*?\)"
                     r"(?: — (?P<why>.*))?$", re.S)


@dataclass
class Action:
    what: str
    who: str
    when: Any
    why: str


def actions_on(rows: Iterable[OutboundChange]) -> dict[int, list[Action]]:
    """What people did with these writes, oldest first, read back from their records' history."""
    wanted = {row.pk for row in rows}
    record_ids = {row.record_id for row in rows}
    found: dict[int, list[Action]] = {}
    if not wanted:
        return found
    for reason, actor, when in Record.history.filter(
            id__in=record_ids, history_change_reason__contains=" dead letter #").order_by(
            "history_date", "history_id").values_list("history_change_reason", "history_actor", "history_date"):
        match = _ACTION.match(reason or "")
        if match and int(match["pk"]) in wanted:
            found.setdefault(int(match["pk"]), []).append(Action(match["what"], actor, when, match["why"] or ""))
    return found
