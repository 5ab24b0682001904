"""Reading HubSpot's answers: result lists, paging, and objects as RemoteRecords (an unreadable one is a
RecordError, never an exception)."""
from __future__ import annotations

import json
from typing import Any

from connectors.base import ConnectorError, RecordError, RemoteRecord, parse_timestamp
from connectors.hubspot.objects import modified_property


def result_list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("results", []), list):
        raise ConnectorError.malformed(f"hubspot {what}: expected an object with a results list, "
                                       f"got {json.dumps(data)[:200]}")
    return data.get("results", [])


def next_after(data: Any) -> str | None:
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def parse_records(name: str, raw_records: list[Any]) -> tuple[list[RemoteRecord], list[RecordError]]:
    """RemoteRecords from HubSpot objects; an unreadable one becomes a RecordError, never an exception."""
    prop = modified_property(name)
    records: list[RemoteRecord] = []
    errors: list[RecordError] = []
    for raw in raw_records:
        record_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            if not isinstance(record_id, str | int) or isinstance(record_id, bool) or record_id == "":
                raise ValueError("record has no id")
            properties = raw.get("properties")
            if not isinstance(properties, dict):
                raise ValueError("properties is not an object")
            updated = parse_timestamp(properties.get(prop) or properties.get("hs_lastmodifieddate")
                                      or raw.get("updatedAt"))
            links = {to: [str(a["id"]) for a in value["results"]]
                     for to, value in (raw.get("associations") or {}).items()}
            records.append(RemoteRecord(str(record_id), updated, properties, bool(raw.get("archived")), links))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            errors.append(RecordError(str(record_id) if record_id not in (None, "") else None,
                                      f"hubspot {name}: unreadable record: {exc}", raw))
    return records, errors
