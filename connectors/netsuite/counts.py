"""What NetSuite counts and adds up without a download: SuiteQL `SELECT COUNT(*)` on a record type's table, and
money totals by `SELECT ..., SUM(...) ... GROUP BY`."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.base import ConnectorError
from connectors.netsuite.records import SUITEQL_TABLES
from connectors.netsuite.suiteql import COLUMN_NAME, SUITEQL_MAX_LIMIT


class NetSuiteCounts:
    """NetSuiteConnector's count and totals (mixed into it: they use its SuiteQL)."""

    count_query = "SuiteQL COUNT(*)"
    totals_query = "SuiteQL SUM(...) GROUP BY"

    def count(self, object: str) -> int:
        table, condition = SUITEQL_TABLES[self.record_type(object)]
        rows, _ = self.suiteql(f"SELECT COUNT(*) AS n FROM {table}" + (f" WHERE {condition}" if condition else ""),
                               limit=1)
        try:
            return int(rows[0]["n"])
        except (IndexError, KeyError, TypeError, ValueError):
            raise ConnectorError.malformed("netsuite: SuiteQL COUNT(*) answered no number", details=rows) from None

    def totals(self, object: str, sums: Iterable[str], group_by: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Sums of number columns per group, added up by NetSuite: `SELECT <group>, SUM(<column>) AS sum_<column>
        FROM <table> [WHERE <type>] GROUP BY <group> ORDER BY <group>` -- one row per group comes back (paged by
        1000), not the records. Columns are SuiteQL column names (record field names in lower case). Each row:
        the group columns, and `sum_<column>` per summed column (absent when every value in the group is empty).
        """
        record_type = self.record_type(object)
        table, condition = SUITEQL_TABLES[record_type]
        sums, group_by = [c.lower() for c in sums], [c.lower() for c in group_by]
        bad = [c for c in [*sums, *group_by] if not COLUMN_NAME.fullmatch(c)]
        if bad or not sums:
            raise self.config_error(f"cannot total {record_type} by columns {', '.join(bad) or '(none)'}")
        select = ", ".join([*group_by, *(f"SUM({column}) AS sum_{column}" for column in sums)])
        query = f"SELECT {select} FROM {table}" + (f" WHERE {condition}" if condition else "")
        if group_by:
            query += f" GROUP BY {', '.join(group_by)} ORDER BY {', '.join(group_by)}"  # ordered: stable pages
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page, has_more = self.suiteql(query, limit=SUITEQL_MAX_LIMIT, offset=offset)
            rows += [{k: v for k, v in row.items() if k != "links"} for row in page if isinstance(row, dict)]
            if not has_more or not page:
                return rows
            offset += len(page)
