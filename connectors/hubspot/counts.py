"""What HubSpot can count without a download: a CRM search with no filters answers `total` (one request, one
result). It cannot add money up: search answers a count of matches, never a sum of a property, and its
aggregates live only in reports the API cannot run -- so `totals` stays the interface's None, and a
reconciliation sums a HubSpot side from the records it reads."""
from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import ConnectorError
from connectors.hubspot.objects import object_type

if TYPE_CHECKING:
    from connectors.http import HttpClient


class HubSpotCounts:
    """HubSpotConnector's count (mixed into it: it uses the connector's HTTP client)."""

    http: HttpClient
    count_query = "HubSpot search total"

    def count(self, object: str) -> int:
        data = self.http.request_json("POST", f"/crm/v3/objects/{object_type(object)}/search",
                                      json={"limit": 1, "properties": ["hs_object_id"]}, idempotent=True)
        if not isinstance(data, dict) or not isinstance(data.get("total"), int):
            raise ConnectorError.malformed("hubspot search answered without a total", details=data)
        return data["total"]
