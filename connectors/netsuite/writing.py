"""Writing NetSuite: one record by a synchronous request, more by batch operations (async jobs, polled, their
tasks read back), each record's outcome its own WriteResult."""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests

from connectors.base import ConnectorError, WriteResult, error_message
from connectors.netsuite.records import RECORD_PATH, vendor_error
from connectors.netsuite.suiteql import SUITEQL_MAX_LIMIT

if TYPE_CHECKING:
    from connectors.http import HttpClient

ASYNC_JOB_PATH = "/services/rest/async/v1/job"
# Batch writes: at most 100 records of one type per request, answered 202 with the async job's Location.
BATCH_MAX = 100
COLLECTION_CONTENT_TYPE = "application/vnd.oracle.resource+json; type=collection"


class NetSuiteWrites:
    """NetSuiteConnector's write methods (mixed into it: they use its HTTP client, worker pool and batch and poll
    settings)."""

    http: HttpClient
    vendor: str
    batch_size: int
    poll_interval: float
    poll_max_interval: float
    poll_timeout: float

    def upsert_many(self, object: str, records: list[dict], id_field: str | None) -> list[WriteResult]:
        """Write the records with NetSuite's batch operations (one request per up to 100 records).

        `id_field="externalId"`: upsert (PUT, items carry externalId; NetSuite does not say whether it created, so
        `created` is None). `id_field="id"` (or None): update (PATCH, items carry id) when the record has an internal
        id, else create (POST). List values are sublists and replace the record's lines (`replace=<sublist>`), so
        records are batched by operation and by the sublists they replace. Batches run concurrently up to the
        account's limit; each is one async job (see `_write_batch`). A single record is written with one
        synchronous request instead (cheaper than submitting and polling a job).
        A problem with one record, or with its whole batch, becomes that record's `WriteResult.error`.
        """
        record_type = self.record_type(object)
        if id_field not in (None, "id", "externalId"):
            raise self.config_error(f"id_field must be 'id' or 'externalId' (or None), not {id_field!r}")
        if len(records) == 1:
            return [self._write_single(record_type, 0, records[0], id_field)]
        results: list[WriteResult | None] = [None] * len(records)
        groups: dict[tuple[str, tuple[str, ...]], list[tuple[int, str, dict[str, Any]]]] = {}
        for index, record in enumerate(records):
            key = _write_key(index, record, id_field)
            if not isinstance(record, dict):
                results[index] = WriteResult(False, None, key, error=ConnectorError(
                    "record must be a JSON object", kind="validation", permanent=True))
                continue
            fields = {k: v for k, v in record.items() if k not in ("id", "links")}
            if id_field == "externalId":
                if not fields.get("externalId"):
                    results[index] = WriteResult(False, None, key, error=ConnectorError(
                        "externalId is required for an upsert", kind="validation", permanent=True))
                    continue
                method = "PUT"
            elif record.get("id"):
                method = "PATCH"
                fields["id"] = str(record["id"])
            else:
                method = "POST"
            body, sublists = _to_body(fields)
            groups.setdefault((method, tuple(sublists) if method != "POST" else ()), []).append((index, key, body))
        batches = [(method, replace, entries[start:start + self.batch_size])
                   for (method, replace), entries in groups.items()
                   for start in range(0, len(entries), self.batch_size)]

        def run(method: str, replace: tuple[str, ...], entries: list[tuple[int, str, dict]]) -> list[WriteResult]:
            try:
                return self._write_batch(record_type, method, list(replace), entries)
            except ConnectorError as exc:
                error = vendor_error(exc)
                return [WriteResult(False, None, key, error=error) for _, key, _ in entries]

        for (_, _, entries), written in zip(batches, self._map(run, *zip(*batches, strict=True)) if batches else [],
                                            strict=True):
            for (index, _, _), result in zip(entries, written, strict=True):
                results[index] = result
        return [r for r in results if r is not None]

    def _write_single(self, record_type: str, index: int, record: Any, id_field: str | None) -> WriteResult:
        key = _write_key(index, record, id_field)
        try:
            if not isinstance(record, dict):
                raise ConnectorError("record must be a JSON object", kind="validation", permanent=True)
            return self._write_one(record_type, record, id_field, key)
        except ConnectorError as exc:
            return WriteResult(False, None, key, error=vendor_error(exc))

    def _write_batch(self, record_type: str, method: str, replace: list[str],
                     entries: list[tuple[int, str, dict[str, Any]]]) -> list[WriteResult]:
        """One batch request (POST create / PATCH update / PUT upsert), its async job awaited, one result per entry.

        The request carries `Prefer: respond-async`, the collection content type and an idempotency key made for
        this batch; the HTTP layer may repeat it (after a 5xx, a lost answer or a timeout) with the same key, and
        NetSuite then answers 400 IDEMPOTENCY_ERROR with the first job's Location, which is used: a retried batch is
        never written twice. The job is polled (at once, then with a doubling delay) until `completed`, then its
        tasks are read in one request with their results inlined (`expandSubResources=true`); task N is item N.
        Raises ConnectorError for a batch-level failure, kind "timeout" (transient) when the job does not complete
        within `poll_timeout`.
        """
        key = str(uuid.uuid4())
        headers = {"Prefer": "respond-async", "Content-Type": COLLECTION_CONTENT_TYPE,
                   "X-NetSuite-Idempotency-Key": key}
        response = self.http.request(method, f"{RECORD_PATH}/{record_type}", json={"items": [e[2] for e in entries]},
                                     headers=headers, params=_replace(replace), idempotent=True,
                                     allow_status=frozenset({400}))
        if response.status_code == 400 and not _idempotency_conflict(response):
            raise ConnectorError.from_response(response, vendor=self.vendor)
        job_id = _job_id(response)
        if job_id is None:
            raise ConnectorError.malformed(
                f"netsuite: batch {method} of {len(entries)} {record_type} records was accepted (HTTP "
                f"{response.status_code}) without a Location naming its job; idempotency key {key}",
                status=response.status_code)
        self._await_job(job_id, f"batch {method} of {len(entries)} {record_type} records", key)
        tasks = self._job_tasks(job_id)
        results = []
        for position, (_, match_key, item) in enumerate(entries, start=1):
            task = tasks.get(str(position))
            try:
                if task is None:
                    raise ConnectorError.malformed(f"netsuite: async job {job_id} has no task {position} for this "
                                                   "record", details={"job": job_id})
                results.append(self._task_result(job_id, method, record_type, match_key, item, task))
            except ConnectorError as exc:
                results.append(WriteResult(False, None, match_key, error=vendor_error(exc)))
        return results

    def _await_job(self, job_id: str, what: str, key: str) -> None:
        """Poll the job until it reports `completed`; a transient timeout error naming the job after poll_timeout."""
        deadline = time.monotonic() + self.poll_timeout
        delay = self.poll_interval
        while True:
            status = self.http.request_json("GET", f"{ASYNC_JOB_PATH}/{job_id}")
            if not isinstance(status, dict):
                raise ConnectorError.malformed(f"netsuite: async job {job_id} status is not a JSON object",
                                               details=status)
            if status.get("completed") is True:
                return
            if time.monotonic() + delay > deadline:
                raise ConnectorError(
                    f"netsuite: async job {job_id} ({what}) did not complete within {self.poll_timeout:g}s "
                    f"(progress {status.get('progress')!r}); it may still write them, look at "
                    f"{ASYNC_JOB_PATH}/{job_id} before writing them again", kind="timeout", permanent=False,
                    details={"job": job_id, "idempotency_key": key, "status": status})
            time.sleep(delay)
            delay = min(delay * 2, self.poll_max_interval)

    def _job_tasks(self, job_id: str) -> dict[str, dict[str, Any]]:
        """The completed job's tasks by id, with results inlined (one request per 1000 tasks)."""
        tasks: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            envelope = self.http.request_json("GET", f"{ASYNC_JOB_PATH}/{job_id}/task", params={
                "expandSubResources": "true", "limit": SUITEQL_MAX_LIMIT, "offset": offset})
            items = envelope.get("items") if isinstance(envelope, dict) else None
            if not isinstance(items, list):
                raise ConnectorError.malformed(f"netsuite: the task list of async job {job_id} is not a collection",
                                               details=envelope)
            for task in items:
                if isinstance(task, dict) and task.get("id") is not None:
                    tasks[str(task["id"])] = task
            if not envelope.get("hasMore") or not items:
                return tasks
            offset += len(items)

    def _task_result(self, job_id: str, method: str, record_type: str, key: str, item: dict[str, Any],
                     task: dict[str, Any]) -> WriteResult:
        """One record's outcome from its task: the written record's id, or the vendor's error."""
        result = task.get("result")
        if result is None:  # not inlined: read the task's result resource
            result = self.http.request_json("GET", f"{ASYNC_JOB_PATH}/{job_id}/task/{task['id']}/result")
        if not isinstance(result, dict):
            raise ConnectorError.malformed(f"netsuite: async job {job_id} task {task.get('id')} has no result",
                                           details=task)
        if task.get("progress") != "succeeded":
            status = result.get("status") if isinstance(result.get("status"), int) else 400
            raise ConnectorError.for_status(status, f"netsuite HTTP {status}: {error_message(result)}",
                                            details=result)
        internal_id = result.get("id") or _self_link_id(result) or (item.get("id") if method == "PATCH" else None)
        if not internal_id:
            raise ConnectorError.malformed(f"netsuite: async job {job_id} wrote {record_type} {key} but its result "
                                           "has no id; do not retry blindly", details=result)
        return WriteResult(True, str(internal_id), key, created={"POST": True, "PATCH": False}.get(method))

    def _write_one(self, record_type: str, record: dict, id_field: str | None, key: str) -> WriteResult:
        path = f"{RECORD_PATH}/{record_type}"
        fields = {k: v for k, v in record.items() if k not in ("id", "links")}
        if id_field == "externalId":
            external = fields.pop("externalId", None)
            if not external:
                raise ConnectorError("externalId is required for an upsert", kind="validation", permanent=True)
            body, sublists = _to_body(fields)
            ref = f"eid:{external}"
            response = self.http.request("PUT", f"{path}/{quote(ref, safe=':')}", json=body,
                                         params=_replace(sublists))
            internal_id = _location_id(response) or self._internal_id(record_type, ref)
            return WriteResult(True, internal_id, key, created=None)
        body, sublists = _to_body(fields)
        if record.get("id"):
            self.http.request("PATCH", f"{path}/{record['id']}", json=body, params=_replace(sublists))
            return WriteResult(True, str(record["id"]), key, created=False)
        response = self.http.request("POST", path, json=body)
        internal_id = _location_id(response)
        if internal_id is None:
            raise ConnectorError.malformed(
                f"netsuite: created {record_type} but the response has no Location with its id; "
                "do not retry blindly (it may duplicate the record)", status=response.status_code)
        return WriteResult(True, internal_id, key, created=True)

    def _internal_id(self, record_type: str, ref: str) -> str:
        """Look up the internal id of a record addressed by eid: (when a response omitted Location)."""
        body = self.http.request_json("GET", f"{RECORD_PATH}/{record_type}/{quote(ref, safe=':')}",
                                      params={"fields": "id"})
        if not isinstance(body, dict) or not body.get("id"):
            raise ConnectorError.malformed(f"netsuite: {record_type} {ref} has no id", details=body)
        return str(body["id"])


def _to_body(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A caller's record -> NetSuite request body; lists become sublists, which are replaced, not merged."""
    body: dict[str, Any] = {}
    sublists = []
    for name, value in record.items():
        if isinstance(value, list):
            body[name] = {"items": value}
            sublists.append(name)
        else:
            body[name] = value
    return body, sublists


def _location_id(response: requests.Response) -> str | None:
    """The internal id at the end of a `Location` header (".../customer/107" -> "107")."""
    location = response.headers.get("Location", "")
    last = urlsplit(location).path.rstrip("/").rpartition("/")[2]
    return last if last and not last.startswith("eid:") else None


def _write_key(index: int, record: Any, id_field: str | None) -> str:
    """The caller's match key of a record: its id_field value, else its position."""
    if isinstance(record, dict) and id_field and record.get(id_field):
        return str(record[id_field])
    return str(index)


def _job_id(response: requests.Response) -> str | None:
    """The async job id at the end of a `Location` header ("/services/rest/async/v1/job/42" -> "42")."""
    location = urlsplit(response.headers.get("Location", "")).path.rstrip("/")
    head, _, last = location.rpartition("/")
    return last if last and head.endswith("/job") else None


def _idempotency_conflict(response: requests.Response) -> bool:
    """A 400 saying the idempotency key was used already (the Location header names that request's job)."""
    try:
        body = response.json()
    except ValueError:
        return False
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    return isinstance(details, list) and any(isinstance(d, dict) and d.get("o:errorCode") == "IDEMPOTENCY_ERROR"
                                             for d in details) and _job_id(response) is not None


def _self_link_id(body: dict[str, Any]) -> str | None:
    """The last path segment of a body's `self` link."""
    for link in body.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
            return urlsplit(str(link["href"])).path.rstrip("/").rpartition("/")[2] or None
    return None


def _replace(sublists: list[str]) -> dict[str, str] | None:
    """The `replace` query parameter that makes the given sublists exactly the lines we send."""
    return {"replace": ",".join(sublists)} if sublists else None
