"""The duplicate screen as the sync asks it (integration_hub/sync/ports.py): registered in this app's ready()."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.models import ConnectedSystem
from integration_hub.sync.ports import Screening, Verdict
from reconciliation.duplicates.sync_match import match_for_sync, queue_for_review


class DuplicateScreen:
    def screen(self, *, entity_type: str, system: ConnectedSystem, external_id: str,
               values: dict[str, Any]) -> Screening:
        decision = match_for_sync(entity_type, values, exclude_linked_in_system_id=system.pk, system_id=system.pk,
                                  external_id=external_id)
        return Screening(Verdict(decision.action), decision.record, decision.message,
                         decision.best.evidence if decision.best else [], decision)

    def hold_for_review(self, screening: Screening, *, entity_type: str, system: ConnectedSystem, external_id: str,
                        values: dict[str, Any], remote_values: dict[str, Any],
                        remote_updated_at: datetime | None) -> None:
        queue_for_review(entity_type=entity_type, system=system, external_id=external_id, values=values,
                         decision=screening.detail, remote_values=remote_values, remote_updated_at=remote_updated_at)
