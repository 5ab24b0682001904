"""How many records a system holds, asked the vendor's cheapest way (no download of the records).

HubSpot: a CRM search with no filters answers `total` (one request, one result). NetSuite: a SuiteQL
`SELECT COUNT(*)` on the record type's table, and money totals by `SELECT ..., SUM(...) ... GROUP BY`
(`money_totals`). Spoken over each connector's own HTTP client (auth, retries,
rate limit), so it works unchanged against the real vendor URL. A vendor without a count query here answers
None and the report counts what it read instead. (These could move into the connectors as `count()`.)
"""
from __future__ import annotations

from collections.abc import Callable

from connectors.base import Connector, ConnectorError

Counter = Callable[[Connector, str], int]


def _hubspot_count(connector: Connector, vendor_object: str) -> int:
    from connectors.hubspot import object_type

    data = connector.http.request_json("POST", f"/crm/v3/objects/{object_type(vendor_object)}/search",
                                       json={"limit": 1, "properties": ["hs_object_id"]}, idempotent=True)
    if not isinstance(data, dict) or not isinstance(data.get("total"), int):
        raise ConnectorError.malformed("hubspot search answered without a total", details=data)
    return data["total"]


def _netsuite_count(connector: Connector, vendor_object: str) -> int:
    from connectors.netsuite import SUITEQL_TABLES

    table, condition = SUITEQL_TABLES[connector.record_type(vendor_object)]
    rows, _ = connector.suiteql(f"SELECT COUNT(*) AS n FROM {table}" + (f" WHERE {condition}" if condition else ""),
                                limit=1)
    try:
        return int(rows[0]["n"])
    except (IndexError, KeyError, TypeError, ValueError):
        raise ConnectorError.malformed("netsuite: SuiteQL COUNT(*) answered no number", details=rows) from None


COUNTERS: dict[str, tuple[Counter, str]] = {
    "hubspot": (_hubspot_count, "HubSpot search total"),
    "netsuite": (_netsuite_count, "SuiteQL COUNT(*)"),
}


# Money totals added up by the vendor: (connector, vendor object, summed columns, group columns) -> rows of the
# group columns and `sum_<column>` per summed column. NetSuite: SuiteQL `SUM(...) ... GROUP BY`. HubSpot has no
# such query -- its CRM search answers a `total` (a count of matches), never a sum of a property, and its
# aggregates live only in reports the API cannot run -- so a HubSpot side's totals are summed from the records
# the report reads anyway.
Totals = Callable[[Connector, str, list[str], list[str]], list[dict]]


def _netsuite_totals(connector: Connector, vendor_object: str, sums: list[str], group_by: list[str]) -> list[dict]:
    return connector.totals(vendor_object, sums, group_by)


TOTALS: dict[str, tuple[Totals, str]] = {
    "netsuite": (_netsuite_totals, "SuiteQL SUM(...) GROUP BY"),
}


def money_totals(connector: Connector, vendor: str, vendor_object: str, sums: list[str],
                 group_by: list[str]) -> tuple[list[dict] | None, str]:
    """(rows, how) from the vendor's aggregate query; (None, why not) when the vendor has none here."""
    entry = TOTALS.get(vendor)
    if entry is None:
        return None, "no aggregate query for this vendor: summed while reading"
    totals, how = entry
    return totals(connector, vendor_object, sums, group_by), how


def record_count(connector: Connector, vendor: str, vendor_object: str) -> tuple[int | None, str]:
    """(number of records, how it was counted); (None, why not) when the vendor has no count query here."""
    entry = COUNTERS.get(vendor)
    if entry is None:
        return None, "no count query for this vendor: counted while reading"
    counter, how = entry
    return counter(connector, vendor_object), how
