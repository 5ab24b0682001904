"""Replay held fields: once a source is fixed or a rule changed, a targeted sync per mapping reads their vendor
records again; a value that passes now flows and its held field clears, one that still fails stays held."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from integration_hub.kernel import roles
from integration_hub.sync import engine, tasks
from integration_hub.sync.models import HeldField, SyncRun, SyncTrigger
from mapping.models import ObjectMapping

# One replay re-reads at most this many vendor records (its ids travel in the task's message); a bigger
# selection is replayed in several goes, the longest held first.
REPLAY_MAX_RECORDS = 10_000


@dataclass
class ReplayPlan:
    """What a replay would re-read: vendor ids by mapping and side, and how many held fields they carry."""

    held_fields: int = 0
    records: int = 0
    ids: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # mapping id -> side -> vendor ids
    mappings: dict[int, ObjectMapping] = field(default_factory=dict)
    left_out: int = 0  # records beyond REPLAY_MAX_RECORDS, for a later go

    def per_mapping(self) -> list[tuple[ObjectMapping, dict[str, int]]]:
        return [(self.mappings[pk], {side: len(ids) for side, ids in sides.items()})
                for pk, sides in self.ids.items()]


def still_held(queryset: QuerySet[HeldField]) -> QuerySet[HeldField]:
    return queryset.filter(cleared_at__isnull=True)


def replay_plan(queryset: QuerySet[HeldField]) -> ReplayPlan:
    """The vendor records behind these held fields (those still held), the longest held first."""
    held = still_held(queryset).order_by()
    plan = ReplayPlan(held_fields=held.count())
    chosen: set[tuple[int, str, str]] = set()
    beyond: set[tuple[int, str, str]] = set()
    rows = held.values_list("mapping_id", "side", "external_id").order_by("first_seen_at", "id")
    for key in rows.iterator(chunk_size=5000):
        if key not in chosen:
            (chosen if len(chosen) < REPLAY_MAX_RECORDS else beyond).add(key)
    plan.records, plan.left_out = len(chosen), len(beyond)
    seen: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for mapping_id, side, external_id in chosen:
        seen[mapping_id][side].add(external_id)
    plan.ids = {pk: {side: sorted(ids) for side, ids in sides.items()} for pk, sides in seen.items()}
    plan.mappings = ObjectMapping.objects.in_bulk(list(plan.ids))
    return plan


def held_fields_replay(*, queryset: QuerySet[HeldField], user) -> list[SyncRun]:
    """Queue one targeted sync (trigger "replay") per mapping for the vendor records behind these held fields;
    a worker carries each out once this transaction commits. RevOps admins only."""
    if not roles.is_revops(user):
        raise PermissionDenied("Only RevOps admins replay held fields.")
    plan = replay_plan(queryset)
    runs = []
    for mapping_id, ids in plan.ids.items():
        run = engine.sync_run_create(mapping=plan.mappings[mapping_id], trigger=SyncTrigger.REPLAY, user=user,
                                     targeted=True)
        transaction.on_commit(lambda run=run, ids=ids: tasks.sync_records.delay(run.pk, ids))
        runs.append(run)
    return runs
