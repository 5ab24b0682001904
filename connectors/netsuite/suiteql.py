"""SuiteQL: its limits and formats, literals, and rows read back as records with the record API's names and
types."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from connectors.base import RecordError, RemoteRecord, parse_timestamp
from connectors.netsuite.records import INACTIVE_FIELD

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
SUITEQL_MAX_LIMIT = 1000
# SuiteQL prints dates in the user's date format (often date-only), so the cursor column is read with TO_CHAR,
# and literals are written with TO_TIMESTAMP, both in this format.
SUITEQL_TIME_FORMAT = "YYYY-MM-DD HH24:MI:SS"
# How SuiteQL prints dates and date-times when asked with TO_CHAR, matching the record API's strings.
SUITEQL_DATE_FORMAT = "YYYY-MM-DD"
SUITEQL_DATETIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
# A column name a query may carry (record field names in lower case).
COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# The address subrecord's SuiteQL columns (customerAddressbookEntityAddress) -> the record API's field names.
ADDRESS_COLUMNS = {"addressee": "addressee", "attention": "attention", "addr1": "addr1", "addr2": "addr2",
                   "addr3": "addr3", "city": "city", "state": "state", "zip": "zip", "country": "country",
                   "addrphone": "addrPhone", "addrtext": "addrText"}


def suiteql_literal(moment: datetime) -> str:
    """A UTC datetime as a SuiteQL TO_TIMESTAMP literal (whole seconds: NetSuite keeps no finer)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive means UTC, never the host's zone
    return f"TO_TIMESTAMP('{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}', '{SUITEQL_TIME_FORMAT}')"


def row_keys(rows: list[Any]) -> tuple[list[tuple[datetime, int, dict]], list[RecordError]]:
    """(modified, id, row) of each SuiteQL row; rows without a numeric id or a readable time are errors."""
    keyed, errors = [], []
    for row in rows:
        raw_id = row.get("id") if isinstance(row, dict) else None
        try:
            record_id = int(str(raw_id))
            modified = parse_timestamp(row["modified"])
        except (KeyError, TypeError, ValueError):
            errors.append(RecordError(str(raw_id) if raw_id is not None else None,
                                      "netsuite: SuiteQL row without a numeric id or modification time", row))
            continue
        keyed.append((modified, record_id, row))
    return keyed, errors


class Column:
    """One body field read through SuiteQL, and how its text becomes the record API's value.

    SuiteQL names columns in lower case and prints values as text; the record API's shape is restored from the
    metadata catalog: booleans 'T'/'F' -> True/False, integers -> int, numbers -> int when printed without a
    fraction else float, dates and date-times read with TO_CHAR as "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM:SSZ", and
    references (the internal id) -> {"id", "refName"} with the name from BUILTIN.DF. Null columns are absent, as
    null fields are on a record GET.
    """

    __slots__ = ("name", "column", "kind", "alias", "select", "key")

    def __init__(self, name: str, column: str, kind: str, alias: str) -> None:
        self.name, self.column, self.kind, self.alias = name, column, kind, alias
        self.key = column
        if kind in ("date", "datetime"):
            fmt = SUITEQL_DATE_FORMAT if kind == "date" else SUITEQL_DATETIME_FORMAT
            self.select, self.key = f"TO_CHAR({column}, '{fmt}') AS {alias}", alias
        elif kind == "reference":
            self.select = f"{column}, BUILTIN.DF({column}) AS {alias}"
        else:
            self.select = column


def _number(text: Any) -> int | float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return text
    text = str(text)
    return int(text) if text.lstrip("-").isdigit() else float(text)


def row_record(record_id: int, modified: datetime, row: dict[str, Any], columns: list[Column]) -> RemoteRecord:
    """A SuiteQL row (body columns) -> RemoteRecord with the record API's field names and types."""
    fields: dict[str, Any] = {"id": str(record_id)}
    refs: dict[str, list[str]] = {}
    for column in columns:
        value = row.get(column.key)
        if value is None:
            continue
        kind = column.kind
        if kind == "string" or kind == "date" or kind == "datetime":
            fields[column.name] = value
        elif kind == "boolean":
            fields[column.name] = value in ("T", "t", "true", True)
        elif kind == "number":
            fields[column.name] = _number(value)
        elif kind == "integer":
            fields[column.name] = int(value)
        elif kind == "reference":
            ref_id = str(value)
            fields[column.name] = {"id": ref_id, "refName": str(row.get(column.alias) or ref_id)}
            refs[column.name] = [ref_id]
        else:
            fields[column.name] = value
    return RemoteRecord(str(record_id), modified, fields, archived=fields.get(INACTIVE_FIELD) is True,
                        associations=refs)
