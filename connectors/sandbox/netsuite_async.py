"""Batch writes and asynchronous jobs of the NetSuite emulator (mixed into `NetSuiteEmulator`).

From Oracle's help ("Batch Operations", "REST Web Services Request Processing", "Sending an Asynchronous Request",
"Sending an Asynchronous Request Using an Idempotency Key", "Polling for the Status of a Completed Asynchronous
Request", "Getting the Result of an Executed Request"):
- a batch is `POST` (create), `PATCH` (update) or `PUT` (upsert) on `/services/rest/record/v1/{type}` with headers
  `Prefer: respond-async` and `Content-Type: application/vnd.oracle.resource+json; type=collection` and the body
  `{"items": [{...record...}, ...]}`, at most 100 items of one record type; PATCH items carry an internal `id` or an
  `externalId` (the internal id wins when both are given), PUT items an `externalId` (PUT supports only external ids);
- the answer is `202 Accepted`, `Preference-Applied: respond-async`, `Location: /services/rest/async/v1/job/{id}`;
- `GET /services/rest/async/v1/job/{id}` -> `{"links": [self], "completed", "id", "progress", "task": {"links":
  [self -> .../job/{id}/task]}}`; `GET .../job/{id}/task/{taskId}` -> `{"links": [related -> .../result, self],
  "completed", "endTime", "id", "progress", "startTime"}`; `GET .../task/{taskId}/result` -> the task's result;
- `X-NetSuite-Idempotency-Key`: a second request with a key already used is refused with 400 (title "Conflict",
  `o:errorCode` IDEMPOTENCY_ERROR) and a `Location` header naming the job of the first request; nothing is written.

Our reading where the docs are silent:
- one task per item, task ids "1".."N" in item order; a job's `progress` is "pending" until it ran, then
  "succeeded" when every task succeeded, else "failed" (each task says which: "succeeded" or "failed");
- a task's result is what the synchronous request would have answered: after a write `{"links": [{"rel": "self",
  "href": <the record's URL, the synchronous Location>}], "id": <internal id>}`; after a refused write the RFC 9457
  problem document (`status`, `o:errorDetails`) the synchronous request would have got;
- `GET .../job/{id}/task` is a collection envelope (limit/offset, at most 1000) of task objects; with
  `expandSubResources=true` each task also carries its `result`, so a client reads a whole batch's outcome in one
  request instead of one per record;
- without `Prefer: respond-async` a collection body is refused: 400 INVALID_HEADER at `Prefer` (POST/PATCH/PUT);
  a batch without the collection content type is refused: 400 INVALID_HEADER at `Content-Type` (PATCH/PUT; a POST
  without it is an ordinary create, or with `Prefer: respond-async` a one-task job of that one record);
- more than 100 items, an empty list or a body without an `items` list -> 400 INVALID_CONTENT at `items`;
- `replace=<sublist>` applies to every item of a PATCH/PUT batch, as on a single write.
Knobs: `async_delay_ms` (0: the job runs inside the submitting request; else it runs on the first poll after the
delay), `async_stall` (true: jobs stay "pending" forever, a stuck async processor). Single-record PATCH/PUT with
`Prefer: respond-async` are not emulated (they run synchronously, as without the header).
"""
from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.sandbox.netsuite_schema import REST
from connectors.sandbox.server import HttpError, Request, Response, json_response, route

ASYNC = f"{REST}/async/v1/job"
COLLECTION_TYPE = "application/vnd.oracle.resource+json; type=collection"
MAX_BATCH = 100
IDEMPOTENCY_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def is_collection(request: Request) -> bool:
    """Whether the body is declared a collection (`type=collection`, spaces and case ignored)."""
    value = request.headers.get("Content-Type", "").lower().replace(" ", "")
    return value.startswith("application/vnd.oracle.resource+json") and "type=collection" in value


def prefers_async(request: Request) -> bool:
    return any(part.strip().lower() == "respond-async" for part in request.headers.get("Prefer", "").split(","))


class AsyncJobs:
    """Routes and job store for batch writes; needs the host emulator's `_save`, `_find`, `_existing`, `_href`."""

    async_knobs: ClassVar[dict[str, Any]] = {"async_delay_ms": 0, "async_stall": False}

    # -- submitting ----------------------------------------------------------------------------

    def _problem(self, status: int, detail: str, code: str, **pointers: str) -> HttpError:
        from connectors.sandbox.netsuite import problem
        return problem(status, detail, code, **pointers)

    def submit_batch(self, request: Request, record_type: str, method: str) -> Response:
        """Validate a batch request and queue (or run) its job; 202 + Location."""
        self._schema(record_type)  # type: ignore[attr-defined]
        if not prefers_async(request):
            raise self._problem(400, "Batch operations are executed asynchronously: the request must carry the "
                                "header 'Prefer: respond-async'.", "INVALID_HEADER", errorHeader="Prefer")
        if method != "POST" and not is_collection(request):
            raise self._problem(400, f"A batch request must have the content type '{COLLECTION_TYPE}'.",
                                "INVALID_HEADER", errorHeader="Content-Type")
        key = request.headers.get("X-NetSuite-Idempotency-Key")
        jobs = self.store.table("_async_jobs")  # type: ignore[attr-defined]
        if key:
            previous = self.store.table("_async_keys").get(key)  # type: ignore[attr-defined]
            if previous is not None:
                return self._idempotency_conflict(previous)
        body = request.json()
        if is_collection(request):
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list) or not items:
                raise self._problem(400, "The request body must be an object with a non-empty 'items' list.",
                                    "INVALID_CONTENT", errorPath="items")
            if len(items) > MAX_BATCH:
                raise self._problem(400, f"A batch request can contain at most {MAX_BATCH} records; this one has "
                                    f"{len(items)}.", "INVALID_CONTENT", errorPath="items")
        else:
            items = [body]
        job_id = str(self.store.next_id("netsuite:asyncjob", start=1))  # type: ignore[attr-defined]
        delay = float(self.knobs["async_delay_ms"]) / 1000  # type: ignore[attr-defined]
        jobs[job_id] = {
            "id": job_id, "type": record_type, "method": method, "items": items, "replace": request.args("replace"),
            "href": self._href(request, record_type),  # type: ignore[attr-defined]
            "due": time.time() + delay, "completed": False, "progress": "pending", "tasks": [],
            "startTime": None, "endTime": None, "key": key,
        }
        if key:
            self.store.table("_async_keys")[key] = job_id  # type: ignore[attr-defined]
        self._advance(jobs[job_id])
        return Response(202, headers={"Preference-Applied": "respond-async", "Content-Type": "application/json",
                                      "Location": f"{ASYNC}/{job_id}"})

    def _idempotency_conflict(self, job_id: str) -> Response:
        payload = {"type": IDEMPOTENCY_TYPE, "title": "Conflict", "status": 400, "o:errorDetails": [{
            "detail": 'A request with the same idempotency key is already submitted. See the "Location" header '
                      "for a link to the previously submitted job", "o:errorCode": "IDEMPOTENCY_ERROR"}]}
        return json_response(400, payload, {"Preference-Applied": "respond-async", "Location": f"{ASYNC}/{job_id}"})

    # -- running -------------------------------------------------------------------------------

    def _advance(self, job: dict[str, Any]) -> None:
        """Run a pending job once it is due (never while `async_stall` is set)."""
        if job["completed"] or self.knobs["async_stall"] or time.time() < job["due"]:  # type: ignore[attr-defined]
            return
        job["startTime"] = _now()
        tasks = []
        for number, item in enumerate(job["items"], start=1):
            started = _now()
            try:
                record_id = self._write_item(job["type"], job["method"], item, set(job["replace"]))
                result = {"links": [{"rel": "self", "href": f"{job['href']}/{record_id}"}], "id": record_id}
                progress = "succeeded"
            except HttpError as exc:
                result = self.error_payload(exc.status, exc.message, exc.category, exc.extra)  # type: ignore
                progress = "failed"
            tasks.append({"id": str(number), "progress": progress, "startTime": started, "endTime": _now(),
                          "result": result})
        job.update(tasks=tasks, completed=True, endTime=_now(), items=[],
                   progress="succeeded" if all(t["progress"] == "succeeded" for t in tasks) else "failed")
        self.store.changed()  # type: ignore[attr-defined]

    def _write_item(self, record_type: str, method: str, item: Any, replace: set[str]) -> str:
        """One item of a batch, with the same validation as the single-record request."""
        save = self._save  # type: ignore[attr-defined]
        if not isinstance(item, dict):
            raise self._problem(400, "Each item must be a JSON object.", "INVALID_CONTENT")
        if method == "POST":
            return save(record_type, item, None, None, set())
        external = item.get("externalId")
        if method == "PATCH":
            if item.get("id") in (None, "") and not external:
                raise self._problem(400, "Each item of a batch update must carry its internal 'id' or 'externalId'.",
                                    "INVALID_CONTENT", errorPath="id")
            ref = str(item["id"]) if item.get("id") not in (None, "") else f"eid:{external}"
            record_id, row = self._existing(record_type, ref)  # type: ignore[attr-defined]
            body = {k: v for k, v in item.items() if k != "id"}
            return save(record_type, body, record_id, row, replace)
        if not external or not isinstance(external, str):
            raise self._problem(400, "Each item of a batch upsert must carry its 'externalId'.", "INVALID_CONTENT",
                                errorPath="externalId")
        body = {k: v for k, v in item.items() if k not in ("externalId", "id")}
        found = self._find(record_type, f"eid:{external}")  # type: ignore[attr-defined]
        if found is None:
            return save(record_type, body, None, None, set(), external_id=external)
        return save(record_type, body, found[0], found[1], replace)

    # -- reading jobs --------------------------------------------------------------------------

    def _job(self, request: Request) -> dict[str, Any]:
        job = self.store.table("_async_jobs").get(request.group("job"))  # type: ignore[attr-defined]
        if job is None:
            raise self._problem(404, "The asynchronous job does not exist.", "NONEXISTENT_ID",
                                errorUrl=request.path)
        self._advance(job)
        return job

    def _host(self, request: Request) -> str:
        return f"http://{request.headers.get('Host', '')}"

    def _task(self, request: Request, job: dict[str, Any], task: dict[str, Any], *, result: bool) -> dict[str, Any]:
        href = f"{self._host(request)}{ASYNC}/{job['id']}/task/{task['id']}"
        shown = {"links": [{"rel": "related", "href": f"{href}/result"}, {"rel": "self", "href": href}],
                 "completed": task["progress"] != "pending", "id": task["id"], "progress": task["progress"]}
        for name in ("startTime", "endTime"):
            if task.get(name):
                shown[name] = task[name]
        if result and "result" in task:
            shown["result"] = task["result"]
        return shown

    def _tasks(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        if job["completed"]:
            return job["tasks"]
        return [{"id": str(n), "progress": "pending"} for n in range(1, len(job["items"]) + 1)]

    @route("GET", rf"{ASYNC}/(?P<job>\d+)")
    def async_job(self, request: Request) -> Response:
        """The job's status."""
        job = self._job(request)
        href = f"{self._host(request)}{ASYNC}/{job['id']}"
        body = {"links": [{"rel": "self", "href": href}], "completed": job["completed"], "id": job["id"],
                "progress": job["progress"], "task": {"links": [{"rel": "self", "href": f"{href}/task"}]}}
        for name in ("startTime", "endTime"):
            if job.get(name):
                body[name] = job[name]
        return json_response(200, body)

    @route("GET", rf"{ASYNC}/(?P<job>\d+)/task/?")
    def async_tasks(self, request: Request) -> Response:
        """The job's tasks as a collection; `expandSubResources=true` inlines each task's result."""
        job = self._job(request)
        expand = request.arg("expandSubResources") == "true"
        items = [self._task(request, job, task, result=expand) for task in self._tasks(job)]
        return self._collection(request, items, f"{self._host(request)}{ASYNC}/{job['id']}/task")  # type: ignore

    def _one_task(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        job = self._job(request)
        task = next((t for t in self._tasks(job) if t["id"] == request.group("task")), None)
        if task is None:
            raise self._problem(404, "The task does not exist.", "NONEXISTENT_ID", errorUrl=request.path)
        return job, task

    @route("GET", rf"{ASYNC}/(?P<job>\d+)/task/(?P<task>\d+)")
    def async_task(self, request: Request) -> Response:
        job, task = self._one_task(request)
        return json_response(200, self._task(request, job, task, result=False))

    @route("GET", rf"{ASYNC}/(?P<job>\d+)/task/(?P<task>\d+)/result")
    def async_task_result(self, request: Request) -> Response:
        """The task's result (a record link and id, or the problem document); 404 until the task ran."""
        _, task = self._one_task(request)
        if "result" not in task:
            raise self._problem(404, "The task has not completed yet; its result is not available.",
                                "NONEXISTENT_ID", errorUrl=request.path)
        return json_response(200, task["result"])
