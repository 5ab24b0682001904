"""The data-quality page: held fields by cause, filtered, exported, replayed; on the record and run pages."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from integration_hub.records.models import Record
from integration_hub.sync import tasks
from integration_hub.sync.models import HeldField, SyncRun
from mapping.models import FieldRule, ObjectMapping, RuleSetVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(crm_system, erp_system):
    return ObjectMapping.objects.create(entity_type="account", crm_system=crm_system, erp_system=erp_system,
                                        crm_object="companies", erp_object="customer")


@pytest.fixture
def contacts(crm_system, erp_system):
    return ObjectMapping.objects.create(entity_type="contact", crm_system=crm_system, erp_system=erp_system,
                                        crm_object="contacts", erp_object="contact")


@pytest.fixture
def run(accounts):
    return SyncRun.objects.create(mapping=accounts, trigger="schedule", status="succeeded")


@pytest.fixture
def acme():
    return Record.objects.create(entity_type="account", display_name="Acme Ltd", values={"name": "Acme Ltd"})


def hold(mapping, external_id: str, field: str, value, reason: str, *, side: str = "crm", record=None, run=None,
         cleared: bool = False, age_minutes: int = 0) -> HeldField:
    when = timezone.now() - timedelta(minutes=age_minutes)
    system = mapping.crm_system if side == "crm" else mapping.erp_system
    return HeldField.objects.create(
        mapping=mapping, side=side, system=system, external_id=external_id, record=record, field=field, value=value,
        reason=reason, run=run, first_seen_at=when, last_seen_at=when,
        cleared_at=timezone.now() if cleared else None, cleared_because="the value passes its rule now" if cleared
        else "")


def rows(html: str) -> list[str]:
    """The held fields' table rows, as text."""
    table = re.search(r'<table[^>]*id="held-fields".*?</table>', html, re.S)
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", table.group(0), re.S).group(1) if table else ""
    return [unescape(re.sub(r"<[^>]+>", " ", row)) for row in re.findall(r"<tr.*?</tr>", body, re.S)
            if "data-held" in row]


def causes(html: str) -> dict[str, tuple[int, str]]:
    """The causes summary: label -> (count, the link's query)."""
    found = re.findall(r'<tr data-cause="([^"]*)"><td><a href="\?([^"]*)">.*?<td class="count">(\d+)</td>', html,
                       re.S)
    return {unescape(label): (int(count), unescape(query)) for label, query, count in found}


def test_the_list_shows_names_the_value_as_read_the_reason_and_the_run(client, viewer_user, accounts, run, acme):
    hold(accounts, "1017", "phone", "555-1234", "'555-1234' is not a phone number", record=acme, run=run)
    hold(accounts, "2042", "currency", "ZZZ", "'ZZZ' is not an ISO 4217 currency code", side="erp", run=run)
    hold(accounts, "1018", "phone", "12", "'12' is not a phone number", cleared=True)
    client.force_login(viewer_user)

    html = client.get("/data-quality/").content.decode()

    listed = rows(html)
    assert len(listed) == 2  # a cleared field is not listed unless asked for
    phone = next(r for r in listed if "phone" in r)
    assert "Acme Ltd" in phone and "1017" in phone and "Demo CRM" in phone and "CRM" in phone
    assert "555-1234" in phone and "'555-1234' is not a phone number" in phone and f"sync-run:{run.pk}" in phone
    assert f'href="/records/{acme.pk}/"' in html and f'href="/sync-runs/{run.pk}/"' in html
    currency = next(r for r in listed if "currency" in r)
    assert "no golden record yet" in currency and "Demo ERP" in currency and "ERP" in currency
    assert "Account: companies ↔ customer" in html  # the mapping by name
    # A viewer sees, and cannot replay.
    assert 'name="select"' not in html and 'id="replay"' not in html and "Replay…" not in html

    everything = rows(client.get("/data-quality/?status=all").content.decode())
    assert len(everything) == 3 and any("cleared" in r and "the value passes its rule now" in r for r in everything)
    assert len(rows(client.get("/data-quality/?status=cleared").content.decode())) == 1


def test_filters_narrow_the_list(client, viewer_user, accounts, contacts, run, erp_system):
    hold(accounts, "1", "phone", "555", "'555' is not a phone number", run=run)
    hold(accounts, "2", "currency", "ZZZ", "'ZZZ' is not an ISO 4217 currency code", side="erp")
    hold(contacts, "3", "phone", "call me", "'call me' is not a phone number")
    hold(contacts, "4", "email", "x@", "'x@' is not an email address")
    client.force_login(viewer_user)

    def count(query: str) -> int:
        return len(rows(client.get(f"/data-quality/?{query}").content.decode()))

    assert count("") == 4
    assert count("field=phone") == 2
    assert count("reason=ISO+4217") == 1
    assert count(f"system={erp_system.pk}") == 1
    assert count("side=erp") == 1
    assert count(f"mapping={contacts.pk}") == 2
    assert count(f"mapping={contacts.pk}&field=phone") == 1
    assert count(f"run={run.pk}") == 1
    assert count("cause=… is not a phone number") == 2


def test_a_filter_that_is_no_id_says_so(client, viewer_user, accounts):
    hold(accounts, "1", "phone", "555", "'555' is not a phone number")
    client.force_login(viewer_user)
    for query in ("run=abc", "run=" + "9" * 40, "record=-3", "system=999"):
        response = client.get(f"/data-quality/?{query}")
        assert response.status_code == 200, query
        assert 'id="filter-errors"' in response.content.decode() and not rows(response.content.decode())


def test_causes_group_the_reasons_without_their_values_and_link_to_the_list(client, viewer_user, accounts,
                                                                             contacts):
    for n, number in enumerate(["555-1234", "7 digits", "0800 FLOWERS"]):
        hold(accounts, f"10{n}", "phone", number, f"{number!r} is not a phone number", age_minutes=n)
    hold(contacts, "200", "phone", "12", "'12' is not a phone number")
    hold(accounts, "300", "credit_limit", {"amount": "5000", "currency": None}, "amount 5000 has no currency")
    hold(accounts, "301", "credit_limit", {"amount": "70", "currency": None}, "amount 70 has no currency")
    hold(accounts, "400", "name", "x" * 90, f"{'x' * 40!r}… (90 characters) is longer than 80 characters")
    client.force_login(viewer_user)

    summary = causes(client.get("/data-quality/").content.decode())

    assert {label: n for label, (n, _) in summary.items()} == {
        "phone: … is not a phone number": 4,
        "credit_limit: amount … has no currency": 2,
        "name: … is longer than … characters": 1,
    }
    assert list(summary)[0] == "phone: … is not a phone number"  # the most frequent first
    money = rows(client.get("/data-quality/?field=credit_limit").content.decode())
    assert any('{"amount": "5000", "currency": null}' in r for r in money)  # as read, not as money
    # Each cause opens the list of exactly its held fields, and the list's causes are then that one.
    for label, (n, query) in summary.items():
        html = client.get(f"/data-quality/?{query}").content.decode()
        assert len(rows(html)) == n, label
        assert list(causes(html)) == [label]
    # Within a filter, the causes count what the filter keeps.
    within = causes(client.get(f"/data-quality/?mapping={contacts.pk}").content.decode())
    assert {label: n for label, (n, _) in within.items()} == {"phone: … is not a phone number": 1}


def test_the_causes_follow_what_changes_between_two_looks(client, viewer_user, accounts):
    first = hold(accounts, "1", "phone", "555", "'555' is not a phone number", age_minutes=5)
    hold(accounts, "2", "phone", "556", "'556' is not a phone number", age_minutes=5)
    client.force_login(viewer_user)

    def summary() -> dict[str, int]:
        return {label: n for label, (n, _) in causes(client.get("/data-quality/").content.decode()).items()}

    assert summary() == {"phone: … is not a phone number": 2}
    HeldField.objects.filter(pk=first.pk).update(cleared_at=timezone.now())  # the source was fixed
    assert summary() == {"phone: … is not a phone number": 1}
    HeldField.objects.filter(pk=first.pk).update(  # held again, for another reason
        cleared_at=None, reason="'555' is too short", last_seen_at=timezone.now())
    assert summary() == {"phone: … is not a phone number": 1, "phone: … is too short": 1}
    hold(accounts, "3", "email", "x@", "'x@' is not an email address")
    assert summary()["email: … is not an email address"] == 1


def test_the_csv_has_the_filtered_rows_and_no_formulas(client, viewer_user, accounts, acme, run):
    hold(accounts, "1017", "phone", "=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")' is not a phone",
         record=acme, run=run)
    hold(accounts, "1018", "phone", "555", "'555' is not a phone number")
    hold(accounts, "2042", "currency", "ZZZ", "'ZZZ' is not an ISO 4217 currency code", side="erp")
    client.force_login(viewer_user)

    response = client.get("/data-quality/export.csv?field=phone")

    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(table) == 2 and {r["vendor id"] for r in table} == {"1017", "1018"}
    evil = next(r for r in table if r["vendor id"] == "1017")
    assert evil["value as read"] == "'=HYPERLINK(\"http://evil\")"  # shown as text, never run as a formula
    assert evil["record"] == "Acme Ltd" and evil["record id"] == str(acme.pk) and evil["system"] == "Demo CRM"
    assert evil["sync run"] == str(run.pk) and evil["status"] == "held" and evil["side"] == "crm"
    plain = next(r for r in table if r["vendor id"] == "1018")
    assert plain["reason"] == "'555' is not a phone number" and plain["cause"] == "phone: … is not a phone number"
    # The page links the export of what it shows.
    html = client.get("/data-quality/?field=phone&page=1").content.decode()
    assert 'href="/data-quality/export.csv?field=phone"' in html


def test_viewers_do_not_see_a_sensitive_fields_value(client, viewer_user, revops_user, accounts, acme):
    version = RuleSetVersion.objects.create(mapping=accounts, number=1)
    FieldRule.objects.create(version=version, field="tax_id", system_of_record="erp", sensitive=True,
                             crm_path="tax_id", erp_path="vatRegNumber")
    RuleSetVersion.objects.filter(pk=version.pk).update(status="published")  # frozen from here on
    accounts.published_version = version
    accounts.save()
    hold(accounts, "1017", "tax_id", "DE-123-SECRET", "'DE-123-SECRET' is not a VAT number", record=acme)

    client.force_login(viewer_user)
    for body in (client.get("/data-quality/").content.decode(),
                 b"".join(client.get("/data-quality/export.csv").streaming_content).decode(),
                 client.get(f"/records/{acme.pk}/").content.decode()):
        assert "SECRET" not in body and "… is not a VAT number" in body
    client.force_login(revops_user)
    assert "DE-123-SECRET" in client.get("/data-quality/").content.decode()


def test_the_record_page_lists_its_held_fields(client, viewer_user, revops_user, accounts, acme, run):
    hold(accounts, "1017", "phone", "555-1234", "'555-1234' is not a phone number", record=acme, run=run)
    hold(accounts, "1017", "fax", "1", "'1' is not a phone number", record=acme, cleared=True)
    hold(accounts, "9999", "phone", "other", "'other' is not a phone number")
    client.force_login(viewer_user)

    html = client.get(f"/records/{acme.pk}/").content.decode()

    section = re.search(r'<table class="hub-table" id="record-held-fields">.*?</table>', html, re.S).group(0)
    text = unescape(re.sub(r"<[^>]+>", " ", section))
    assert "phone" in text and "CRM (Demo CRM)" in text and "555-1234" in text
    assert "'555-1234' is not a phone number" in text and f"sync-run:{run.pk}" in text
    assert "fax" not in text and "other" not in text  # cleared, or another record's
    assert 'id="replay-record-held"' not in html  # viewers do not replay
    client.force_login(revops_user)
    html = client.get(f"/records/{acme.pk}/").content.decode()
    form = re.search(r'<form method="post" action="([^"]*)">(?:(?!</form>).)*id="replay-record-held"', html, re.S)
    confirm = unescape(client.post(unescape(form.group(1)), {"all": "1"}).content.decode())
    assert "Replay 1 held field" in confirm and "reads <strong>1</strong> vendor record again" in confirm
    client.force_login(viewer_user)
    other = Record.objects.create(entity_type="account", display_name="Clean Co")
    assert 'id="record-held-fields"' not in client.get(f"/records/{other.pk}/").content.decode()


def test_the_run_page_lists_the_held_fields_the_run_found(client, viewer_user, accounts, run):
    for n in range(3):
        hold(accounts, f"10{n}", "phone", str(n), f"'{n}' is not a phone number", run=run)
    hold(accounts, "200", "currency", "ZZZ", "'ZZZ' is no currency", run=run, cleared=True)
    hold(accounts, "300", "phone", "9", "'9' is not a phone number")  # found by another run
    client.force_login(viewer_user)

    html = unescape(client.get(f"/sync-runs/{run.pk}/").content.decode())

    assert re.search(r'id="run-held-count">4<', html) and "(3 still held)" in html
    link = re.search(r'href="([^"]*)" id="run-held-link"', html).group(1)
    assert len(rows(client.get(link).content.decode())) == 4
    assert "phone: … is not a phone number</a> — 3" in html
    quiet = SyncRun.objects.create(mapping=accounts, trigger="schedule", status="succeeded")
    assert 'id="held-fields"' not in client.get(f"/sync-runs/{quiet.pk}/").content.decode()


def test_who_sees_and_who_replays(client, roleless_user, viewer_user, finance_user, revops_user, accounts):
    held = hold(accounts, "1", "phone", "555", "'555' is not a phone number")
    client.force_login(roleless_user)
    assert client.get("/data-quality/").status_code == 403
    assert client.get("/data-quality/export.csv").status_code == 403
    for user in (viewer_user, finance_user):
        client.force_login(user)
        assert client.get("/data-quality/").status_code == 200
        assert client.post("/data-quality/replay/", {"select": held.pk}).status_code == 403
        assert client.post("/data-quality/replay/start/", {"select": held.pk}).status_code == 403
    assert not SyncRun.objects.exists()
    client.logout()
    assert client.get("/data-quality/").status_code == 302  # to sign in
    client.force_login(revops_user)
    html = client.get("/data-quality/").content.decode()
    assert 'name="select"' in html and 'id="replay"' in html and "Replay…" in html
    assert 'href="/data-quality/"' in html  # in the navigation


def test_replay_needs_a_choice_and_skips_what_cleared(client, revops_user, accounts):
    cleared = hold(accounts, "1", "phone", "555", "'555' is not a phone number", cleared=True)
    client.force_login(revops_user)
    page = client.post("/data-quality/replay/", {}, follow=True).content.decode()
    assert "Tick the held fields to replay" in page
    confirm = client.post("/data-quality/replay/", {"select": cleared.pk}).content.decode()
    assert 'id="replay-nothing"' in confirm and 'id="confirm"' not in confirm
    page = client.post("/data-quality/replay/start/", {"select": cleared.pk}, follow=True).content.decode()
    assert "Nothing to replay" in page and not SyncRun.objects.exists()


@pytest.fixture
def eager(monkeypatch):
    """Tasks sent to the broker run in-process instead (the worker itself is tested in tests/sync/test_worker.py)."""
    for task in (tasks.sync_records, tasks.dispatch_outbox):
        monkeypatch.setattr(task, "delay", lambda *args, _task=task, **kwargs: _task.apply(args, kwargs, throw=True))


def test_replaying_a_cause_reads_its_vendor_records_again(client, revops_user, published, emulators, eager,
                                                          django_capture_on_commit_callbacks):
    from connectors.models import ConnectedSystem

    ConnectedSystem.objects.update(rollout_stage="shadow")  # nothing written to the vendors
    items = published["item"]
    hubspot, _ = emulators
    with hubspot.store.lock:
        first, second, third = sorted(hubspot.store.table("products"))[:3]
    found = SyncRun.objects.create(mapping=items, trigger="schedule", status="succeeded")
    # Two fields of one vendor record and one of another: the replay reads each record once.
    hold(items, first, "sku", "A B", "'A B' is not a SKU", run=found)
    hold(items, first, "price", "x", "'x' is not a SKU", run=found)
    hold(items, second, "sku", "C D", "'C D' is not a SKU", run=found)
    hold(items, third, "sku", "E F", "'E F' is not a phone number", run=found)  # another cause: not replayed
    client.force_login(revops_user)
    query = causes(client.get("/data-quality/").content.decode())["sku: … is not a SKU"][1]

    confirm = unescape(client.post(f"/data-quality/replay/?{query}", {"all": "1"}).content.decode())

    assert "Replay 2 held fields (all matching the filter)" in confirm
    assert re.search(r"reads <strong>2</strong> vendor records again", confirm)
    assert f"{items}: 2 from the CRM" in confirm and 'id="confirm"' in confirm
    assert not SyncRun.objects.exclude(pk=found.pk).exists()  # nothing starts before the confirmation

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/data-quality/replay/start/?{query}", {"all": "1"})

    replay = SyncRun.objects.get(trigger="replay")
    assert response.status_code == 302 and response["Location"] == f"/sync-runs/{replay.pk}/"
    replay.refresh_from_db()
    assert replay.targeted and replay.requested_by == revops_user and replay.mapping == items
    assert replay.status == "succeeded" and replay.counts["read"] == 2  # the first two products, each once
    page = client.get(response["Location"]).content.decode()
    assert f"sync-run:{replay.pk} queued" in page


def test_replaying_ticked_fields_of_two_mappings_starts_a_run_for_each(client, revops_user, accounts, contacts,
                                                                      monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks.sync_records, "delay", lambda run_id, ids: queued.append((run_id, ids)))
    a = hold(accounts, "1", "phone", "555", "'555' is not a phone number")
    b = hold(contacts, "7", "phone", "556", "'556' is not a phone number", side="erp")
    hold(contacts, "8", "phone", "557", "'557' is not a phone number")  # not ticked
    client.force_login(revops_user)

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/data-quality/replay/start/", {"select": [a.pk, b.pk]}, follow=True).content.decode()

    runs = {run.mapping_id: run for run in SyncRun.objects.filter(trigger="replay")}
    assert set(runs) == {accounts.pk, contacts.pk}
    assert sorted(queued) == sorted([(runs[accounts.pk].pk, {"crm": ["1"]}), (runs[contacts.pk].pk, {"erp": ["7"]})])
    assert all(f"sync-run:{run.pk}" in page for run in runs.values())
