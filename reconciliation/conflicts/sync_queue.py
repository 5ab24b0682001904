"""The conflict queue as the sync asks it (integration_hub/sync/ports.py): registered in this app's ready()."""
from __future__ import annotations

from integration_hub.records.models import Record
from integration_hub.sync.merge import ConflictSpec
from integration_hub.sync.models import SyncRun
from integration_hub.sync.ports import HeldByPeople
from mapping.models import ObjectMapping, RuleSetVersion
from reconciliation.conflicts.derive import conflict_open
from reconciliation.conflicts.models import Conflict, ConflictStatus


class ConflictQueue:
    def held_by_people(self, record_ids: list[int]) -> HeldByPeople:
        """Open conflicts, and rejections that are their field's latest decision (one query)."""
        held = HeldByPeople()
        decided: set[tuple[int, str]] = set()
        rows = Conflict.objects.filter(record_id__in=record_ids).order_by("record_id", "field", "-id") \
            .values_list("record_id", "field", "status", "crm_value", "erp_value")
        for record_id, field, status, crm_value, erp_value in rows:
            if status == ConflictStatus.OPEN:
                held.open.setdefault(record_id, set()).add(field)
            elif (record_id, field) not in decided:  # the latest decision (the rows are newest first)
                decided.add((record_id, field))
                if status == ConflictStatus.REJECTED:
                    held.rejected[record_id, field] = {"crm": crm_value, "erp": erp_value}
        return held

    def open_conflict(self, *, record: Record, mapping: ObjectMapping, rule_version: RuleSetVersion, run: SyncRun,
                      spec: ConflictSpec) -> bool:
        if Conflict.objects.filter(record=record, field=spec.field, status=ConflictStatus.OPEN).exists():
            return False
        conflict_open(
            record=record, mapping=mapping, rule_version=rule_version, field=spec.field,
            base_value=spec.base, crm_value=spec.crm_value, erp_value=spec.erp_value,
            crm_updated_at=spec.crm_updated_at, erp_updated_at=spec.erp_updated_at, policy=spec.policy,
            approver_role=spec.approver_role, reason=spec.reason[:300], opened_by_run=run)
        return True
