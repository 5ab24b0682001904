"""Read queries over held fields: the data-quality list, its causes, a run's and a record's held fields.

A cause is a field and its reason with the vendor's value taken out ("phone: … is not a phone number"), so the
300 records that fail the same way are one line a person can open and act on at once."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import and_
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Min, Q, QuerySet

from connectors.models import ConnectedSystem
from integration_hub.records.models import Record
from integration_hub.records.selectors import MASK, hidden_fields_for
from integration_hub.sync.models import HeldField, SyncRun

PLACEHOLDER = "…"
# The shapes a value takes in a rule's message (mapping/types.py `show`): a quoted text, cut when long ("'abc'…
# (1200 characters)"), or a number. Anything else in the message is the rule's own words.
_QUOTED = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?:… \(\d+ characters\))?"""
_VALUE = re.compile(rf"{_QUOTED}|(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?![\w])")
CAUSES_SHOWN = 50  # the summary lists this many causes, the most frequent first
CAUSES_CACHE_SECONDS = 600


def cause_of(reason: str) -> str:
    """The reason with the vendor's value taken out: reasons that differ only in the value read the same."""
    return _VALUE.sub(PLACEHOLDER, reason or "")


def cause_filter(cause: str) -> Q:
    """The held fields whose reason reads as this cause (the same words around the values taken out)."""
    parts = cause.split(PLACEHOLDER)
    if len(parts) == 1:
        return Q(reason=cause)
    conditions = [Q(reason__startswith=parts[0]), Q(reason__endswith=parts[-1])]
    conditions += [Q(reason__contains=part) for part in parts[1:-1] if part]
    return reduce(and_, conditions)


def held_fields_for_list() -> QuerySet[HeldField]:
    """Held fields with the names a row shows (record, system, mapping) fetched for a page's rows only: joined
    before the sort, they would be joined for every row the filter keeps (100,000), not the page's 50."""
    return HeldField.objects.prefetch_related("record", "system", "mapping")


@dataclass(frozen=True)
class Cause:
    """Held fields that fail the same way: the field, the reason without the value, how many, where, since."""

    field: str
    cause: str
    count: int
    systems: tuple[str, ...]
    since: datetime | None

    @property
    def label(self) -> str:
        return f"{self.field}: {self.cause}"


def held_causes(queryset: QuerySet[HeldField], *, limit: int | None = CAUSES_SHOWN) -> list[Cause]:
    """The causes of these held fields, the most frequent first: grouped by field and reason in the database,
    the values taken out here (no database can do that portably), then added up.

    With a value in nearly every reason, that is one row per held field: the answer is kept (CAUSES_CACHE_SECONDS)
    under the filter and a fingerprint of what it matches, which any new, re-seen, cleared or deleted held field
    changes, so paging through a list or coming back to it does not group 100,000 rows again."""
    fingerprint = queryset.order_by().aggregate(n=Count("id"), top=Max("id"), seen=Max("last_seen_at"),
                                                cleared=Max("cleared_at"))
    if not fingerprint["n"]:
        return []
    key = "held-causes:" + hashlib.sha256(f"{queryset.query}|{fingerprint}|{limit}".encode()).hexdigest()
    causes = cache.get(key)
    if causes is None:
        causes = _group_causes(queryset, limit)
        cache.set(key, causes, CAUSES_CACHE_SECONDS)
    return causes


def _group_causes(queryset: QuerySet[HeldField], limit: int | None) -> list[Cause]:
    rows = (queryset.order_by().values_list("field", "reason", "system_id")
            .annotate(n=Count("id"), since=Min("first_seen_at")))
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for field, reason, system_id, n, since in rows.iterator(chunk_size=5000):
        group = merged.setdefault((field, cause_of(reason)), {"count": 0, "systems": set(), "since": since})
        group["count"] += n
        group["systems"].add(system_id)
        group["since"] = min(group["since"], since)
    names = dict(ConnectedSystem.objects.values_list("pk", "name"))
    causes = [Cause(field, cause, g["count"], tuple(sorted(names.get(pk, "?") for pk in g["systems"])), g["since"])
              for (field, cause), g in merged.items()]
    causes.sort(key=lambda c: (-c.count, c.field, c.cause))
    return causes if limit is None else causes[:limit]


@dataclass(frozen=True)
class RunHeldSummary:
    """What a run found held: how many fields, how many of them still held, and their main causes."""

    run_id: int
    total: int
    still_held: int
    causes: list[Cause]


def run_held_summary(run: SyncRun, *, causes: int = 5) -> RunHeldSummary:
    """The held fields a run was the last to find (a later run that finds one again takes it over)."""
    found = HeldField.objects.filter(run=run)
    counts = found.order_by().aggregate(total=Count("id"), held=Count("id", filter=Q(cleared_at__isnull=True)))
    top = held_causes(found.filter(cleared_at__isnull=True), limit=causes) if counts["held"] else []
    return RunHeldSummary(run.pk, counts["total"], counts["held"], top)


@dataclass(frozen=True)
class RecordHeldField:
    """One field of a record held on one side, as the record page shows it."""

    pk: int
    field: str
    side: str
    system: str
    value: str  # as read, masked for Viewers where the field is sensitive
    reason: str
    since: datetime
    last_seen: datetime
    run_id: int | None


def record_held_fields(record: Record, user) -> list[RecordHeldField]:
    """The record's fields still held, with sensitive values and reasons masked for Viewers."""
    rows = HeldField.objects.filter(record=record, cleared_at__isnull=True).select_related("system") \
        .order_by("field", "side")
    hidden = hidden_fields_for(user, record.entity_type)
    held = []
    for h in rows:
        value, reason = shown(h, hidden)
        held.append(RecordHeldField(h.pk, h.field, h.side, h.system.name, as_read(value), reason, h.first_seen_at,
                                    h.last_seen_at, h.run_id))
    return held


def as_read(value: Any) -> str:
    """A held value as the vendor sent it (money without a currency is not money yet): text as it is, anything
    else as JSON."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def shown(held: HeldField, hidden: set[str]) -> tuple[Any, str]:
    return masked(held.field, held.value, held.reason, hidden)


def masked(field: str, value: Any, reason: str, hidden: set[str]) -> tuple[Any, str]:
    """The value and reason a user may see: a sensitive field's value masked, its reason without the value."""
    if field in hidden:
        return (MASK if value not in (None, "") else value), cause_of(reason)
    return value, reason

