"""The emulators' index of records by (modification time, id): what a real vendor's database has.

NetSuite's connector pages SuiteQL by that key (`... WHERE lastmodifieddate > X OR (lastmodifieddate = X AND
id > N) ORDER BY lastmodifieddate, id`) and HubSpot's searches `hs_lastmodifieddate >= X`. Without an index
every page would scan, convert and sort the whole table, so a sync of 100,000 customers would cost 100
full-table scans and an incremental sync as much as the table's size -- measuring the sandbox, not the hub.
Writes through an emulator keep the index current (call `written` after the store took the write); anything
that bypasses them (a test editing the store directly) is caught by `current()` and `matches()`, which rebuild.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Key = tuple[float, int]
Stamp = Callable[[Any], Any]  # a stored row -> its modification time as stored (an ISO text)


def _moment(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    if value.isdigit():  # HubSpot also takes epoch milliseconds
        return int(value) / 1000
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def netsuite_stamp(row: Any) -> Any:
    return row.get("lastModifiedDate") if isinstance(row, dict) else None


class ModifiedIndex:
    """Sorted (modified timestamp, id) keys of one record type, with each id's stored modification text (every
    row has an entry there, a row without a readable time no key)."""

    def __init__(self, table: dict[str, Any], stamp: Stamp) -> None:
        self.table, self.stamp = table, stamp
        self.keys: list[Key] = []
        self.stamps: dict[str, Any] = {}
        self.rebuild()

    def rebuild(self) -> None:
        stamps, keys = {}, []
        for record_id, row in self.table.items():
            stamps[record_id] = self.stamp(row)
            key = self._key(record_id, stamps[record_id])
            if key is not None:
                keys.append(key)
        keys.sort()
        self.keys, self.stamps = keys, stamps

    @staticmethod
    def _key(record_id: str, stamp: Any) -> Key | None:
        moment = _moment(stamp)
        if moment is None or not record_id.isdigit():
            return None
        return (moment, int(record_id))

    def written(self, record_id: str, row: Any) -> None:
        """Record `record_id`'s new state (None: deleted)."""
        old_key = self._key(record_id, self.stamps.pop(record_id, None))
        if old_key is not None:
            position = bisect.bisect_left(self.keys, old_key)
            if position < len(self.keys) and self.keys[position] == old_key:
                del self.keys[position]
        if row is not None:
            self.stamps[record_id] = self.stamp(row)
            key = self._key(record_id, self.stamps[record_id])
            if key is not None:
                bisect.insort(self.keys, key)

    def current(self, table: dict[str, Any]) -> bool:
        """False when the store changed behind the index's back (a replaced table, rows added or removed)."""
        return table is self.table and len(self.stamps) == len(table)

    def after(self, moment: datetime, after_id: int | None) -> list[Key]:
        """Keys in order from `moment` on: all of that second when `after_id` is None, else after that id."""
        start = (moment.timestamp(), after_id) if after_id is not None else (moment.timestamp(), -1)
        return self.keys[bisect.bisect_right(self.keys, start):]

    def matches(self, record_id: str, row: Any) -> bool:
        """Whether the stored row still has the modification time the index holds for it."""
        return row is not None and self.stamps.get(record_id) == self.stamp(row)


class Indexes:
    """One ModifiedIndex per record type, built on first use."""

    def __init__(self, table_of: Callable[[str], dict[str, Any]], stamp_of: Callable[[str], Stamp]) -> None:
        self.table_of, self.stamp_of = table_of, stamp_of
        self.by_type: dict[str, ModifiedIndex] = {}

    def written(self, record_type: str, record_id: str, row: Any) -> None:
        """Call after the store took the write (`row` None: a delete). The index is built at the type's first
        write (a vendor's database has its indexes before the first query), then kept."""
        table = self.table_of(record_type)
        index = self.by_type.get(record_type)
        if index is None or index.table is not table:
            self.by_type[record_type] = ModifiedIndex(table, self.stamp_of(record_type))
            return
        index.written(record_id, row)
        if not index.current(table):
            del self.by_type[record_type]  # out of step (the store was edited directly): rebuilt on next use

    def keys_after(self, record_type: str, moment: datetime, after_id: int | None, *,
                   check: int | None = None) -> list[Key]:
        """(modified, id) keys of `record_type` at or after the bound, oldest first, checked against the store
        (only the first `check` of them when given: the rows a page can return; each later page starts from its
        own bound and checks its own rows, so paging through a large table is not quadratic)."""
        table = self.table_of(record_type)
        for _ in range(2):
            index = self.by_type.get(record_type)
            if index is None or not index.current(table):
                index = self.by_type[record_type] = ModifiedIndex(table, self.stamp_of(record_type))
            keys = index.after(moment, after_id)
            if all(index.matches(str(record_id), table.get(str(record_id))) for _, record_id in keys[:check]):
                return keys
            del self.by_type[record_type]  # a row was edited in place: rebuild and look again
        return keys
