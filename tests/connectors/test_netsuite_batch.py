"""Batch writes (NetSuite batch operations + async jobs) over real localhost HTTP against the emulator."""
from __future__ import annotations

import json

from connectors.netsuite import COLLECTION_CONTENT_TYPE, NetSuiteConnector
from connectors.sandbox import RunningEmulator
from connectors.sandbox.netsuite import DEMO_TBA
from tests.connectors.netsuite_fixtures import (  # noqa: F401
    FAST,
    emulator_of,
    ns_fixture,
    signed,
    tba_connector_fixture,
)

REC = "/services/rest/record/v1"
BATCH = {"Prefer": "respond-async", "Content-Type": COLLECTION_CONTENT_TYPE}


def statuses(running: RunningEmulator, method: str, pattern: str) -> list[int]:
    """Statuses of the logged API requests with this method whose path matches `pattern`, in order."""
    return [code for _, _, code in emulator_of(running).requests_matching(method, pattern)]


def batch(running: RunningEmulator, method: str, record_type: str, items: list, **headers: str):
    return signed(method, f"{running.url}{REC}/{record_type}", data=json.dumps({"items": items}),
                  headers={**BATCH, **headers})


# -- connector ---------------------------------------------------------------------------------------


def test_250_records_take_three_batch_requests_with_a_result_per_record_in_input_order(ns, tba_connector):
    rows = [{"externalId": f"B-{i:03d}", "companyName": f"Batch {i}"} for i in range(250)]
    rows[7]["emial"] = "typo@example.com"          # unknown field
    del rows[130]["companyName"]                    # missing required field
    rows[249]["priceLevel"] = {"id": "424242"}      # invalid reference
    before = len(ns.store.table("customer"))

    results = tba_connector.upsert_many("customer", rows, "externalId")

    assert statuses(ns, "PUT", r"record/v1/customer$") == [202, 202, 202]
    assert [r.key for r in results] == [row["externalId"] for row in rows]
    failed = {r.key: r.error for r in results if not r.ok}
    assert set(failed) == {"B-007", "B-130", "B-249"}
    assert all(e.kind == "validation" and e.permanent and e.status == 400 for e in failed.values())
    assert "INVALID_CONTENT at emial: Invalid field 'emial'" in failed["B-007"].message
    assert "USER_ERROR at companyName: Please enter value(s) for: Company Name" in failed["B-130"].message
    assert "USER_ERROR at priceLevel" in failed["B-249"].message
    assert failed["B-007"].details["o:errorDetails"][0]["o:errorCode"] == "INVALID_CONTENT"
    assert len(ns.store.table("customer")) == before + 247
    ok = [r for r in results if r.ok]
    assert all(r.created is None for r in ok)  # NetSuite's upsert does not say whether it created
    assert ns.store.table("customer")[ok[0].external_id]["externalId"] == "B-000"
    assert len({r.external_id for r in ok}) == 247


def test_upsert_batch_updates_existing_records_and_creates_new_ones(ns, tba_connector):
    existing = ns.store.table("_eid_customer")["CUST-1001"]
    before = len(ns.store.table("customer"))

    results = tba_connector.upsert_many("customer", [{"externalId": "CUST-1001", "phone": "+1 555 0199"},
                                                     {"externalId": "NEW-1", "companyName": "Newco"}], "externalId")

    assert [r.ok for r in results] == [True, True]
    assert results[0].external_id == existing
    assert ns.store.table("customer")[existing]["phone"] == "+1 555 0199"
    assert ns.store.table("customer")[existing]["companyName"] == "Acme Incorporated"  # untouched fields kept
    assert ns.store.table("customer")[results[1].external_id]["companyName"] == "Newco"
    assert len(ns.store.table("customer")) == before + 1
    assert statuses(ns, "PUT", r"record/v1/customer$") == [202]


def test_create_and_update_by_id_go_in_separate_batches_and_say_whether_they_created(ns, tba_connector):
    results = tba_connector.upsert_many("contact", [
        {"lastName": "New One"}, {"id": "100", "title": "Buyer"}, {"lastName": "New Two"},
        {"id": "999999", "title": "Ghost"}], "id")

    assert [(r.ok, r.created) for r in results[:3]] == [(True, True), (True, False), (True, True)]
    assert results[1].external_id == "100" and ns.store.table("contact")["100"]["title"] == "Buyer"
    assert not results[3].ok and results[3].error.kind == "not_found" and "NONEXISTENT_ID" in results[3].error.message
    assert statuses(ns, "POST", r"record/v1/contact$") == [202]
    assert statuses(ns, "PATCH", r"record/v1/contact$") == [202]


def test_sublists_in_a_batch_replace_the_lines(ns, tba_connector):
    line = {"item": {"externalId": "ITEM-WID-200"}, "quantity": 2, "rate": 10.0}
    orders = [{"externalId": f"DEAL-{i}", "entity": {"externalId": "CUST-1001"}, "item": [line, line]}
              for i in range(2)]
    tba_connector.upsert_many("salesOrder", orders, "externalId")

    results = tba_connector.upsert_many("salesOrder", [{**o, "item": [line]} for o in orders], "externalId")

    assert all(r.ok for r in results)
    assert [len(ns.store.table("salesOrder")[r.external_id]["item"]) for r in results] == [1, 1]
    assert statuses(ns, "PUT", r"record/v1/salesOrder$") == [202, 202]


def test_a_lost_answer_to_the_batch_request_is_retried_with_the_same_key_and_not_written_twice(ns, tba_connector):
    ns.set_faults(garble_next=1, garble_mode="html_502")  # the job is created, its 202 is replaced by a proxy's 502
    before = len(ns.store.table("customer"))

    results = tba_connector.upsert_many("customer", [{"companyName": f"Once {i}"} for i in range(3)], "id")

    assert [r.ok for r in results] == [True, True, True] and all(r.created for r in results)
    assert statuses(ns, "POST", r"record/v1/customer$") == [502, 400]  # 400 IDEMPOTENCY_ERROR names the first job
    assert len(ns.store.table("_async_jobs")) == 1
    assert len(ns.store.table("customer")) == before + 3
    names = [ns.store.table("customer")[r.external_id]["companyName"] for r in results]
    assert names == ["Once 0", "Once 1", "Once 2"]


def test_a_batch_refused_before_processing_is_retried_and_written_once(ns, tba_connector):
    ns.set_faults(fail_next=1, fail_status=503)
    before = len(ns.store.table("customer"))

    results = tba_connector.upsert_many("customer", [{"companyName": f"Retry {i}"} for i in range(2)], "id")

    assert all(r.ok for r in results)
    assert statuses(ns, "POST", r"record/v1/customer$") == [503, 202]
    assert len(ns.store.table("customer")) == before + 2


def test_429_on_the_batch_request_backs_off_and_completes(ns, tba_connector):
    ns.set_faults(fail_next=2, fail_status=429)

    results = tba_connector.upsert_many("contact", [{"externalId": f"R-{i}", "lastName": "Limited"}
                                                    for i in range(5)], "externalId")

    assert all(r.ok for r in results), [r.error for r in results if r.error]
    assert statuses(ns, "PUT", r"record/v1/contact$") == [429, 429, 202]
    assert len(ns.store.table("_async_jobs")) == 1


def test_a_job_that_never_completes_is_a_transient_timeout_naming_the_job(ns):
    ns.set_faults(async_stall=True)
    connector = NetSuiteConnector(ns.url, DEMO_TBA, **{**FAST, "poll_timeout": 0.1})

    results = connector.upsert_many("customer", [{"externalId": f"S-{i}", "companyName": "Stuck"} for i in range(3)],
                                    "externalId")

    assert [r.ok for r in results] == [False, False, False]
    error = results[0].error
    assert (error.kind, error.permanent) == ("timeout", False)
    assert "async job 1 " in error.message and "did not complete" in error.message
    assert error.details["job"] == "1" and error.details["idempotency_key"]
    assert len(statuses(ns, "GET", r"async/v1/job/1$")) >= 2  # polled with backoff, then gave up
    connector.close()


def test_a_job_that_completes_later_is_polled_until_done(ns, tba_connector):
    ns.set_faults(async_delay_ms=30)

    results = tba_connector.upsert_many("customer", [{"externalId": f"L-{i}", "companyName": "Later"}
                                                     for i in range(4)], "externalId")

    assert all(r.ok for r in results)
    assert len(statuses(ns, "GET", r"async/v1/job/1$")) >= 2
    assert statuses(ns, "GET", r"async/v1/job/1/task$") == [200]  # every result in one request


def test_a_batch_accepted_without_a_job_location_is_reported_not_guessed(ns, tba_connector):
    ns.set_faults(malformed=[{"path": "record/v1/customer$", "method": "POST", "mode": "no_location"}])

    results = tba_connector.upsert_many("customer", [{"companyName": "A"}, {"companyName": "B"}], "id")

    assert all(not r.ok and r.error.kind == "malformed" and r.error.permanent for r in results)
    assert "Location" in results[0].error.message
    assert statuses(ns, "POST", r"record/v1/customer$") == [202]


def test_a_single_record_still_uses_one_synchronous_request(ns, tba_connector):
    [result] = tba_connector.upsert_many("customer", [{"externalId": "ONE-1", "companyName": "Single"}],
                                         "externalId")

    assert result.ok
    assert statuses(ns, "PUT", r"customer/eid:ONE-1$") == [204]
    assert not ns.store.table("_async_jobs")


def test_batch_size_splits_batches_and_non_objects_fail_locally(ns):
    connector = NetSuiteConnector(ns.url, DEMO_TBA, batch_size=2, **FAST)

    results = connector.upsert_many("contact", [{"externalId": "K-1", "lastName": "A"}, "not a record",
                                                {"lastName": "no external id"}, {"externalId": "K-2", "lastName": "B"},
                                                {"externalId": "K-3", "lastName": "C"}], "externalId")

    assert [r.ok for r in results] == [True, False, False, True, True]
    assert results[1].error.kind == "validation" and "JSON object" in results[1].error.message
    assert "externalId is required" in results[2].error.message
    assert statuses(ns, "PUT", r"record/v1/contact$") == [202, 202]
    connector.close()


# -- emulator shapes ---------------------------------------------------------------------------------


def test_batch_answers_202_with_the_jobs_location_and_the_job_its_tasks_and_results(ns):
    response = batch(ns, "POST", "customer", [{"companyName": "Shape Ltd"}, {"companyName": "Bad", "emial": "x"}])

    assert response.status_code == 202 and response.content == b""
    assert response.headers["Preference-Applied"] == "respond-async"
    location = response.headers["Location"]
    assert location == "/services/rest/async/v1/job/1"
    job = signed("GET", f"{ns.url}{location}").json()
    assert {k: job[k] for k in ("id", "completed", "progress")} == {"id": "1", "completed": True, "progress": "failed"}
    assert job["links"] == [{"rel": "self", "href": f"{ns.url}{location}"}]
    assert job["task"]["links"][0]["href"] == f"{ns.url}{location}/task"
    tasks = signed("GET", f"{ns.url}{location}/task").json()
    assert tasks["count"] == 2 and [t["id"] for t in tasks["items"]] == ["1", "2"]
    assert [t["progress"] for t in tasks["items"]] == ["succeeded", "failed"]
    assert "result" not in tasks["items"][0]
    task = signed("GET", f"{ns.url}{location}/task/1").json()
    assert task["links"][0] == {"rel": "related", "href": f"{ns.url}{location}/task/1/result"}
    assert task["completed"] is True and task["startTime"] and task["endTime"]
    created = signed("GET", f"{ns.url}{location}/task/1/result").json()
    assert created["links"][0]["href"] == f"{ns.url}{REC}/customer/{created['id']}"
    refused = signed("GET", f"{ns.url}{location}/task/2/result").json()
    assert refused["status"] == 400 and refused["o:errorDetails"][0]["o:errorCode"] == "INVALID_CONTENT"
    expanded = signed("GET", f"{ns.url}{location}/task", params={"expandSubResources": "true"}).json()
    assert [t["result"] for t in expanded["items"]] == [created, refused]


def test_batch_without_prefer_respond_async_or_the_collection_type_is_refused(ns):
    no_prefer = signed("PUT", f"{ns.url}{REC}/customer", data=json.dumps({"items": [{"externalId": "P-1"}]}),
                       headers={"Content-Type": COLLECTION_CONTENT_TYPE})
    no_type = signed("PATCH", f"{ns.url}{REC}/customer", json={"items": [{"id": "100", "phone": "1"}]},
                     headers={"Prefer": "respond-async"})

    assert no_prefer.status_code == 400
    detail = no_prefer.json()["o:errorDetails"][0]
    assert (detail["o:errorCode"], detail["o:errorHeader"]) == ("INVALID_HEADER", "Prefer")
    assert "respond-async" in detail["detail"]
    assert no_type.status_code == 400 and no_type.json()["o:errorDetails"][0]["o:errorHeader"] == "Content-Type"
    assert not ns.store.table("_async_jobs")


def test_more_than_100_items_or_no_items_is_400_invalid_content(ns):
    too_many = batch(ns, "POST", "contact", [{"lastName": f"L{i}"} for i in range(101)])
    empty = batch(ns, "POST", "contact", [])

    for response in (too_many, empty):
        assert response.status_code == 400
        detail = response.json()["o:errorDetails"][0]
        assert (detail["o:errorCode"], detail["o:errorPath"]) == ("INVALID_CONTENT", "items")
    assert "at most 100" in too_many.json()["o:errorDetails"][0]["detail"]
    assert batch(ns, "POST", "contact", [{"lastName": f"L{i}"} for i in range(100)]).status_code == 202


def test_the_same_idempotency_key_returns_the_first_job_without_writing_again(ns):
    key = "cac827ea-3543-4cda-add2-bae634326c27"
    first = batch(ns, "POST", "contact", [{"lastName": "Once"}], **{"X-NetSuite-Idempotency-Key": key})
    count = len(ns.store.table("contact"))
    again = batch(ns, "POST", "contact", [{"lastName": "Once"}], **{"X-NetSuite-Idempotency-Key": key})

    assert first.status_code == 202
    assert again.status_code == 400 and again.headers["Location"] == first.headers["Location"]
    body = again.json()
    assert (body["title"], body["o:errorDetails"][0]["o:errorCode"]) == ("Conflict", "IDEMPOTENCY_ERROR")
    assert len(ns.store.table("contact")) == count


def test_batch_update_matches_by_id_first_then_external_id(ns):
    response = batch(ns, "PATCH", "customer", [
        {"id": "100", "externalId": "NEVER-SEEN", "phone": "by id"}, {"externalId": "CUST-1002", "phone": "by eid"},
        {"phone": "no key"}])

    tasks = signed("GET", f"{ns.url}{response.headers['Location']}/task", params={"expandSubResources": "true"}).json()
    assert [t["progress"] for t in tasks["items"]] == ["succeeded", "succeeded", "failed"]
    assert tasks["items"][0]["result"]["id"] == "100"  # the internal id wins (the externalId is then written)
    assert ns.store.table("customer")["100"]["phone"] == "by id"
    eid = ns.store.table("_eid_customer")["CUST-1002"]
    assert tasks["items"][1]["result"]["id"] == eid and ns.store.table("customer")[eid]["phone"] == "by eid"


def test_a_stalled_job_stays_pending_and_has_no_results_yet(ns):
    ns.set_faults(async_stall=True)
    location = batch(ns, "PUT", "contact", [{"externalId": "ST-1", "lastName": "Wait"}]).headers["Location"]

    job = signed("GET", f"{ns.url}{location}").json()
    assert (job["completed"], job["progress"]) == (False, "pending")
    assert signed("GET", f"{ns.url}{location}/task").json()["items"][0]["progress"] == "pending"
    assert signed("GET", f"{ns.url}{location}/task/1/result").status_code == 404
    assert "ST-1" not in ns.store.table("_eid_contact")
    ns.set_faults(async_stall=False)
    assert signed("GET", f"{ns.url}{location}").json()["progress"] == "succeeded"
    assert "ST-1" in ns.store.table("_eid_contact")


def test_unknown_job_is_404(ns):
    response = signed("GET", f"{ns.url}/services/rest/async/v1/job/999")

    assert response.status_code == 404 and response.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"


def test_a_single_create_with_prefer_respond_async_becomes_a_one_task_job(ns):
    response = signed("POST", f"{ns.url}{REC}/customer", json={"companyName": "Async Single"},
                      headers={"Prefer": "respond-async"})

    assert response.status_code == 202
    [task] = signed("GET", f"{ns.url}{response.headers['Location']}/task",
                    params={"expandSubResources": "true"}).json()["items"]
    assert task["progress"] == "succeeded"
    assert ns.store.table("customer")[task["result"]["id"]]["companyName"] == "Async Single"
