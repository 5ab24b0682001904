"""Reading NetSuite: changes found by SuiteQL (body fields from its rows, an address book from its tables, or
full records with sublists from the record API), and records by id."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from connectors.base import ConnectorError, Page, RecordError, RemoteRecord, format_timestamp, parse_timestamp
from connectors.netsuite.records import (
    INACTIVE_FIELD,
    RECORD_PATH,
    SUBLISTS_BY_DEFAULT,
    SUITEQL_TABLES,
    clean,
    vendor_error,
)
from connectors.netsuite.suiteql import (
    ADDRESS_COLUMNS,
    COLUMN_NAME,
    SUITEQL_MAX_LIMIT,
    SUITEQL_TIME_FORMAT,
    Column,
    row_keys,
    row_record,
    suiteql_literal,
)

if TYPE_CHECKING:
    from connectors.http import HttpClient

_UNKNOWN_COLUMN = re.compile(r"Field '([^']+)' for record '[^']*' was not found", re.IGNORECASE)


class NetSuiteReads:
    """NetSuiteConnector's read methods (mixed into it: they use its HTTP client, SuiteQL, worker pool and the
    metadata catalog)."""

    http: HttpClient
    sublists: dict[str, bool]
    _columns: dict[str, list[Column]]

    def _get(self, record_type: str, ref: str) -> dict[str, Any]:
        """One record with its sublists expanded; raises ConnectorError (not_found, malformed, ...)."""
        body = self.http.request_json("GET", f"{RECORD_PATH}/{record_type}/{quote(ref, safe=':')}",
                                      params={"expandSubResources": "true"})
        if not isinstance(body, dict):
            raise ConnectorError.malformed(f"netsuite: {record_type} {ref} is not a JSON object", details=body)
        return body

    def _remote(self, record_type: str, body: dict[str, Any], fallback_time: datetime | None = None) -> RemoteRecord:
        """Record JSON -> RemoteRecord; a body without id or modification time is malformed."""
        record_id = body.get("id")
        if not isinstance(record_id, str | int) or isinstance(record_id, bool) or str(record_id) == "":
            raise ConnectorError.malformed(f"netsuite: {record_type} record without an id", details=body)
        try:
            updated = parse_timestamp(body.get("lastModifiedDate"))
        except ValueError:
            if fallback_time is None:
                raise ConnectorError.malformed(f"netsuite: {record_type} {record_id} has no lastModifiedDate",
                                               details=body) from None
            updated = fallback_time
        fields = clean(body)
        refs = {name: [str(value["id"])] for name, value in fields.items()
                if isinstance(value, dict) and "id" in value and "refName" in value}
        return RemoteRecord(str(record_id), updated, fields, archived=fields.get(INACTIVE_FIELD) is True,
                            associations=refs)

    def _fetch_many(self, record_type: str, ids: list[str],
                    times: Mapping[str, datetime] | None = None) -> tuple[list[RemoteRecord], list[RecordError]]:
        """GET records concurrently (within the concurrency cap); per-record problems become RecordErrors."""
        times = times or {}

        def one(record_id: str) -> RemoteRecord | RecordError:
            try:
                return self._remote(record_type, self._get(record_type, record_id), times.get(record_id))
            except ConnectorError as exc:
                if exc.kind in ("not_found", "malformed"):
                    return RecordError(record_id, vendor_error(exc).message, exc.details, kind=exc.kind)
                raise

        results = self._map(one, ids)
        records = [r for r in results if isinstance(r, RemoteRecord)]
        return records, [r for r in results if isinstance(r, RecordError)]

    def changes(self, object: str, since: datetime | None, page_size: int = 100,
                sublists: bool | list[str] | None = None) -> Iterator[Page]:
        """Records modified at or after `since`, oldest first, one page per SuiteQL page.

        SuiteQL finds the changed rows ordered by (lastmodifieddate, id). Without sublists (the default for
        customer, contact, employee, inventoryItem and priceLevel) the body fields come from those rows: one request
        per page of up to 1000 records. With sublists (`sublists=True` or a list of names such as ["addressBook"];
        the default for estimate, salesOrder and invoice, whose lines matter) each record is read from the record API
        with its sublists expanded: one GET per record (NetSuite expands every sublist, so a list of names only says
        that some are needed). The constructor's `sublists={type: bool}` changes a type's default. A customer's
        addressBook alone (`sublists=["addressBook"]`) is read from SuiteQL's address book tables instead: three
        queries per page (see `_address_books`), not a GET per customer.
        Both give `RemoteRecord.fields` the record API's shape (see `Column`); the SuiteQL one leaves out sublists
        and fields SuiteQL does not expose.

        Pages are keyset-paged (each query starts after the last row seen, `hasMore` says whether to go on) instead
        of offset-paged: rows modified while we page move to the end of an offset-paged result and would shift
        unseen rows into pages already read.
        """
        record_type = self.record_type(object)
        table, condition = SUITEQL_TABLES[record_type]
        if sublists is None:
            full = self.sublists.get(record_type, record_type in SUBLISTS_BY_DEFAULT)
        else:
            full = bool(sublists)
        # A customer's address book has SuiteQL tables of its own: two queries a page instead of a GET a record.
        addresses = full and record_type == "customer" and isinstance(sublists, list) and set(sublists) == {
            "addressBook"}
        full = full and not addresses
        limit = max(1, min(int(page_size), SUITEQL_MAX_LIMIT))
        last: tuple[datetime, int] | None = None
        while True:
            where = [condition] if condition else []
            if last is not None:
                moment = suiteql_literal(last[0])
                where.append(f"(lastmodifieddate > {moment} OR (lastmodifieddate = {moment} AND id > {last[1]}))")
            elif since is not None:
                where.append(f"lastmodifieddate >= {suiteql_literal(since)}")
            tail = f" FROM {table}" + (f" WHERE {' AND '.join(where)}" if where else "") + \
                " ORDER BY lastmodifieddate, id"
            head = f"SELECT id, TO_CHAR(lastmodifieddate, '{SUITEQL_TIME_FORMAT}') AS modified"
            if full:
                rows, has_more = self.suiteql(head + tail, limit=limit)
            else:
                rows, has_more = self._suiteql_bodies(record_type, head, tail, limit)
            keyed, errors = row_keys(rows)
            if full:
                times = {str(record_id): modified for modified, record_id, _ in keyed}
                records, fetch_errors = self._fetch_many(record_type, list(times), times)
                errors += fetch_errors
            else:
                records = []
                columns = self._columns[record_type]
                for modified, record_id, row in keyed:
                    try:
                        records.append(row_record(record_id, modified, row, columns))
                    except (TypeError, ValueError) as exc:
                        errors.append(RecordError(str(record_id), f"netsuite: unreadable SuiteQL row: {exc}", row))
                if addresses and records:
                    books = self._address_books([int(r.external_id) for r in records])
                    for record in records:
                        record.fields["addressBook"] = books.get(int(record.external_id), [])
            page_last = max((modified, record_id) for modified, record_id, _ in keyed) if keyed else last
            if has_more and (page_last is None or (last is not None and page_last <= last)):
                raise ConnectorError.malformed(f"netsuite: SuiteQL paging of {record_type} made no progress")
            last = page_last
            yield Page(records, errors, format_timestamp(last[0]) if last else None)
            if not has_more:
                return

    def _suiteql_all(self, query: str) -> list[dict]:
        """Every row of a (small) SuiteQL query, page by page."""
        rows, offset = [], 0
        while True:
            page, has_more = self.suiteql(query, offset=offset)
            rows += page
            if not has_more or not page:
                return rows
            offset += len(page)

    def _address_books(self, customer_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """The addressBook sublist of each customer, in the record API's shape, from SuiteQL's address book
        tables: customerAddressbook (a customer's lines: default flags, label, the address's key) and
        customerAddressbookEntityAddress (the addresses by key)."""
        books: dict[int, list[dict[str, Any]]] = {}
        lines: dict[int, dict[str, Any]] = {}
        for start in range(0, len(customer_ids), SUITEQL_MAX_LIMIT):  # an IN list holds at most 1000 values
            ids = ", ".join(str(i) for i in customer_ids[start:start + SUITEQL_MAX_LIMIT])
            for row in self._suiteql_all(
                    "SELECT entity, internalid, addressbookaddress, defaultbilling, defaultshipping, label "
                    f"FROM customerAddressbook WHERE entity IN ({ids}) ORDER BY entity, internalid"):
                try:
                    entity, key = int(row["entity"]), int(row["addressbookaddress"])
                    line = {"line": int(row["internalid"]),
                            "defaultBilling": row.get("defaultbilling") == "T",
                            "defaultShipping": row.get("defaultshipping") == "T"}
                except (KeyError, TypeError, ValueError):
                    raise ConnectorError.malformed("netsuite: unreadable customerAddressbook row",
                                                   details=row) from None
                if row.get("label") is not None:
                    line["label"] = row["label"]
                books.setdefault(entity, []).append(line)
                lines[key] = line
        keys = list(lines)
        for start in range(0, len(keys), SUITEQL_MAX_LIMIT):
            chunk = ", ".join(str(k) for k in keys[start:start + SUITEQL_MAX_LIMIT])
            columns = ", ".join(ADDRESS_COLUMNS)
            for row in self._suiteql_all(f"SELECT nkey, {columns} FROM customerAddressbookEntityAddress "
                                         f"WHERE nkey IN ({chunk}) ORDER BY nkey"):
                line = lines.get(int(row.get("nkey") or 0))
                if line is not None:
                    line["addressBookAddress"] = {name: row[column] for column, name in ADDRESS_COLUMNS.items()
                                                  if row.get(column) is not None}
        return books

    def _body_columns(self, record_type: str) -> list[Column]:
        """The record type's body fields as SuiteQL columns, from the metadata catalog (cached per connector)."""
        columns = self._columns.get(record_type)
        if columns is None:
            columns, seen = [], {"id"}
            for info in self.describe(record_type):
                column = info.name.lower()
                if info.type in ("sublist", "object") or column in seen or not COLUMN_NAME.fullmatch(column):
                    continue
                seen.add(column)
                columns.append(Column(info.name, column, info.type, f"c{len(columns)}"))
            self._columns[record_type] = columns
        return columns

    def _suiteql_bodies(self, record_type: str, head: str, tail: str, limit: int) -> tuple[list[dict], bool]:
        """One SuiteQL page with the body columns; a column SuiteQL does not know is dropped and the page re-read."""
        columns = self._body_columns(record_type)
        while True:
            select = ", ".join(column.select for column in columns)
            try:
                return self.suiteql(f"{head}, {select}{tail}" if select else head + tail, limit=limit)
            except ConnectorError as exc:
                unknown = _UNKNOWN_COLUMN.search(exc.message) if exc.kind == "validation" else None
                kept = [c for c in columns if unknown is None or c.column != unknown.group(1).lower()]
                if len(kept) == len(columns):
                    raise
                columns = self._columns[record_type] = kept

    def get_many(self, object: str, ids: list[str], sublists: bool | list[str] | None = None) -> list[RemoteRecord]:
        """Records by internal id (or "eid:<externalId>"); missing or unreadable ones are left out.

        Each is a full record GET, sublists included (`sublists` is accepted for symmetry with changes())."""
        records, _ = self._fetch_many(self.record_type(object), [str(i) for i in ids])
        return records
