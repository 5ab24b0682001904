"""Three-way merge of one linked record, field by field (pure: no ORM, no I/O, deterministic).

Inputs per record: the hub's golden values, and for each linked side ("crm", "erp") its *current* canonical
values (just read and mapped) and its *base* (the canonical values that side held after the last successful
sync: what the hub last read from it or wrote to it). A field missing from ``current`` is *unknown* for that
side (not read); a present ``None`` is a real empty value. A side **changed** a field when the field is in its
current values and ``current[f] != base.get(f)`` -- so on a first sync (no base) every non-empty value counts as
changed, and an empty one does not. Values are compared structurally (nested dicts for money, lists for line
items); ``True`` never equals ``1``; nothing here raises on an odd value.

Which sides take part in a field:

- *read*: a linked side that is not in ``stopped`` (schema drift: the field vanished there; never read nor
  written). A side missing from ``sides`` is not linked: nothing is read from or written to it.
- *written*: a read side that is also in ``writes_to`` (it has a field path). A side read but not written (the
  field is kept in the hub only, or the engine narrowed ``writes_to``) has its differing value *acknowledged*:
  its base moves to that value, so the same difference is not read as a fresh edit at every sync.

Every field ends in exactly one of: **held** (an open or a new conflict: golden, writes and bases untouched),
**waiting** (nothing is known that may decide it: nothing happens), or an **accepted value** ``A``. With ``A``:
golden becomes ``A``; each read side holding ``A`` has its base moved to ``A``; each written side whose known
value differs gets ``A`` written (its base moves only when the write succeeds -- the caller does that); a side
where the field is unknown gets ``A`` written only when ``A`` is not empty and differs from that side's base
(the hub has not put it there already): an unknown value is never blanked and never rewritten each sync.
The caller's contract: leave a field out only when there is no sign it changed (a partial payload, a field not
requested), or name it in the side's ``held``: its value is there but failed its rule, so it is unknown *and* never
written there (the owner's typed value stays as typed until it is fixed); the rest of the record merges.

**No write empties a field unless its owner emptied it**: an empty ``A`` is written only over a side's non-empty
value when a side that may decide the field (the owner; either side of a shared field) changed it to empty in
this merge. Otherwise the side keeps its value (acknowledged: its base moves to it), whatever golden holds -- an
empty owner at the first sync, a reference the hub could not place, a value that was never read.

Owned fields (owner "crm" or "erp"; the other side is the non-owner):

- ``A`` is the owner's value when the owner changed it; else golden's value (a resolved conflict or a hub edit
  is pushed to both sides, the owner included) unless golden is empty and the owner's is not (only the owner
  empties its field); else the owner's unchanged value when golden has none yet. When
  the owner is not read (not linked, stopped, or not in ``current``) and golden has no value, the field waits:
  a non-owner's value never becomes golden.
- The non-owner changed it to something other than ``A``:
  ``revert_and_log`` -> ``A`` is written back over it and a :class:`BlockedEdit` is logged;
  ``queue`` -> a :class:`ConflictSpec` for the rule's approver and the field is held. **Decision:** when the
  owner changed it too, the same applies: with ``revert_and_log`` the owner's value is taken and the blocked
  edit logged; with ``queue`` the whole field is held (the approver may still prefer the non-owner's value).
  An unknown or blank non-owner policy counts as ``queue``: nothing is overwritten without a person.
- **Decision (first sync):** a non-owner value met with no base for it is not an edit made against the hub but
  data that predates the link: the owner's value wins whatever the policy, and the overwritten value is logged
  as a :class:`BlockedEdit` (the go-live readiness report and shadow mode show these before anything is written).
  An owner that has never held a value (empty, no base, nothing in golden) is filled with the other side's value
  instead: a blank is not a decision.

Shared fields (owner "shared"; any other owner is treated as shared):

- Neither side changed: ``A`` is golden's value (pushed to a side that differs); with no golden value, the
  read values are adopted when they agree, else the field waits.
- One side changed: ``A`` is its value. Both changed to equal values: ``A`` is that value, nothing is written.
- Both changed to different values (also on a first sync when both hold different non-empty values):
  ``last_write_wins`` -> the side with the later ``updated_at`` wins; ``first_write_wins`` -> the earlier one;
  timestamps less than CLOCK_RESOLUTION apart (one vendor's clock has whole seconds), missing, naive or odd ones
  cannot decide, so -- like ``manual_review`` and any unknown policy --
  a :class:`ConflictSpec` is opened and the field held. A policy decision is reported in ``resolved`` with both
  values and the winner, so the loser's overwritten edit is on record. ``updated_at`` is the vendor's record
  modification time: the record may have been touched after the field was, which is why ties are never guessed.

``open_conflicts`` hold their fields with no new conflict until resolved. Resolving (``settle_conflict``) sets
golden to the chosen value and each read side's base to the value the decision was made over; the next merge
then sees no edit and pushes golden to whichever side differs (an edit made since still counts as an edit).
A repeated merge over the same input returns the same result (a worker that died mid-batch re-sends the same
writes under the same idempotency keys), and the hub's own write echoing back is no change (bases moved).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from mapping.compiled import FieldPolicy

SIDES = ("crm", "erp")
SIDE_LABELS = {"crm": "CRM", "erp": "ERP"}
APPROVER_LABELS = {"revops": "RevOps", "finance": "finance"}
OWNED = frozenset({"crm", "erp"})
LAST_WRITE_WINS = "last_write_wins"
FIRST_WRITE_WINS = "first_write_wins"
MANUAL_REVIEW = "manual_review"
REVERT_AND_LOG = "revert_and_log"
QUEUE = "queue"
_MISSING = object()
# The coarsest vendor clock in use (NetSuite stamps whole seconds): two edits closer than this cannot be
# ordered across systems, so a last/first-write-wins policy holds them for a person instead of guessing.
CLOCK_RESOLUTION = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class SideState:
    """One linked side of a record: canonical values as just read, and as of the last successful sync."""

    current: Mapping[str, Any]
    base: Mapping[str, Any]
    updated_at: datetime | None = None
    held: frozenset[str] = frozenset()  # fields whose value here failed its rule: unknown, never written here


@dataclass(frozen=True, slots=True)
class ConflictSpec:
    """A field both sides changed (or a queued non-owner edit): opened for a person, or decided by policy."""

    field: str
    base: Any  # the hub's value before these edits
    crm_value: Any
    erp_value: Any
    crm_updated_at: datetime | None
    erp_updated_at: datetime | None
    policy: str
    approver_role: str
    reason: str
    winner: str = ""  # set on a conflict decided by policy (``MergeResult.resolved``): "crm" | "erp"
    read: frozenset[str] = frozenset()  # the sides whose values were read (others show the hub's value)


@dataclass(frozen=True, slots=True)
class BlockedEdit:
    """A non-owner's value of an owned field that was not accepted (reverted, or acknowledged when unwritable)."""

    field: str
    side: str
    attempted: Any
    kept: Any
    reason: str


@dataclass(slots=True)
class MergeResult:
    """What to change for one record. ``writes`` and ``base`` only hold sides with something in them."""

    golden: dict[str, Any] = field(default_factory=dict)  # golden fields whose value changes
    writes: dict[str, dict[str, Any]] = field(default_factory=dict)  # side -> {field: value to write}
    base: dict[str, dict[str, Any]] = field(default_factory=dict)  # side -> {field: base to store now}
    conflicts: list[ConflictSpec] = field(default_factory=list)  # new conflicts to open (fields held)
    blocked: list[BlockedEdit] = field(default_factory=list)
    held: set[str] = field(default_factory=set)  # open (or just opened) conflicts: nothing changes
    resolved: list[ConflictSpec] = field(default_factory=list)  # both changed, decided by LWW / FWW

    @property
    def unchanged(self) -> bool:
        """True when there is nothing to do: no write, golden change, base move, conflict or log entry."""
        return not (self.golden or self.writes or self.base or self.conflicts or self.blocked or self.resolved)


def same(a: Any, b: Any) -> bool:
    """Structural equality of canonical (JSON-like) values; bool never equals a number; never raises."""
    try:
        return _same(a, b)
    except Exception:  # RecursionError on absurd nesting, a value whose __eq__ raises: treat as different
        return False


def _is_nan(value: Any) -> bool:
    if isinstance(value, float):
        return value != value
    return isinstance(value, Decimal) and value.is_nan()


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        if _is_nan(a) or _is_nan(b):
            return _is_nan(a) and _is_nan(b)
        return a == b
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (isinstance(a, Mapping) and isinstance(b, Mapping) and len(a) == len(b)
                and all(key in b and _same(value, b[key]) for key, value in a.items()))
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return (isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    return type(a) is type(b) and bool(a == b)


def is_empty(value: Any) -> bool:
    """An empty canonical value: nothing, blank text, no lines, an empty object."""
    return value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0)


def _when(value: Any) -> datetime | None:
    """A timestamp usable to order edits: an aware datetime; anything else cannot decide."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    return None


@dataclass(slots=True)
class _View:
    """One read side's view of one field."""

    side: str
    known: bool
    value: Any
    changed: bool
    first: bool  # no base for the field on this side yet
    base: Any  # _MISSING when none
    updated_at: datetime | None
    held: bool = False  # its value failed its rule: nothing is written over it


def _views(name: str, policy: FieldPolicy, sides: Mapping[str, SideState]) -> dict[str, _View]:
    views = {}
    for side in SIDES:
        state = sides.get(side)
        if state is None or side in policy.stopped:
            continue
        current = state.current or {}
        base_values = state.base or {}
        known = name in current
        value = current[name] if known else None
        base = base_values[name] if name in base_values else _MISSING
        changed = known and not same(value, None if base is _MISSING else base)
        views[side] = _View(side, known, value, changed, base is _MISSING, base, state.updated_at,
                            name in state.held)
    return views


def _approver(role: str) -> str:
    return APPROVER_LABELS.get(role, role or "RevOps")


def _conflict(policy: FieldPolicy, golden: Mapping[str, Any], views: Mapping[str, _View], kind: str,
              reason: str, hub_value: Any = None, winner: str = "") -> ConflictSpec:
    def value(side: str) -> Any:
        view = views.get(side)
        return view.value if view is not None and view.known else hub_value

    def stamp(side: str) -> datetime | None:
        view = views.get(side)
        return view.updated_at if view is not None else None

    return ConflictSpec(
        field=policy.field, base=golden.get(policy.field), crm_value=value("crm"), erp_value=value("erp"),
        crm_updated_at=stamp("crm"), erp_updated_at=stamp("erp"), policy=kind,
        approver_role=policy.approver_role, reason=reason, winner=winner,
        read=frozenset(side for side, view in views.items() if view.known))


# A decision: ("accept", value), ("hold", ConflictSpec) or ("wait", None); notes go to the result as they are made.
_Decision = tuple[str, Any]


def _decide_owned(policy: FieldPolicy, golden: Mapping[str, Any], views: Mapping[str, _View],
                  result: MergeResult) -> _Decision:
    name, owner = policy.field, policy.owner
    other = "erp" if owner == "crm" else "crm"
    owner_view, other_view = views.get(owner), views.get(other)
    owner_known = owner_view is not None and owner_view.known
    if (owner_known and owner_view.first and is_empty(owner_view.value) and is_empty(golden.get(name))
            and owner in policy.writes_to and other_view is not None and other_view.known
            and not is_empty(other_view.value)):
        # The owner has never held a value the hub knows of (a pair's first sync, or a record the hub created
        # while this field was held): the other side's value fills the blank instead of being lost.
        return "accept", other_view.value
    if owner_known and owner_view.changed:
        accepted = owner_view.value
    elif name in golden and (not is_empty(golden[name]) or (owner_known and is_empty(owner_view.value))):
        accepted = golden[name]
    elif owner_known:
        accepted = owner_view.value
    else:
        return "wait", None
    if other_view is None or not other_view.changed or same(other_view.value, accepted):
        return "accept", accepted
    if is_empty(accepted) and not _emptied(owner_view):
        return "accept", accepted  # the owner has no value and did not empty it: the other side keeps its own

    who, whose = SIDE_LABELS[other], SIDE_LABELS[owner]
    owner_too = owner_known and owner_view.changed
    writable = other in policy.writes_to
    if other_view.first:
        reason = f"{who} held a different value for an {whose}-owned field at the first sync ({whose}'s value kept)"
    elif policy.non_owner_policy == REVERT_AND_LOG:
        also = f" while {whose} changed it too" if owner_too else ""
        done = "reverted to" if writable else "not accepted; the hub does not write it there; kept"
        reason = f"{who} edited an {whose}-owned field{also} ({done} {whose}'s value, logged)"
    else:
        also = f" while {whose} changed it too" if owner_too else ""
        reason = (f"{who} edited an {whose}-owned field{also} "
                  f"(queued for {_approver(policy.approver_role)} approval)")
        return "hold", _conflict(policy, golden, views, QUEUE, reason, hub_value=accepted)
    result.blocked.append(BlockedEdit(name, other, other_view.value, accepted, reason))
    return "accept", accepted


def _decide_shared(policy: FieldPolicy, golden: Mapping[str, Any], views: Mapping[str, _View],
                   result: MergeResult) -> _Decision:
    name = policy.field
    changed = [view for view in views.values() if view.changed]
    if not changed:
        if name in golden:
            return "accept", golden[name]
        known = [view.value for view in views.values() if view.known]
        if known and all(same(value, known[0]) for value in known[1:]):
            return "accept", known[0]
        return "wait", None
    if len(changed) == 1 or same(changed[0].value, changed[1].value):
        return "accept", changed[0].value

    crm, erp = changed  # views are built in SIDES order
    kind = policy.conflict_policy
    crm_at, erp_at = _when(crm.updated_at), _when(erp.updated_at)
    if kind in (LAST_WRITE_WINS, FIRST_WRITE_WINS):
        rule = "last write wins" if kind == LAST_WRITE_WINS else "first write wins"
        if crm_at is not None and erp_at is not None and abs(crm_at - erp_at) >= CLOCK_RESOLUTION:
            later, earlier = (crm, erp) if crm_at > erp_at else (erp, crm)
            winner = later if kind == LAST_WRITE_WINS else earlier
            loser = earlier if winner is later else later
            order = "later" if kind == LAST_WRITE_WINS else "earlier"
            reason = (f"both changed ({rule}: {SIDE_LABELS[winner.side]}'s {order} edit kept over "
                      f"{SIDE_LABELS[loser.side]}'s)")
            result.resolved.append(_conflict(policy, golden, views, kind, reason, winner=winner.side))
            return "accept", winner.value
        reason = (f"both changed at the same time or without a usable modification time "
                  f"({rule} cannot decide: manual review)")
    elif kind == MANUAL_REVIEW:
        reason = "both changed (manual review)"
    else:
        reason = f"both changed (conflict policy {kind!r} is unknown: manual review)"
    return "hold", _conflict(policy, golden, views, kind or MANUAL_REVIEW, reason)


def _emptied(view: _View | None) -> bool:
    """The side emptied the field since the last sync (it held a value then): not merely empty."""
    return (view is not None and view.known and is_empty(view.value) and view.base is not _MISSING
            and not is_empty(view.base))


def _emptied_by_owner(policy: FieldPolicy, views: Mapping[str, _View]) -> bool:
    """A side that may decide the field emptied it."""
    return any(_emptied(view) for side, view in views.items() if policy.owner not in OWNED or side == policy.owner)


def _apply(policy: FieldPolicy, accepted: Any, golden: Mapping[str, Any], views: Mapping[str, _View],
           result: MergeResult) -> None:
    name = policy.field
    if name not in golden or not same(golden[name], accepted):
        result.golden[name] = accepted
    keep_values = is_empty(accepted) and not _emptied_by_owner(policy, views)
    for side, view in views.items():
        writable = side in policy.writes_to and not keep_values
        if view.known:
            if same(view.value, accepted):
                target = accepted
            elif writable:
                result.writes.setdefault(side, {})[name] = accepted
                continue
            else:
                target = view.value  # acknowledged: the hub cannot write this field there
            if view.base is _MISSING or not same(view.base, target):
                result.base.setdefault(side, {})[name] = target
        elif writable and not view.held and accepted is not None and (
                view.base is _MISSING or not same(view.base, accepted)):
            result.writes.setdefault(side, {})[name] = accepted


def merge_record(policies: Sequence[FieldPolicy], golden: Mapping[str, Any], sides: Mapping[str, SideState], *,
                 open_conflicts: frozenset[str] = frozenset()) -> MergeResult:
    """Merge one linked record field by field (rules in the module docstring). A field listed twice: first wins."""
    result = MergeResult()
    golden = golden or {}
    if sides and all(same(state.current, state.base) and same(state.base, golden) for state in sides.values()):
        # Every side holds exactly what the hub holds and last agreed on: no field can have anything to do
        # (the common case of a record read again, or just created from a side), without a field-by-field pass.
        result.held.update(p.field for p in policies if p.field in open_conflicts)
        return result
    seen: set[str] = set()
    for policy in policies:
        name = policy.field
        if name in seen:
            continue
        seen.add(name)
        if name in open_conflicts:
            result.held.add(name)
            continue
        views = _views(name, policy, sides)
        decide = _decide_owned if policy.owner in OWNED else _decide_shared
        outcome, payload = decide(policy, golden, views, result)
        if outcome == "hold":
            result.conflicts.append(payload)
            result.held.add(name)
        elif outcome == "accept":
            _apply(policy, payload, golden, views, result)
    return result


def settle_conflict(conflict: ConflictSpec, chosen: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(golden change, base moves) that record a person's decision on ``conflict``.

    Golden takes ``chosen``; each side whose value was read moves its base to that value, so the next
    ``merge_record`` (with the conflict no longer open) sees no edit and writes ``chosen`` wherever it differs.
    Taking a side's empty value leaves that side's base where it was, so the next merge still reads the emptying
    as that side's edit -- the only thing that may empty a field elsewhere (no write empties a field otherwise).
    """
    bases = {}
    for side in SIDES:
        if side in conflict.read:
            value = conflict.crm_value if side == "crm" else conflict.erp_value
            if not (is_empty(chosen) and is_empty(value)):
                bases[side] = {conflict.field: value}
    return {conflict.field: chosen}, bases
