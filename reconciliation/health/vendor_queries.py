"""How many records a system holds, asked the vendor's cheapest way (no download of the records).

HubSpot: a CRM search with no filters answers `total` (one request, one result). NetSuite: a SuiteQL
`SELECT COUNT(*)` on the record type's table. Spoken over each connector's own HTTP client (auth, retries,
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


def record_count(connector: Connector, vendor: str, vendor_object: str) -> tuple[int | None, str]:
    """(number of records, how it was counted); (None, why not) when the vendor has no count query here."""
    entry = COUNTERS.get(vendor)
    if entry is None:
        return None, "no count query for this vendor: counted while reading"
    counter, how = entry
    return counter(connector, vendor_object), how
