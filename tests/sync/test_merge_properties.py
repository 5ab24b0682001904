"""Property tests: two simulated systems edited at random, synced through ``merge_record`` round after round.

The simulation keeps each side's current values and base (the hub's last agreed values), the golden record and
the open conflicts (kept open, so held). Writes always succeed: the side takes the value and its base moves.
A partial read leaves out fields the side has not changed since its base (the caller's contract for "absent").

Invariants:
1. convergence: after edits stop, the sync settles within a few rounds, and the next sync has nothing to do
   (no writes, no golden change, no base move, no conflict: "0 outbound changes the second time");
2. no silent overwrite: a write never lands on a value the side changed since its base unless the same result
   logs it (a BlockedEdit for that side, or a LWW / FWW decision the side lost); once settled, an owned field
   holds the owner's latest value on both sides and in golden, a shared field the same value on both sides and
   in golden -- unless the field has an open conflict;
3. a value written for an owned field (or taken into golden) is always one the owner has held: never a value
   only the non-owner produced; in the strict setting the hub never writes to the owner at all;
4. merge is deterministic (same input, same result; the order of the sides does not matter), never writes to a
   stopped side, a side without a path, an unlinked side, or a held field.
5. no erase: a write never empties a value a side holds unless the field's owner emptied it (an owned field's
   owner holds it empty; a shared field was emptied by one of the sides at some point).
Resolving the open conflicts (any value a person may choose: never an empty one over its owner's value) and
syncing again converges too, with the chosen value on both sides.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from integration_hub.sync.merge import (
    ConflictSpec,
    FieldPolicy,
    MergeResult,
    SideState,
    is_empty,
    merge_record,
    same,
    settle_conflict,
)

SIDES = ("crm", "erp")
FIELDS = ("f0", "f1", "f2", "f3")
VALUES = ["a", "b", "c", None, {"amount": "1.00", "currency": "EUR"}, {"amount": "2.00", "currency": "EUR"},
          [{"sku": "A", "qty": "1"}], [], True, "1"]
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STAMPS = [None, *(T0 + timedelta(hours=hours) for hours in range(5))]  # ties and missing times happen
BOTH = frozenset(SIDES)
MAX_SETTLE_ROUNDS = 4
PROPERTY_SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

value_st = st.sampled_from(VALUES)
side_st = st.sampled_from(SIDES)


@st.composite
def policies_st(draw, strict: bool) -> list[FieldPolicy]:
    policies = []
    for name in FIELDS:
        owner = draw(st.sampled_from(["crm", "erp", "shared"]))
        shared = owner == "shared"
        conflict = draw(st.sampled_from(["last_write_wins", "first_write_wins", "manual_review"])) if shared else ""
        non_owner = "" if shared else draw(st.sampled_from(["revert_and_log", "queue"]))
        approver = draw(st.sampled_from(["revops", "finance"]))
        writes_to, stopped = BOTH, frozenset()
        if not strict:
            writes_to = draw(st.sampled_from([BOTH, BOTH, BOTH, frozenset({"crm"}), frozenset({"erp"}), frozenset()]))
            none = frozenset()
            stopped = draw(st.sampled_from([none, none, none, none, frozenset({"crm"}), frozenset({"erp"}), BOTH]))
        policies.append(FieldPolicy(name, owner, conflict, non_owner, approver, writes_to, stopped))
    return policies


edit_st = st.tuples(st.just("edit"), side_st, st.sampled_from(FIELDS), value_st, st.sampled_from(STAMPS))
sync_st = st.tuples(st.just("sync"), st.frozensets(st.tuples(side_st, st.sampled_from(FIELDS)), max_size=4))
actions_st = st.lists(st.one_of(edit_st, edit_st, edit_st, sync_st), max_size=16)


@st.composite
def start_st(draw) -> dict[str, Any]:
    """Either a fresh link (no golden, no bases, whatever each side holds) or a record both sides agree on."""
    stamps = {side: draw(st.sampled_from(STAMPS)) for side in SIDES}
    if draw(st.booleans()):
        values = {name: draw(value_st) for name in FIELDS}
        return {"agreed": True, "crm": dict(values), "erp": dict(values), "stamps": stamps}
    return {"agreed": False, **{side: {name: draw(value_st) for name in FIELDS} for side in SIDES}, "stamps": stamps}


@dataclass
class World:
    policies: list[FieldPolicy]
    linked: frozenset[str]
    strict: bool
    current: dict[str, dict[str, Any]] = field(default_factory=dict)
    base: dict[str, dict[str, Any]] = field(default_factory=lambda: {side: {} for side in SIDES})
    stamps: dict[str, datetime | None] = field(default_factory=lambda: dict.fromkeys(SIDES))
    golden: dict[str, Any] = field(default_factory=dict)
    open: dict[str, ConflictSpec] = field(default_factory=dict)
    owner_history: dict[str, list[Any]] = field(default_factory=dict)
    resolving: bool = False  # after a person's decision, the hub may write a non-owner's value to the owner
    emptied: set[str] = field(default_factory=set)  # fields a side has held empty (start included)

    @classmethod
    def build(cls, policies: list[FieldPolicy], start: dict, linked: frozenset[str], strict: bool) -> World:
        world = cls(policies, linked, strict)
        world.current = {side: dict(start[side]) for side in SIDES}
        world.stamps = dict(start["stamps"])
        if start["agreed"]:
            world.golden = dict(start["crm"])
            world.base = {side: dict(start[side]) for side in SIDES}
        for policy in policies:
            if policy.owner in SIDES:
                world.owner_history[policy.field] = [start[policy.owner][policy.field]]
        world.emptied = {name for side in SIDES for name in FIELDS if is_empty(start[side][name])}
        return world

    def policy(self, name: str) -> FieldPolicy:
        return next(p for p in self.policies if p.field == name)

    def edit(self, side: str, name: str, value: Any, stamp: datetime | None) -> None:
        self.current[side][name] = value
        self.stamps[side] = stamp
        if is_empty(value):
            self.emptied.add(name)
        if self.policy(name).owner == side:
            self.owner_history[name].append(value)

    def sides(self, hidden: frozenset[tuple[str, str]] = frozenset(), order=SIDES) -> dict[str, SideState]:
        out = {}
        for side in order:
            if side not in self.linked:
                continue
            base = self.base[side]
            current = {name: value for name, value in self.current[side].items()
                       if (side, name) not in hidden or not same(value, base.get(name))}
            out[side] = SideState(current, dict(base), self.stamps[side])
        return out

    def merge(self, sides: dict[str, SideState]) -> MergeResult:
        return merge_record(self.policies, dict(self.golden), sides, open_conflicts=frozenset(self.open))

    def sync(self, hidden: frozenset[tuple[str, str]] = frozenset()) -> MergeResult:
        sides = self.sides(hidden)
        result = self.merge(sides)
        self.check_round(sides, result, hidden)
        self.golden.update(result.golden)
        for side, moves in result.base.items():
            self.base[side].update(moves)
        for side, writes in result.writes.items():
            self.current[side].update(writes)
            self.base[side].update(writes)
            for name, value in writes.items():
                if self.policy(name).owner == side:  # a blank owner filled: the value is the owner's now
                    self.owner_history[name].append(value)
        for conflict in result.conflicts:
            self.open[conflict.field] = conflict
        return result

    def check_round(self, sides: dict[str, SideState], result: MergeResult, hidden) -> None:
        # 4. determinism, whatever the order of the sides
        assert self.merge(sides) == result
        assert self.merge(self.sides(hidden, order=tuple(reversed(SIDES)))) == result
        # 4. held fields and new conflicts
        assert set(self.open) <= result.held
        assert {c.field for c in result.conflicts} == result.held - set(self.open)
        assert len(result.conflicts) == len({c.field for c in result.conflicts})
        assert not result.held & (set(result.golden) | {name for moves in result.base.values() for name in moves})
        for side, writes in result.writes.items():
            assert side in sides and writes
            for name, value in writes.items():
                policy = self.policy(name)
                assert side in policy.writes_to and side not in policy.stopped and name not in result.held
                state = sides[side]
                # 5. no erase: a non-empty field is emptied only when its owner (a shared field: either side)
                # emptied it -- changed it to empty since the last sync -- never because it is merely empty there
                if is_empty(value) and not is_empty(self.current[side][name]):
                    deciders = [policy.owner] if policy.owner in SIDES else list(SIDES)
                    assert any(who in sides and name in sides[who].current and is_empty(sides[who].current[name])
                               and not is_empty(sides[who].base.get(name)) for who in deciders), ("erased", side, name)
                owner_state = sides.get(policy.owner)
                blank_owner = owner_state is not None and is_empty(owner_state.current.get(name)) and (
                    name not in owner_state.base) and is_empty(self.golden.get(name))
                # 2. no silent overwrite of an edit the hub has read (a blank is no edit)
                if name in state.current and not same(state.current[name], state.base.get(name)) and not (
                        blank_owner and side == policy.owner):
                    assert any(b.field == name and b.side == side for b in result.blocked) or any(
                        r.field == name and r.winner != side for r in result.resolved), (side, name, value)
                if policy.owner in SIDES and not self.resolving and not blank_owner:
                    # 3. only the owner's values are ever written for an owned field (a blank owner that never held
                    # a value is filled with the other side's value)
                    assert any(same(value, seen) for seen in self.owner_history[name]), (side, name, value)
                    if self.strict:
                        assert side != policy.owner
        for side, moves in result.base.items():
            assert side in sides and all(side not in self.policy(name).stopped for name in moves)
        if not self.resolving:
            for name, value in result.golden.items():
                owner = self.policy(name).owner
                if owner in SIDES and not (owner in sides and is_empty(sides[owner].current.get(name))
                                           and name not in sides[owner].base and is_empty(self.golden.get(name))):
                    assert any(same(value, seen) for seen in self.owner_history[name]), (name, value)
        for blocked in result.blocked:
            policy = self.policy(blocked.field)
            assert policy.owner not in (blocked.side, "shared")
            if policy.non_owner_policy == "queue":  # queued edits wait for a person; only pre-link data is logged
                assert blocked.field not in sides[blocked.side].base
        for kind in ("conflicts", "blocked", "resolved", "writes"):
            if getattr(result, kind):
                event(f"a sync with {kind}")

    def settle(self) -> None:
        """1. Sync until no writes (bounded), then once more: nothing to do at all."""
        for _ in range(MAX_SETTLE_ROUNDS):
            if not self.sync().writes:
                break
        else:
            raise AssertionError(f"no convergence after {MAX_SETTLE_ROUNDS} rounds")
        again = self.sync()
        assert again.unchanged, again

    def readable(self, side: str, policy: FieldPolicy) -> bool:
        return side in self.linked and side not in policy.stopped

    def check_settled(self) -> None:
        """2. Owned fields hold the owner's latest value, shared fields agree, except under an open conflict."""
        for policy in self.policies:
            name = policy.field
            if name in self.open:
                continue
            if policy.owner in SIDES:
                owner = policy.owner
                if not self.readable(owner, policy):
                    continue
                latest = self.owner_history[name][-1]
                if self.strict:
                    assert same(self.current[owner][name], latest)
                assert same(self.golden.get(name), self.current[owner][name]), (name, self.golden, self.current)
                other = "erp" if owner == "crm" else "crm"
                if self.readable(other, policy) and other in policy.writes_to:
                    kept = is_empty(self.current[owner][name])  # an owner with no value never blanks the other
                    assert kept or same(self.current[other][name], self.current[owner][name]), (name, self.current)
            else:
                readable = [side for side in SIDES if self.readable(side, policy)]
                if readable:
                    assert name in self.golden
                for side in readable:
                    if side in policy.writes_to and not is_empty(self.golden[name]):
                        assert same(self.current[side][name], self.golden[name]), (name, side, self.current)

    def play(self, actions) -> None:
        for action in actions:
            if action[0] == "edit":
                self.edit(*action[1:])
            else:
                self.sync(action[1])


@PROPERTY_SETTINGS
@given(policies=policies_st(strict=True), start=start_st(), actions=actions_st, data=st.data())
def test_two_linked_systems_converge_without_silent_overwrites(policies, start, actions, data):
    world = World.build(policies, start, BOTH, strict=True)
    world.play(actions)
    world.settle()
    world.check_settled()

    # A person resolves every open conflict with any value; the choice reaches both sides and the sync settles.
    world.resolving = True
    decided = {}
    for name, conflict in sorted(world.open.items()):
        owner = world.policy(name).owner
        owner_value = conflict.crm_value if owner == "crm" else conflict.erp_value if owner == "erp" else None
        # The decision service refuses an empty choice over the owner's value (reconciliation.conflicts.services).
        choices = [value for value in (conflict.crm_value, conflict.erp_value, "chosen")
                   if not (is_empty(value) and not is_empty(owner_value))]
        chosen = data.draw(st.sampled_from(choices), label=name)
        golden_change, bases = settle_conflict(conflict, chosen)
        # A side that edits the field after the conflict opened makes a new edit, which the next sync merges.
        seen = {side: (conflict.crm_value if side == "crm" else conflict.erp_value) if side in conflict.read
                else world.base[side].get(name) for side in SIDES}
        unchanged_since = all(same(world.current[side][name], seen[side]) for side in SIDES)
        del world.open[name]
        world.golden.update(golden_change)
        for side, moves in bases.items():
            world.base[side].update(moves)
        if unchanged_since:
            decided[name] = chosen
    world.settle()
    for name, chosen in decided.items():
        assert name not in world.open
        assert same(world.golden[name], chosen)
        if is_empty(chosen):  # an empty choice empties only where the side it came from had emptied the field
            continue
        assert all(same(world.current[side][name], chosen) for side in SIDES), (name, chosen, world.current)


@PROPERTY_SETTINGS
@given(policies=policies_st(strict=False), start=start_st(), actions=actions_st,
       linked=st.sampled_from([BOTH, BOTH, frozenset({"crm"}), frozenset({"erp"})]))
def test_drift_one_sided_fields_and_unlinked_sides_still_converge_and_never_write_where_forbidden(
        policies, start, actions, linked):
    world = World.build(policies, start, linked, strict=False)
    world.play(actions)
    world.settle()
    world.check_settled()


@settings(max_examples=300, deadline=None)
@given(policies=policies_st(strict=False), start=start_st(), actions=actions_st)
def test_the_same_edits_give_the_same_results_in_a_replay(policies, start, actions):
    """A replay of the same run (a worker that died and restarted from the cursor) decides exactly the same."""
    runs = []
    for _ in range(2):
        world = World.build(policies, start, BOTH, strict=False)
        results = []
        for action in actions:
            if action[0] == "edit":
                world.edit(*action[1:])
            else:
                results.append(world.sync(action[1]))
        runs.append((results, world.current, world.golden, world.base))
    assert runs[0] == runs[1]
