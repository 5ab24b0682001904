"""Dead letters people can act on, end to end with the sandboxes: NetSuite refuses writes (customers deleted there,
a field made mandatory), the refusals are dead letters at once (a 4xx is not retried as if transient), grouped by
cause on /sync/dead-letters/, and a RevOps admin retries a cause after its fix, corrects a value, or discards with a
reason; viewers read and cannot act; every action is in the record's history."""
from __future__ import annotations

import pytest
from django.utils.html import escape

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine, outbox
from integration_hub.sync.dead_letters_causes import causes
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncRun, SyncStatus

pytestmark = pytest.mark.django_db

COMPANY_FIELD = "for the following field: company"


def sync(mapping) -> SyncRun:
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping))
    outbox.dispatch_all()
    run.refresh_from_db()
    return run


def linked(role: str, entity: str, name: str) -> str:
    return RecordLink.objects.get(system__role=role, entity_type=entity, record__display_name=name).external_id


def crm_edit(name: str, **fields) -> None:
    with connector_session(ConnectedSystem.objects.get(role="crm")) as crm:
        [result] = crm.upsert_many("contacts", [{"id": linked("crm", "contact", name), **fields}], None)
    assert result.ok, result.error


def netsuite_contact(name: str) -> dict:
    with connector_session(ConnectedSystem.objects.get(role="erp")) as erp:
        [record] = erp.get_many("contact", [linked("erp", "contact", name)])
    return record.fields


@pytest.fixture
def contacts(published):
    """Accounts and contacts synced two-way and settled."""
    ConnectedSystem.objects.update(rollout_stage="two_way")
    for entity in ("account", "contact"):
        sync(published[entity])
    return published["contact"]


@pytest.fixture
def refused_companies(contacts):
    """Finance deleted two customers in NetSuite; in HubSpot three contacts were moved onto those companies: the
    three writes of their company are refused (each names its own customer id)."""
    with connector_session(ConnectedSystem.objects.get(role="erp")) as erp:
        for company in ("Initech LLC", "Stark Industries"):
            erp.http.request("DELETE", f"/services/rest/record/v1/customer/{linked('erp', 'account', company)}")
    moves = {"Milton Waddams": "Initech LLC", "Lucius Fox": "Stark Industries", "Alice Abernathy": "Initech LLC"}
    for person, company in moves.items():
        crm_edit(person, associatedcompanyid=linked("crm", "account", company))
    run = sync(contacts)
    return run, list(OutboundChange.objects.filter(run=run, status=OutboundStatus.DEAD).select_related("record"))


def post_page(client, path: str, data: dict, query: str = ""):
    return client.post(f"/sync/dead-letters/{path}" + (f"?{query}" if query else ""), data)


def test_refusals_are_dead_at_once_grouped_by_cause_and_viewers_cannot_act(client, viewer_user, refused_companies):
    run, dead = refused_companies
    assert {write.record.display_name for write in dead} == {"Milton Waddams", "Lucius Fox", "Alice Abernathy"}
    assert all(write.attempts == 1 and COMPANY_FIELD in write.last_error for write in dead)
    assert len({write.last_error for write in dead}) == 2  # two customer ids: two messages, one cause
    assert outbox.dispatch_all().sent == 0  # a refusal is not retried as if the system were down
    assert run.status == SyncStatus.WRITES_FAILED and run.dead_writes == 3

    client.force_login(viewer_user)
    page = client.get("/sync/dead-letters/").content.decode()
    [cause] = causes(OutboundChange.objects.filter(status=OutboundStatus.DEAD))
    deleted = [linked("erp", "account", company) for company in ("Initech LLC", "Stark Industries")]
    assert all(any(f'"{eid}"' in write.last_error for eid in deleted) for write in dead)
    assert cause.count == 3 and "Invalid Field Value" in cause.text and cause.text.endswith(COMPANY_FIELD)
    assert not any(eid in cause.text for eid in deleted)  # the ids are taken out: one cause for all three
    assert f'data-cause="{cause.key}"' in page and escape(cause.text) in page
    for write in dead:  # each by its record's name, linked to the record page, with the error and the payload
        assert f'<a href="/records/{write.record_id}/">{escape(write.record.display_name)}</a>' in page
        assert escape(write.last_error) in page
    assert "&quot;company&quot;" in page and 'name="select"' not in page and "Retry all" not in page
    filtered = client.get(f"/sync/dead-letters/?cause={cause.key}&system={dead[0].system_id}").content.decode()
    assert filtered.count('data-write="') == 3
    detail = client.get(f"/sync/dead-letters/{dead[0].pk}/").content.decode()
    assert escape(dead[0].last_error) in detail and 'id="edit-form"' not in detail and "Discard…" not in detail

    for path in ("confirm/", "act/"):
        assert post_page(client, path, {"all": "1", "action": "discard", "reason": "x"},
                         f"cause={cause.key}").status_code == 403
    assert client.post(f"/sync/dead-letters/{dead[0].pk}/edit/", {"value__account": "101"}).status_code == 403
    assert OutboundChange.objects.filter(status=OutboundStatus.DEAD).count() == 3


def test_a_cause_is_discarded_with_a_reason_kept_in_each_records_history(client, revops_user, refused_companies):
    run, dead = refused_companies
    [cause] = causes(OutboundChange.objects.filter(status=OutboundStatus.DEAD))
    client.force_login(revops_user)
    assert f'data-cause="{cause.key}"' in client.get("/sync/dead-letters/").content.decode()
    confirm = post_page(client, "confirm/", {"all": "1", "action": "discard"}, f"cause={cause.key}")
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Discard 3 dead letters" in page and "never sent" in page

    refused = post_page(client, "act/", {"all": "1", "action": "discard", "reason": " "}, f"cause={cause.key}")
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert OutboundChange.objects.filter(status=OutboundStatus.DEAD).count() == 3

    done = post_page(client, "act/", {"all": "1", "action": "discard", "reason": "customers merged in NetSuite"},
                     f"cause={cause.key}")
    assert done.status_code == 302
    assert set(OutboundChange.objects.filter(pk__in=[w.pk for w in dead]).values_list("status", flat=True)) == {
        OutboundStatus.DISCARDED}
    assert "No dead letters" in client.get("/sync/dead-letters/").content.decode()
    kept = client.get("/sync/dead-letters/?status=discarded").content.decode()
    assert kept.count('data-write="') == 3 and "customers merged in NetSuite" in kept and "rita-revops" in kept
    for write in dead:
        entry = Record.history.filter(id=write.record_id).latest("history_date")
        assert entry.history_actor == "rita-revops" and entry.history_user_id == revops_user.pk
        assert entry.history_change_reason.startswith(f"Discarded dead letter #{write.pk} (a write to NetSuite")
        assert entry.history_change_reason.endswith("— customers merged in NetSuite")
    run.refresh_from_db()  # nothing of it is dead any more; that its writes failed stays said
    assert run.status == SyncStatus.WRITES_FAILED and run.dead_writes == 0
    run_page = client.get(f"/sync-runs/{run.pk}/").content.decode()
    assert "3 discarded" in run_page and 'id="writes-since"' in run_page
    assert outbox.dispatch_all().sent == 0  # a discarded write is never sent


def test_a_cause_retried_after_its_fix_is_sent_and_an_older_write_never_undoes_a_newer(client, revops_user,
                                                                                      contacts, emulators):
    _, netsuite = emulators
    netsuite.set_faults(required_fields={"contact": ["custentity_badge"]})  # NetSuite made a field mandatory
    crm_edit("Hank Scorpio", jobtitle="Head Buyer")
    crm_edit("Pepper Potts", jobtitle="Chief Executive")
    run = sync(contacts)
    assert run.status == SyncStatus.WRITES_FAILED and run.dead_writes == 2
    netsuite.set_faults(required_fields={})  # fixed in NetSuite
    crm_edit("Hank Scorpio", jobtitle="Chief Buyer")  # a newer edit goes through before anyone retries
    assert sync(contacts).status == SyncStatus.SUCCEEDED
    assert netsuite_contact("Hank Scorpio")["title"] == "Chief Buyer"

    [cause] = causes(OutboundChange.objects.filter(status=OutboundStatus.DEAD))
    assert "Please enter value(s) for: custentity_badge" in cause.text and cause.count == 2
    client.force_login(revops_user)
    confirm = post_page(client, "confirm/", {"all": "1", "action": "retry"}, f"cause={cause.key}")
    assert "Retry 2 dead letters" in confirm.content.decode()
    page = client.post(f"/sync/dead-letters/act/?cause={cause.key}", {"all": "1", "action": "retry"},
                       follow=True).content.decode()
    assert "1 write back in the outbox" in page and "1 not retried: " in page and "later writes" in page
    pepper, hank = (OutboundChange.objects.get(run=run, record__display_name=name)
                    for name in ("Pepper Potts", "Hank Scorpio"))
    assert pepper.status == OutboundStatus.PENDING and pepper.attempts == 0 and hank.status == OutboundStatus.DEAD

    assert outbox.dispatch_all().sent == 1  # the dispatcher sends what was put back
    assert netsuite_contact("Pepper Potts")["title"] == "Chief Executive"
    assert netsuite_contact("Hank Scorpio")["title"] == "Chief Buyer"  # not undone by the older write
    entry = Record.history.filter(id=pepper.record_id).latest("history_date")
    assert entry.history_actor == "rita-revops" and entry.history_change_reason.startswith(
        f"Retried dead letter #{pepper.pk}")
    assert "1 sent" in client.get(f"/sync-runs/{run.pk}/").content.decode()


def test_a_replay_reports_its_writes_and_never_succeeds_while_they_are_refused(client, viewer_user, contacts,
                                                                               emulators):
    _, netsuite = emulators
    netsuite.set_faults(required_fields={"contact": ["custentity_badge"]})
    crm_edit("Hank Scorpio", jobtitle="Head Buyer")
    run = sync(contacts)
    assert run.status == SyncStatus.WRITES_FAILED

    replay = engine.sync_run_replay(run=run)
    assert replay.status == SyncStatus.SUCCEEDED and replay.counts["written"] == 1  # read fine; the write waits
    outbox.dispatch_all()
    replay.refresh_from_db()
    assert replay.status == SyncStatus.WRITES_FAILED and replay.dead_writes == 1  # refused again: it says so
    client.force_login(viewer_user)
    page = client.get(f"/sync-runs/{replay.pk}/").content.decode()
    write = OutboundChange.objects.get(run=replay)
    assert '<span id="run-status">Completed with failed writes</span>' in page and "Succeeded" not in page
    assert "1 dead letter" in page and escape(write.last_error) in page
    run.refresh_from_db()  # the first run's write moved to the replay
    assert run.dead_writes == 0 and run.status == SyncStatus.WRITES_FAILED

    netsuite.set_faults(required_fields={})
    again = engine.sync_run_replay(run=replay)
    outbox.dispatch_all()
    again.refresh_from_db()
    assert again.status == SyncStatus.SUCCEEDED and again.dead_writes == 0
    assert "1 sent" in client.get(f"/sync-runs/{again.pk}/").content.decode()
    assert client.get(f"/sync-runs/{again.pk}/progress/").json()["writes"] == {"sent": 1}
    assert netsuite_contact("Hank Scorpio")["title"] == "Head Buyer"


def test_a_value_is_corrected_and_the_write_sent_after_confirmation(client, revops_user, viewer_user, contacts,
                                                                    emulators):
    _, netsuite = emulators
    netsuite.set_faults(required_fields={"contact": ["title"]})  # a contact must have a job title
    crm_edit("Hank Scorpio", jobtitle="")  # a rep blanked it: the write is refused
    sync(contacts)
    write = OutboundChange.objects.get(status=OutboundStatus.DEAD)
    assert write.values == {"job_title": None} and "Please enter value(s) for: Job Title" in write.last_error

    client.force_login(viewer_user)
    assert client.post(f"/sync/dead-letters/{write.pk}/edit/", {"value__job_title": "Buyer"}).status_code == 403
    client.force_login(revops_user)
    detail = client.get(f"/sync/dead-letters/{write.pk}/").content.decode()
    assert 'id="edit-form"' in detail and 'name="value__job_title"' in detail
    unchanged = client.post(f"/sync/dead-letters/{write.pk}/edit/", {"value__job_title": ""})
    assert unchanged.status_code == 400 and "Change a value first" in unchanged.content.decode()
    confirm = client.post(f"/sync/dead-letters/{write.pk}/edit/", {"value__job_title": "Buyer",
                                                                   "reason": "title required in NetSuite"})
    assert confirm.status_code == 200 and "job_title</strong>: — → Buyer" in confirm.content.decode()
    write.refresh_from_db()
    assert write.status == OutboundStatus.DEAD  # nothing changes before the confirmation

    done = client.post(f"/sync/dead-letters/{write.pk}/edit/", {"value__job_title": "Buyer", "confirmed": "1",
                                                                "reason": "title required in NetSuite"})
    assert done.status_code == 302
    write.refresh_from_db()
    assert write.status == OutboundStatus.PENDING and write.payload == {"title": "Buyer"}
    assert outbox.dispatch_all().sent == 1
    assert netsuite_contact("Hank Scorpio")["title"] == "Buyer"
    entry = Record.history.filter(id=write.record_id).latest("history_date")
    assert entry.history_actor == "rita-revops"
    assert "job_title: None → 'Buyer'; title required in NetSuite" in entry.history_change_reason
    assert Record.objects.get(pk=write.record_id).values["job_title"] is None  # the golden record keeps its own
    page = client.get(f"/sync/dead-letters/{write.pk}/").content.decode()
    assert "edited and retried by rita-revops" in page and 'id="edit-form"' not in page


def test_the_api_lists_groups_retries_and_discards_for_revops_only(client, revops_user, viewer_user, contacts,
                                                                   emulators):
    from rest_framework.authtoken.models import Token

    _, netsuite = emulators
    netsuite.set_faults(required_fields={"contact": ["custentity_badge"]})
    for name, title in (("Hank Scorpio", "Head Buyer"), ("Pepper Potts", "Chief Executive"),
                        ("Lucius Fox", "Chief Technologist")):
        crm_edit(name, jobtitle=title)
    sync(contacts)
    viewer = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=viewer_user).key}"}
    revops = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=revops_user).key}"}

    listing = client.get("/api/v1/dead-letters/", **viewer).json()
    assert listing["count"] == 3 and {row["record_name"] for row in listing["results"]} == {
        "Hank Scorpio", "Pepper Potts", "Lucius Fox"}
    assert all(row["payload"]["title"] and row["cause"].endswith("Please enter value(s) for: custentity_badge")
               for row in listing["results"])
    [cause] = client.get("/api/v1/dead-letters/causes/", **viewer).json()
    assert cause["count"] == 3 and cause["system"] == "erp" and cause["vendor_object"] == "contact"
    assert client.post("/api/v1/dead-letters/retry/", {"cause": cause["key"]}, content_type="application/json",
                       **viewer).status_code == 403
    assert client.post("/api/v1/dead-letters/retry/", {"cause": "no-such-cause"}, content_type="application/json",
                       **revops).status_code == 400  # an unknown cause selects nothing, never everything

    lucius = next(row for row in listing["results"] if row["record_name"] == "Lucius Fox")
    no_reason = client.post(f"/api/v1/dead-letters/{lucius['id']}/discard/", {"reason": ""},
                            content_type="application/json", **revops)
    assert no_reason.status_code == 400
    discarded = client.post(f"/api/v1/dead-letters/{lucius['id']}/discard/", {"reason": "left the company"},
                            content_type="application/json", **revops)
    assert discarded.status_code == 200 and discarded.json()["done"] == [lucius["id"]]

    netsuite.set_faults(required_fields={})
    retried = client.post("/api/v1/dead-letters/retry/", {"cause": cause["key"], "reason": "badge optional again"},
                          content_type="application/json", **revops)
    assert retried.status_code == 200 and len(retried.json()["done"]) == 2 and retried.json()["kept"] == {}
    assert outbox.dispatch_all().sent == 2
    assert client.get("/api/v1/dead-letters/", **viewer).json()["count"] == 0
    assert client.get("/api/v1/dead-letters/?status=discarded", **viewer).json()["count"] == 1
    assert netsuite_contact("Pepper Potts")["title"] == "Chief Executive"
    assert netsuite_contact("Lucius Fox").get("title") != "Chief Technologist"  # discarded: never sent


def test_a_viewer_sees_a_sensitive_value_of_a_dead_write_masked(client, viewer_user, revops_user, contacts,
                                                                emulators):
    from mapping.models import FieldRule

    _, netsuite = emulators
    FieldRule.objects.filter(version=contacts.published_version, field="phone").update(sensitive=True)
    netsuite.set_faults(required_fields={"contact": ["custentity_badge"]})
    crm_edit("Hank Scorpio", phone="+1 512 555 0142")
    sync(contacts)
    write = OutboundChange.objects.get(status=OutboundStatus.DEAD)
    assert "phone" in write.values

    client.force_login(viewer_user)
    for page in (client.get("/sync/dead-letters/"), client.get(f"/sync/dead-letters/{write.pk}/")):
        html = page.content.decode()
        assert "555" not in html and "Hank Scorpio" in html
    assert "hidden (sensitive values)" in client.get("/sync/dead-letters/").content.decode()
    assert client.get(f"/api/v1/dead-letters/{write.pk}/").json()["payload"] is None
    client.force_login(revops_user)
    assert escape(write.values["phone"]) in client.get(f"/sync/dead-letters/{write.pk}/").content.decode()
