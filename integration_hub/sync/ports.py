"""What the sync asks of the layers above it, and where the answers come from.

The sync sits below reconciliation, so it cannot import the conflict queue or the duplicate queue. It defines the
two questions it asks instead, and reconciliation's sub-apps register their answers when Django starts (the
`ready()` of reconciliation/conflicts/apps.py and reconciliation/duplicates/apps.py):

- the conflict queue: which fields of these records a person holds (an open conflict, or a rejection that still
  stands), and "open a conflict for this field with these values";
- the duplicate screen: a vendor record no link and no match key placed is a golden record already (link it),
  may be one, or a copy of a record the system already has or of one read beside it (hold it for a person's
  review), or is new.

Both are required. Without them a run could neither hold a disagreement for a person nor see a duplicate: it
would overwrite values and create duplicates without a word. So a project without reconciliation does not sync:
the sync app's system check reports what is missing at start-up (`manage.py check`, `runserver`, `migrate`, a
Celery worker), and a run refuses to start (`required()` raises ImproperlyConfigured; the run stays queued).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from connectors.models import ConnectedSystem
    from integration_hub.records.models import Record
    from integration_hub.sync.merge import ConflictSpec
    from integration_hub.sync.models import SyncRun
    from mapping.models import ObjectMapping, RuleSetVersion


# --- the conflict queue ----------------------------------------------------------------------------

@dataclass(frozen=True)
class HeldByPeople:
    """The fields of some records that people hold, as the conflict queue knows them."""

    open: dict[int, set[str]] = field(default_factory=dict)  # record id -> fields with an open conflict
    # (record id, field) -> {side: value}: the values a person rejected, when a rejection is the field's latest
    # decision (the pair stays diverged while both systems hold those values)
    rejected: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)


class ConflictQueue(Protocol):
    def held_by_people(self, record_ids: list[int]) -> HeldByPeople:
        """The open conflicts and standing rejections of these records."""

    def open_conflict(self, *, record: Record, mapping: ObjectMapping, rule_version: RuleSetVersion, run: SyncRun,
                      spec: ConflictSpec) -> bool:
        """Open a conflict for `spec.field` of `record` with the values in `spec`; False when one is open already."""


# --- the duplicate screen --------------------------------------------------------------------------

class Verdict(StrEnum):
    LINK = "link"  # near-certain: link the vendor record to `Screening.record`
    REVIEW = "review"  # likely a duplicate: hold it and queue it for a person (`hold_for_review`)
    WAITING = "held"  # waiting in the review queue already: hold it again
    NEW = "new"  # no likely duplicate: create it as the mapping says


@dataclass(frozen=True)
class Screening:
    verdict: Verdict
    record: Record | None  # the golden record it is (LINK)
    message: str  # why, for the run's events
    evidence: list[dict[str, Any]]  # the best match's evidence
    detail: Any = None  # the screen's own answer, handed back to `hold_for_review`


class DuplicateScreen(Protocol):
    def screen_many(self, *, entity_type: str, system: ConnectedSystem, records: dict[str, dict[str, Any]],
                    creates: bool) -> dict[str, Screening]:
        """Score vendor records new in `system` (external id -> canonical values, references as golden ids, in
        the order read) against the entity's golden records, linked or not, and, when `creates` (they become
        golden records), against the ones read before them: a copy is held, never created beside its original."""

    def hold_for_review(self, screening: Screening, *, entity_type: str, system: ConnectedSystem, external_id: str,
                        values: dict[str, Any], remote_values: dict[str, Any],
                        remote_updated_at: datetime | None) -> None:
        """Queue a record the sync holds instead of creating, with its likely matches."""

    def waiting_beside(self, *, system: ConnectedSystem, record_ids: list[int]) -> dict[int, str]:
        """The golden records (of these) that a record of `system` waiting in the queue may be, with why: creating
        one of them in `system` before a person decides could make a second record there."""


# --- registration ----------------------------------------------------------------------------------

class Ports(NamedTuple):
    conflicts: ConflictQueue
    duplicates: DuplicateScreen


_registered: dict[str, Any] = {}


def register_conflict_queue(queue: ConflictQueue) -> None:
    _registered["conflict queue"] = queue


def register_duplicate_screen(screen: DuplicateScreen) -> None:
    _registered["duplicate screen"] = screen


def _missing() -> list[str]:
    return [name for name in ("conflict queue", "duplicate screen") if name not in _registered]


def required() -> Ports:
    """The registered answers; ImproperlyConfigured when one is missing."""
    if missing := _missing():
        raise ImproperlyConfigured(_why(missing))
    return Ports(_registered["conflict queue"], _registered["duplicate screen"])


def registration_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check (registered by the sync app): the sync's ports are answered."""
    missing = _missing()
    return [checks.Error(_why(missing), id="sync.E001")] if missing else []


def _why(missing: list[str]) -> str:
    return (f"The sync has no {' and no '.join(missing)}: install reconciliation.conflicts and "
            "reconciliation.duplicates (their ready() registers them), or register your own "
            "(integration_hub.sync.ports). No sync runs without them.")
