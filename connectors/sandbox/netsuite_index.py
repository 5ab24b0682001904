"""The NetSuite emulator's index of records by (lastModifiedDate, id): what a real account's database has.

The connector pages SuiteQL by that key (`... WHERE lastmodifieddate > X OR (lastmodifieddate = X AND id > N)
ORDER BY lastmodifieddate, id`). Without an index every page would scan, convert and sort the whole table, so a
sync of 100,000 customers would cost the emulator 100 full-table scans and an incremental sync would cost as much
as the table's size -- measuring the sandbox, not the hub. Writes through the emulator keep the index current;
anything that bypasses them (a test editing the store directly) is caught by `current()`, which rebuilds.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.sandbox.netsuite_suiteql import parse_iso

Key = tuple[float, int]


def _moment(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value).timestamp()
    except ValueError:
        return None


class ModifiedIndex:
    """Sorted (modified timestamp, id) keys of one record type, with each id's stored lastModifiedDate text."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        self.keys: list[Key] = []
        self.stamps: dict[str, str] = {}
        self.rebuild()

    def rebuild(self) -> None:
        stamps, keys = {}, []
        for record_id, row in self.table.items():
            key = self._key(record_id, row)
            if key is not None:
                keys.append(key)
                stamps[record_id] = row["lastModifiedDate"]
        keys.sort()
        self.keys, self.stamps = keys, stamps

    @staticmethod
    def _key(record_id: str, row: Any) -> Key | None:
        moment = _moment(row.get("lastModifiedDate")) if isinstance(row, dict) else None
        if moment is None or not record_id.isdigit():
            return None
        return (moment, int(record_id))

    def written(self, record_id: str, row: dict[str, Any] | None) -> None:
        """Record `record_id`'s new state (None: deleted)."""
        old = self.stamps.pop(record_id, None)
        if old is not None:
            old_key = (_moment(old), int(record_id))
            position = bisect.bisect_left(self.keys, old_key)
            if position < len(self.keys) and self.keys[position] == old_key:
                del self.keys[position]
        key = self._key(record_id, row) if row is not None else None
        if key is not None:
            bisect.insort(self.keys, key)
            self.stamps[record_id] = row["lastModifiedDate"]

    def current(self, table: dict[str, Any]) -> bool:
        """False when the store changed behind the index's back (a replaced table, rows added or removed)."""
        return table is self.table and len(self.stamps) == len(table)

    def after(self, moment: datetime, after_id: int | None) -> list[Key]:
        """Keys in order from `moment` on: all of that second when `after_id` is None, else after that id."""
        start = (moment.timestamp(), after_id) if after_id is not None else (moment.timestamp(), -1)
        return self.keys[bisect.bisect_right(self.keys, start):]

    def matches(self, record_id: str, row: Any) -> bool:
        """Whether the stored row still has the modification time the index holds for it."""
        return isinstance(row, dict) and self.stamps.get(record_id) == row.get("lastModifiedDate")


class Indexes:
    """One ModifiedIndex per record type, built on first use."""

    def __init__(self, table_of: Callable[[str], dict[str, Any]]) -> None:
        self.table_of = table_of
        self.by_type: dict[str, ModifiedIndex] = {}

    def written(self, record_type: str, record_id: str, row: dict[str, Any] | None) -> None:
        """Call before the store takes the write (`row` None: a delete)."""
        index = self.by_type.get(record_type)
        if index is None:
            return
        if index.current(self.table_of(record_type)):
            index.written(record_id, row)
        else:
            del self.by_type[record_type]  # out of step already: rebuilt on next use

    def keys_after(self, record_type: str, moment: datetime, after_id: int | None) -> list[Key]:
        """(modified, id) keys of `record_type` at or after the bound, oldest first, checked against the store."""
        table = self.table_of(record_type)
        for _ in range(2):
            index = self.by_type.get(record_type)
            if index is None or not index.current(table):
                index = self.by_type[record_type] = ModifiedIndex(table)
            keys = index.after(moment, after_id)
            if all(index.matches(str(record_id), table.get(str(record_id))) for _, record_id in keys):
                return keys
            del self.by_type[record_type]  # a row was edited in place: rebuild and look again
        return keys
