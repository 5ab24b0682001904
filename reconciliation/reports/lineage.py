"""What explains a difference between the two systems: writes in flight, open conflicts, changes the next
sync will pull, and each field's lineage (the hub's last write to each side, or the run that read it)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from integration_hub.records.models import Record, RecordLink
from integration_hub.sync.models import OutboundChange, OutboundStatus
from integration_hub.sync.rules import SIDES, CompiledMapping
from reconciliation.conflicts.models import Conflict, ConflictStatus

IN_FLIGHT_STATUSES = (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.FAILED)


@dataclass
class Explanations:
    """What explains a difference for a chunk of records: writes in flight, open conflicts, the golden values,
    each field's provenance, and the last write the hub sent to each side."""

    compiled: CompiledMapping
    pending: dict[int, set[str]]
    conflicts: set[tuple[int, str]]
    values: dict[int, dict]
    provenance: dict[int, dict]
    sent: dict[tuple[int, str], list]
    written_since_read: set[int]
    read_state: dict[tuple[int, int], tuple]

    @classmethod
    def load(cls, record_ids: list[int], compiled: CompiledMapping) -> Explanations:
        pending: dict[int, set[str]] = defaultdict(set)
        for rid, values in OutboundChange.objects.filter(record_id__in=record_ids,
                                                         status__in=IN_FLIGHT_STATUSES).values_list("record_id",
                                                                                                    "values"):
            pending[rid] |= set(values or {})
        conflicts = set(Conflict.objects.filter(record_id__in=record_ids, status=ConflictStatus.OPEN)
                        .values_list("record_id", "field"))
        records = {pk: (values, prov) for pk, values, prov in
                   Record.objects.filter(pk__in=record_ids).values_list("pk", "values", "provenance")}
        sent: dict[tuple[int, str], list] = defaultdict(list)
        rows = (OutboundChange.objects.filter(record_id__in=record_ids, status=OutboundStatus.SENT)
                .select_related("run__rule_version").order_by("-sent_at", "-id"))
        for change in rows:
            sent[(change.record_id, change.side)].append(change)
        # The hub wrote to a side after it last read it: what that write changed there (a NetSuite address line
        # shared by billing and shipping, say) comes back with the next pull.
        read_state = {(rid, system_id): (synced, updated, needs) for rid, system_id, synced, updated, needs in
                      RecordLink.objects.filter(record_id__in=record_ids).values_list(
                          "record_id", "system_id", "last_synced_at", "remote_updated_at", "needs_merge")}
        written = set()
        for (rid, side), changes in sent.items():
            last_read = read_state.get((rid, compiled.system(side).pk), (None,))[0]
            if changes[0].sent_at and (last_read is None or changes[0].sent_at > last_read):
                written.add(rid)
        return cls(compiled, pending, conflicts, {k: v[0] for k, v in records.items()},
                   {k: v[1] for k, v in records.items()}, sent, written, read_state)

    def changed_since_read(self, record_id: int, side: str, updated_at) -> bool:
        """The side modified the record after the hub last read it (or the hub has not merged what it read):
        the next sync carries the change."""
        state = self.read_state.get((record_id, self.compiled.system(side).pk))
        if state is None:
            return False
        _, read_at, needs_merge = state
        return bool(needs_merge or read_at is None or (updated_at is not None and updated_at > read_at))

    def in_flight(self, record_id: int, field: str) -> bool:
        return field in self.pending.get(record_id, ()) or (record_id, field) in self.conflicts

    def lineage(self, record_id: int, field: str) -> dict:
        """Per side: the hub's last write of this field there (run, rule version, when), or -- when that side is
        where the value comes from -- the run that read it."""
        out = {}
        prov = (self.provenance.get(record_id) or {}).get(field) or {}
        for side in SIDES:
            system = self.compiled.system(side)
            write = next((c for c in self.sent.get((record_id, side), ()) if field in (c.values or {})), None)
            if write is not None:
                out[side] = {"how": f"written by the hub to {system.name}", "run": write.run_id,
                             "rule_version": write.run.rule_version.number if write.run and write.run.rule_version
                             else None, "at": write.sent_at.isoformat() if write.sent_at else None}
            elif prov.get("system") == system.slug:
                out[side] = {"how": f"{system.name}'s own value, read by the hub", "run": prov.get("sync_run"),
                             "rule_version": prov.get("rule_version"), "at": prov.get("at")}
            else:
                out[side] = {"how": f"never written by the hub to {system.name}", "run": None,
                             "rule_version": None, "at": None}
        return out
