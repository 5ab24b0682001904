"""The duplicate screen as the sync asks it (integration_hub/sync/ports.py): registered in this app's ready()."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.models import ConnectedSystem
from integration_hub.sync.ports import Screening, Verdict
from reconciliation.duplicates.sync_match import match_many, queue_for_review, waiting_beside


class DuplicateScreen:
    def screen_many(self, *, entity_type: str, system: ConnectedSystem, records: dict[str, dict[str, Any]],
                    creates: bool) -> dict[str, Screening]:
        decisions = match_many(entity_type, records, system=system, creates=creates)
        return {external_id: Screening(Verdict(d.action), d.record, d.message, d.evidence, d)
                for external_id, d in decisions.items()}

    def hold_for_review(self, screening: Screening, *, entity_type: str, system: ConnectedSystem, external_id: str,
                        values: dict[str, Any], remote_values: dict[str, Any],
                        remote_updated_at: datetime | None) -> None:
        queue_for_review(entity_type=entity_type, system=system, external_id=external_id, values=values,
                         decision=screening.detail, remote_values=remote_values, remote_updated_at=remote_updated_at)

    def waiting_beside(self, *, system: ConnectedSystem, record_ids: list[int]) -> dict[int, str]:
        return waiting_beside(system, record_ids)
