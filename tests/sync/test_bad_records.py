"""A page of ERP customers with bad values among good ones: a bad value holds its field, not its record -- the rest
of the record syncs, the field is listed with its reason -- except a name the CRM company cannot be created
without (the name is required), which holds that create. A replay after the rules (or the data) are fixed syncs
what was held, and every page escapes what it shows.

Here a whole page mixes missing required fields, unknown picklist values, 10 kB names, control characters (NUL
included) and markup, and the replay follows a corrected rule version.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.html import escape

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine, outbox
from integration_hub.sync.models import HeldField, SyncEvent, SyncEventKind, SyncStatus
from mapping import services
from mapping.models import VersionStatus

pytestmark = pytest.mark.django_db

GOOD = 30
TEN_KB_NAME = "Tenkay Holdings " + "x" * 10_240
SCRIPT_NAME = "<script>window.__xss=1</script>Evil Ltd"
IMG_NAME = '<img src=x onerror="window.__xss=2">Onerror Co'
CONTROL_NAME = "Bell\x07 Escape\x1b[31m Vertical\x0b Tab Ltd"
# external id -> (what is wrong, fields, the held field, the held reason's words)
BAD = {
    "BAD-NONAME": ("missing required name", {"companyName": None}, "name", ["required"]),
    "BAD-PICKLIST": ("unknown category", {"category": "Logistics"}, "industry", ["Logistics"]),
    "BAD-TERMS": ("unknown payment terms", {"terms": "Net 45"}, "payment_terms", ["Net 45"]),
    "BAD-10KB": ("10 kB name", {"companyName": TEN_KB_NAME}, "name", ["longer than 83"]),
    "BAD-NUL": ("NUL in the name", {"companyName": "Null\x00Byte Ltd"}, "name", ["NUL"]),
    "BAD-MARKUP": ("markup as the category", {"category": "<script>window.__xss=3</script>"}, "industry", []),
}
NAMELESS = {eid for eid, (_, _, field, _) in BAD.items() if field == "name"}  # no CRM company without a name
# Odd but valid under the rules: these sync as they are (and must be shown escaped).
ODD = {
    "ODD-SCRIPT": {"companyName": SCRIPT_NAME},
    "ODD-IMG": {"companyName": IMG_NAME},
    "ODD-CONTROL": {"companyName": CONTROL_NAME},
}


@pytest.fixture
def emulators():
    """Both emulators holding only this test's records."""
    from connectors.sandbox import start_emulator

    hubspot, netsuite = start_emulator("hubspot"), start_emulator("netsuite")
    yield hubspot, netsuite
    hubspot.stop()
    netsuite.stop()


def customer(external_id: str, i: int, **fields) -> dict:
    row = {"externalId": external_id, "entityId": external_id, "companyName": f"Good Company {i}",
           "phone": f"+1 217 555 {i:04d}", "terms": "Net 30", "currency": "USD", "category": "Retail",
           "entityStatus": "CUSTOMER-Closed Won", "isInactive": False}
    row.update(fields)
    return {k: v for k, v in row.items() if v is not None}


@pytest.fixture
def bad_page(published, emulators):
    """One page of ERP customers (fewer than the engine's page size): good ones with the bad and odd ones among
    them; the account mapping creates a golden record and a CRM company from each ERP customer."""
    _, netsuite = emulators
    account = published["account"]
    account.erp_creates = "always"
    account.save()
    ConnectedSystem.objects.update(rollout_stage="two_way")
    rows = [customer(f"GOOD-{i:03d}", i) for i in range(GOOD)]
    rows[5:5] = [customer(eid, 900 + n, **fields) for n, (eid, (_, fields, _, _)) in enumerate(BAD.items())]
    rows[20:20] = [customer(eid, 950 + n, **fields) for n, (eid, fields) in enumerate(ODD.items())]
    start = datetime.now(UTC) - timedelta(hours=1)
    with netsuite.store.lock:
        ids = {row["externalId"]: netsuite.emulator.put_seed(
            "customer", row, modified=(start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"))
            for n, row in enumerate(rows)}
    return account, ids


def sync(mapping):
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping))
    outbox.dispatch_all()
    run.refresh_from_db()
    return run


def crm_names(hubspot) -> dict[str, str]:
    with hubspot.store.lock:
        return {c["properties"].get("erp_customer_number"): c["properties"].get("name")
                for c in hubspot.store.table("companies").values() if not c.get("archived")}


def fix_rules(mapping, revops_user, finance_user):
    """RevOps publishes a corrected version: NetSuite's new "Logistics" category is services, "Net 45" is a valid
    term, and names may be long (the CRM takes them)."""
    draft = services.version_create_draft(mapping=mapping, user=revops_user, note="bad records: rules fixed")
    industry = draft.rules.get(field="industry")
    picklist = industry.erp_transforms[0]
    picklist["params"]["map"]["Logistics"] = "services"
    picklist["params"]["preferred"] = {**picklist["params"].get("preferred", {}), "services": "Services"}
    industry.save()
    terms = draft.rules.get(field="payment_terms")
    terms.validation = {**terms.validation, "choices": [*terms.validation["choices"], "Net 45"]}
    terms.save()
    name = draft.rules.get(field="name")
    name.validation = {**name.validation, "max_length": 20_000}
    name.save()
    if draft.needs_finance_signoff:
        services.version_sign_off(version=draft, user=finance_user)
    services.version_publish(version=draft, user=revops_user)
    mapping.refresh_from_db()
    assert mapping.published_version.status == VersionStatus.PUBLISHED and mapping.published_version == draft
    return draft


def test_bad_records_are_held_with_reasons_the_rest_syncs_and_a_replay_after_the_fix_syncs_them(
        bad_page, emulators, client, viewer_user, revops_user, finance_user):
    hubspot, netsuite = emulators
    account, ids = bad_page
    run = sync(account)

    # Each bad value is held with its reason, not its record; the batch went on. Only the CRM companies that would
    # have no name wait (the name is required to create one).
    assert run.status == SyncStatus.COMPLETED_WITH_ERRORS, (run.status, run.error)
    total = GOOD + len(BAD) + len(ODD)
    assert run.counts["read"] == total and run.counts["held"] == len(BAD)
    assert run.counts["failed"] == len(NAMELESS)
    held = {e.external_id: e for e in SyncEvent.objects.filter(run=run, kind=SyncEventKind.HELD)}
    assert set(held) == {ids[eid] for eid in BAD}
    rows = {row.external_id: row for row in HeldField.objects.filter(mapping=account, cleared_at__isnull=True)}
    assert set(rows) == {ids[eid] for eid in BAD}
    for eid, (what, _, field, words) in BAD.items():
        event, row = held[ids[eid]], rows[ids[eid]]
        assert event.field == row.field == field, what
        assert all(word in event.message and word in row.reason for word in words), f"{what}: {event.message!r}"
        assert len(event.message) < 2000  # a 10 kB value is not copied whole into the reason
        assert row.record is not None and row.side == "erp"
    not_created = {e.external_id: e.message for e in SyncEvent.objects.filter(run=run, kind=SyncEventKind.FAILED)}
    assert set(not_created) == {ids[eid] for eid in NAMELESS}
    assert all("not created in" in message and "name" in message for message in not_created.values())

    # Every record has its golden record; every one with a name is a CRM company with the values that passed.
    assert run.counts["created"] == total
    names = crm_names(hubspot)
    for i in range(GOOD):
        assert names[f"GOOD-{i:03d}"] == f"Good Company {i}"
    assert names["ODD-SCRIPT"] == SCRIPT_NAME and names["ODD-IMG"] == IMG_NAME
    # The name rule trims and collapses whitespace (the vertical tab is whitespace); BEL and ESC are kept as they are.
    assert names["ODD-CONTROL"] == "Bell\x07 Escape\x1b[31m Vertical Tab Ltd"
    assert not any(eid in names for eid in NAMELESS)
    with hubspot.store.lock:
        companies = {c["properties"].get("erp_customer_number"): c["properties"]
                     for c in hubspot.store.table("companies").values()}
    assert companies["BAD-PICKLIST"]["name"] == "Good Company 901" and not companies["BAD-PICKLIST"].get("industry")
    assert not companies["BAD-TERMS"].get("erp_payment_terms")
    assert not companies["BAD-MARKUP"].get("industry")

    # The run page lists the held records with their reasons, escaped; so does the record page of an odd one.
    client.force_login(viewer_user)
    response = client.get(f"/sync-runs/{run.pk}/?kind=held")
    assert response.status_code == 200
    html = response.content.decode()
    for eid in BAD:
        assert ids[eid] in html
    assert "required" in html and "Logistics" in html and "Net 45" in html
    assert "<script>window" not in html and "&lt;script&gt;window.__xss=3&lt;/script&gt;" in html
    all_events = client.get(f"/sync-runs/{run.pk}/").content.decode()
    assert "<script>window" not in all_events and "<img src=x" not in all_events
    for eid, name in (("ODD-SCRIPT", SCRIPT_NAME), ("ODD-IMG", IMG_NAME)):
        record = RecordLink.objects.get(system=account.erp_system, external_id=ids[eid]).record
        html = client.get(f"/records/{record.pk}/").content.decode()
        assert name not in html and "<script>window" not in html and "<img src=x" not in html
        assert escape(name) in html  # shown, as text
    listing = client.get("/records/?entity_type=account").content.decode()
    assert "<script>window" not in listing and "<img src=x" not in listing

    # The data of two is fixed in NetSuite; RevOps publishes corrected rules for the others; a replay syncs them.
    with connector_session(account.erp_system) as connector:
        fixed = connector.upsert_many("customer", [
            {"id": ids["BAD-NONAME"], "companyName": "Named At Last Ltd"},
            {"id": ids["BAD-NUL"], "companyName": "Null Byte Ltd"},
            {"id": ids["BAD-MARKUP"], "category": "Retail"}], None)
    assert all(r.ok for r in fixed)
    fix_rules(account, revops_user, finance_user)
    replay = engine.sync_run_replay(run=run)
    outbox.dispatch_all()
    replay.refresh_from_db()
    assert replay.status == SyncStatus.SUCCEEDED, (replay.status, replay.error,
                                                   list(replay.events.values_list("kind", "message")))
    assert replay.rule_version == account.published_version
    assert replay.counts["read"] == len(BAD) and replay.counts["held"] == 0
    assert all(e.replayed_by == replay for e in SyncEvent.objects.filter(
        run=run, kind__in=[SyncEventKind.FAILED, SyncEventKind.HELD]))
    assert not HeldField.objects.filter(mapping=account, cleared_at__isnull=True).exists()
    assert HeldField.objects.filter(mapping=account).count() == len(BAD)  # cleared, still on record
    names = crm_names(hubspot)
    assert names["BAD-NONAME"] == "Named At Last Ltd" and names["BAD-NUL"] == "Null Byte Ltd"
    assert names["BAD-10KB"] == TEN_KB_NAME
    assert names["BAD-PICKLIST"] and names["BAD-TERMS"]
    with hubspot.store.lock:
        terms = {c["properties"].get("erp_customer_number"): c["properties"].get("erp_payment_terms")
                 for c in hubspot.store.table("companies").values()}
    assert terms["BAD-TERMS"] == "Net 45"
    assert Record.objects.filter(entity_type="account").count() == GOOD + len(ODD) + len(BAD)
    # Nothing left to replay. The industry HubSpot owns waited for HubSpot's copy of the company to be read: the
    # company the hub made has none (it was held), so NetSuite's value fills the blank at the next sync.
    client.force_login(revops_user)
    assert 'id="replay"' not in client.get(f"/sync-runs/{replay.pk}/").content.decode()
    sync(account)
    logistics = Record.objects.get(values__customer_number="BAD-PICKLIST")
    assert logistics.values["industry"] == "services"
    with hubspot.store.lock:
        industries = {c["properties"].get("erp_customer_number"): c["properties"].get("industry")
                      for c in hubspot.store.table("companies").values()}
    assert industries["BAD-PICKLIST"] == "LOGISTICS"
    again = sync(account)
    assert again.counts["written"] == 0 and again.counts["failed"] == 0


def test_a_nul_in_a_field_no_rule_reads_does_not_stop_the_batch(published, emulators):
    """A vendor record may carry a NUL character in a field the rules never read (PostgreSQL cannot store one in
    JSON): the run still finishes, every other record of the page syncs, and that one syncs or is held."""
    hubspot, netsuite = emulators
    account = published["account"]
    account.erp_creates = "always"
    account.save()
    ConnectedSystem.objects.update(rollout_stage="two_way")
    rows = [customer(f"GOOD-{i:03d}", i) for i in range(5)]
    rows.insert(2, customer("NUL-EMAIL", 99, companyName="Unmapped Nul Ltd", email="ap\x00@nul.example"))
    with netsuite.store.lock:
        for row in rows:
            netsuite.emulator.put_seed("customer", row)

    run = sync(account)
    assert run.status in (SyncStatus.SUCCEEDED, SyncStatus.COMPLETED_WITH_ERRORS), (run.status, run.error)
    names = crm_names(hubspot)
    assert all(names.get(f"GOOD-{i:03d}") == f"Good Company {i}" for i in range(5))
    assert "NUL-EMAIL" in names or SyncEvent.objects.filter(run=run, kind=SyncEventKind.FAILED).exists()


@pytest.fixture
def synced_bad_page(transactional_db, bad_page):
    account, ids = bad_page
    run = sync(account)
    records = {eid: RecordLink.objects.get(system=account.erp_system, external_id=ids[eid]).record_id
               for eid in ("ODD-SCRIPT", "ODD-IMG")}
    return run, records


@pytest.mark.chromium
def test_no_script_from_a_record_runs_in_the_browser(synced_bad_page, viewer_user, live_server, page):
    """Headless Chromium, signed in as a viewer: the run page and the record pages show the markup as text."""
    run, records = synced_bad_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/login/?next=/sync-runs/{run.pk}/")
    page.fill("#id_username", viewer_user.username)
    page.fill("#id_password", "pw-vera-viewer")
    page.click("input[type=submit]")
    page.wait_for_url(f"**/sync-runs/{run.pk}/")
    for url in (f"/sync-runs/{run.pk}/", f"/sync-runs/{run.pk}/?kind=held", "/records/",
                f"/records/{records['ODD-SCRIPT']}/", f"/records/{records['ODD-IMG']}/"):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None, f"a record's markup ran as script on {url}"
        assert page.locator("main script, main img[src=x]").count() == 0, url
    assert dialogs == []
    page.goto(f"{live_server.url}/records/{records['ODD-SCRIPT']}/")
    assert SCRIPT_NAME in page.locator("main h1").inner_text()  # the name is shown as text
    page.goto(f"{live_server.url}/sync-runs/{run.pk}/?kind=held")
    assert "<script>window.__xss=3</script>" in page.locator("main").inner_text()
