"""What one execution of a sync run carries from step to step: the run (its counts are stored with its progress),
the published rules it runs under, the ports it asks (ports.py), and the events of the page or chunk being stored.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from integration_hub.kernel.bulk import insert_many
from integration_hub.sync.models import SyncEvent, SyncRun

if TYPE_CHECKING:
    from integration_hub.records.models import Record
    from integration_hub.sync.ports import ConflictQueue, DuplicateScreen
    from integration_hub.sync.rules import CompiledMapping


@dataclasses.dataclass(eq=False)
class RunContext:
    run: SyncRun
    compiled: CompiledMapping
    conflicts: ConflictQueue
    duplicates: DuplicateScreen
    # Buffered: the transaction that stores their page or chunk writes them (`flush_events`).
    events: list[SyncEvent] = dataclasses.field(default_factory=list)
    # side -> whether some golden record of the entity is not linked on that side (the duplicate screen has
    # something to find), asked once per side and execution.
    unlinked_golden: dict[str, bool] = dataclasses.field(default_factory=dict)
    # Vendor ids of records this run creates a golden record for and creates in the other system whatever the
    # mapping's create policy: a won deal's company that must become an ERP customer first (customer_chain.py),
    # with the values its golden record starts with where the record has none (the deal's currency).
    promote: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.run.counts[key] = self.run.counts.get(key, 0) + n

    def event(self, kind: str, *, record: Record | None = None, record_id: int | None = None, side: str = "",
              external_id: str = "", field: str = "", message: str = "", data: dict[str, Any] | None = None) -> None:
        event = SyncEvent(run=self.run, record=record, side=side, external_id=str(external_id)[:255], kind=kind,
                          field=field[:80], message=message[:2000], data=data or {})
        if record is None and record_id is not None:
            event.record_id = record_id
        self.events.append(event)

    def flush_events(self) -> None:
        insert_many(SyncEvent, self.events)
        self.events.clear()
