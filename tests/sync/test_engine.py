"""The sync engine over real localhost HTTP against both sandboxes: pull, match, merge, outbox, rollout stages."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.kernel import locks
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine, mapping_lock, merge_step, outbox
from integration_hub.sync.models import HeldField, OutboundChange, OutboundStatus, SyncEvent, SyncStatus
from mapping.services import version_create_draft, version_publish
from reconciliation.conflicts.models import Conflict

pytestmark = pytest.mark.django_db


def stage(mapping, value: str) -> None:
    ConnectedSystem.objects.filter(pk__in=[mapping.crm_system_id, mapping.erp_system_id]).update(
        rollout_stage=value)


def edit(system, vendor_object: str, external_id: str, fields: dict) -> None:
    """Change a record in a system through its API, as a person using that system would."""
    with connector_session(system) as connector:
        [result] = connector.upsert_many(vendor_object, [{"id": external_id, **fields}], None)
    assert result.ok, result.error


def sync(mapping, **options):
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping, **options))
    sent = outbox.dispatch_all()
    run.refresh_from_db()
    return run, sent


def test_items_link_by_sku_and_erp_values_reach_the_crm(published, emulators):
    hubspot, _ = emulators
    item = published["item"]
    stage(item, "two_way")
    run, sent = sync(item)
    assert run.status == SyncStatus.SUCCEEDED and run.rule_version == item.published_version
    assert Record.objects.filter(entity_type="item").count() == 5
    assert RecordLink.objects.filter(entity_type="item").count() == 10  # every item linked on both sides
    assert sent.sent == 5 and sent.dead == 0
    products = {p["properties"]["hs_sku"]: p["properties"] for p in hubspot.store.table("products").values()}
    assert products["GAD-300"]["name"] == "Gadget Plus"  # the ERP owns names: the old CRM name is gone
    assert products["WID-100"]["erp_quantity_on_hand"] == "1200"
    blocked = SyncEvent.objects.get(run=run, kind="blocked_edit")
    assert blocked.field == "name" and blocked.data["attempted"] == "Gadget Plus (old name)"


def test_a_second_sync_writes_nothing(published):
    item = published["item"]
    stage(item, "two_way")
    sync(item)
    second, sent = sync(item)
    assert second.counts["written"] == 0 and sent.sent == 0
    assert OutboundChange.objects.filter(run=second).count() == 0


def test_shadow_mode_stores_the_writes_and_sends_nothing(published, emulators):
    hubspot, _ = emulators
    item = published["item"]
    stage(item, "shadow")
    before = {k: dict(v["properties"]) for k, v in hubspot.store.table("products").items()}
    run, sent = sync(item)
    assert sent.sent == 0
    shadow = OutboundChange.objects.filter(run=run)
    assert shadow.count() == 5 and all(c.status == OutboundStatus.SHADOW for c in shadow)
    assert {k: dict(v["properties"]) for k, v in hubspot.store.table("products").items()} == before


def test_read_only_systems_get_no_writes_at_all(published):
    item = published["item"]
    stage(item, "read_only")
    run, _ = sync(item)
    assert run.counts["read"] == 10 and not OutboundChange.objects.exists()


def test_a_rep_changed_price_is_put_back_and_logged(published, emulators):
    hubspot, _ = emulators
    price = published["price"]
    stage(price, "two_way")
    run, sent = sync(price)
    event = SyncEvent.objects.get(run=run, kind="blocked_edit", field="unit_price")
    assert event.data["attempted"] == {"amount": "22.00", "currency": "USD"}
    widget_pro = next(p for p in hubspot.store.table("products").values() if p["properties"]["hs_sku"] == "WID-200")
    assert widget_pro["properties"]["price"] == "24"  # the ERP's price, written back


def test_accounts_match_by_name_and_postcode_and_unmatched_crm_companies_are_held(published):
    account = published["account"]
    stage(account, "two_way")
    run, _ = sync(account)
    assert run.counts["created"] == 5  # golden records from the ERP's customers
    held = {e.external_id: e.message for e in SyncEvent.objects.filter(run=run, kind="unlinked")}
    assert sorted(held) == ["1001", "1002", "1008"]
    assert "does not create golden records from the CRM" in held["1008"]
    # "Acme Inc" and "ACME, Inc." are near-certain matches of a record another CRM company took: a person decides
    assert "held for the duplicate queue" in held["1001"] and "duplicate within HubSpot" in held["1002"]
    # "Umbrella Corp" is the ERP's "Umbrella Corporation": no key matches, its duplicate score links it
    [linked] = SyncEvent.objects.filter(run=run, kind="linked")
    assert linked.external_id == "1006" and linked.record.values["name"] == "Umbrella Corporation"
    stark = Record.objects.get(entity_type="account", values__name="Stark Industries")
    assert stark.links.count() == 2
    assert stark.values["customer_number"] == "CUST-1005"


def test_both_sides_editing_a_shared_name_opens_one_conflict_and_the_rest_still_flows(published, emulators):
    hubspot, netsuite = emulators
    account = published["account"]
    stage(account, "two_way")
    sync(account)
    globex = Record.objects.get(entity_type="account", values__name="Globex Corporation")
    crm_id = globex.links.get(system=account.crm_system).external_id
    erp_id = globex.links.get(system=account.erp_system).external_id
    edit(account.crm_system, "companies", crm_id, {"name": "Globex Corp (Sales)", "city": "Springfield"})
    edit(account.erp_system, "customer", erp_id, {"companyName": "Globex Corporation Ltd"})

    run, _ = sync(account)
    conflict = Conflict.objects.get(record=globex, field="name")
    assert conflict.status == "open" and conflict.policy == "manual_review"
    assert (conflict.crm_value, conflict.erp_value) == ("Globex Corp (Sales)", "Globex Corporation Ltd")
    globex.refresh_from_db()
    assert globex.values["name"] == "Globex Corporation"  # held: neither side overwrote the other
    assert globex.values["shipping_city"] == "Springfield"  # the rest of the record still flowed

    again, _ = sync(account)
    assert Conflict.objects.filter(record=globex).count() == 1  # no second conflict for the same field


def netsuite_contact(netsuite, email: str) -> dict:
    with netsuite.store.lock:
        return next(dict(c) for c in netsuite.store.table("contact").values() if c.get("email") == email)


def test_a_value_failing_its_rule_holds_its_field_and_the_rest_of_the_record_flows(published, emulators):
    """A rep blanks a contact's last name (required): only the last name waits; the contact is still linked and
    the rest of it syncs, and NetSuite keeps its last name and its company (nothing is erased)."""
    _, netsuite = emulators
    contact, account = published["contact"], published["account"]
    stage(contact, "two_way")
    sync(account)
    edit(contact.crm_system, "contacts", "1009", {"lastname": "", "jobtitle": "Head of Purchasing"})
    run, _ = sync(contact)
    held = SyncEvent.objects.get(run=run, kind="held")
    assert held.external_id == "1009" and held.field == "last_name" and "required" in held.message
    assert run.counts["held"] == 1 and run.counts["read"] == 14
    wile = Record.objects.get(entity_type="contact", values__email="wile@acme.example")
    assert wile.links.count() == 2 and wile.values["last_name"] == "Coyote"
    assert wile.values["job_title"] == "Head of Purchasing"  # the rest of the record flowed
    [row] = HeldField.objects.filter(record=wile, cleared_at__isnull=True)
    assert (row.side, row.field, row.reason) == ("crm", "last_name", "required")
    ns = netsuite_contact(netsuite, "wile@acme.example")
    assert ns["lastName"] == "Coyote" and ns["title"] == "Head of Purchasing"
    assert ns.get("company")  # its customer is still there

    # The rep puts the name back: the hold clears itself and nothing was ever emptied on either side.
    edit(contact.crm_system, "contacts", "1009", {"lastname": "Coyote"})
    again, _ = sync(contact)
    assert again.counts["held"] == 0 and again.status == SyncStatus.SUCCEEDED
    row.refresh_from_db()
    assert row.cleared_at is not None and "passes its rule" in row.cleared_because
    ns = netsuite_contact(netsuite, "wile@acme.example")
    assert ns["lastName"] == "Coyote" and ns.get("company")
    assert not OutboundChange.objects.filter(status=OutboundStatus.DEAD).exists()


def test_one_sync_of_a_mapping_at_a_time(published):
    item = published["item"]
    assert locks.acquire(mapping_lock.lock_key(item.pk), "another run", ttl=60)
    try:
        run = engine.sync_run_execute(run=engine.sync_run_create(mapping=item))
    finally:
        locks.release(mapping_lock.lock_key(item.pk), "another run")
    assert run.status == SyncStatus.COALESCED and run.counts["read"] == 0


def test_history_names_the_run_and_the_rule_version(published):
    item = published["item"]
    stage(item, "two_way")
    run, _ = sync(item)
    record = Record.objects.filter(entity_type="item").first()
    created = record.history.earliest()
    assert created.history_actor == f"sync-run:{run.pk}"
    assert record.provenance["sku"]["sync_run"] == run.pk
    assert record.provenance["sku"]["rule_version"] == item.published_version.number


def test_a_held_field_is_released_by_a_replay_after_its_rule_changes(published, emulators, revops_user):
    """A last name the rule refuses waits; RevOps relaxes the rule and replays the run: the value flows."""
    _, netsuite = emulators
    contact = published["contact"]
    stage(contact, "two_way")
    edit(contact.crm_system, "contacts", "1009", {"lastname": "Coyote-" + "x" * 40})
    draft = version_create_draft(mapping=contact, user=revops_user, note="last names up to 30")
    rule = draft.rules.get(field="last_name")
    rule.validation = {**rule.validation, "max_length": 30}
    rule.save()
    version_publish(version=draft, user=revops_user)
    contact.refresh_from_db()
    run, _ = sync(contact)
    assert SyncEvent.objects.filter(run=run, kind="held", external_id="1009", field="last_name").exists()
    assert netsuite_contact(netsuite, "wile@acme.example")["lastName"] == "Coyote"

    draft = version_create_draft(mapping=contact, user=revops_user, note="long last names")
    rule = draft.rules.get(field="last_name")
    rule.validation = {key: value for key, value in rule.validation.items() if key != "max_length"}
    rule.save()
    version_publish(version=draft, user=revops_user)
    contact.refresh_from_db()
    replay = engine.sync_run_replay(run=run)
    outbox.dispatch_all()
    assert replay.trigger == "replay" and replay.status == SyncStatus.SUCCEEDED
    assert netsuite_contact(netsuite, "wile@acme.example")["lastName"] == "Coyote-" + "x" * 40
    assert not HeldField.objects.filter(cleared_at__isnull=True).exists()
    assert SyncEvent.objects.get(run=run, kind="held").replayed_by == replay


def test_a_dead_letter_is_sent_again_by_a_replay(published, emulators):
    _, netsuite = emulators
    contact = published["contact"]
    stage(contact, "two_way")
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=contact))
    netsuite.set_faults(fail_next=50, fail_status=400)  # then the ERP refuses every write for a while
    sent = outbox.dispatch_all()
    assert sent.dead >= 1
    failed = SyncEvent.objects.filter(run=run, kind="write_failed")
    assert failed.exists()
    netsuite.set_faults(fail_next=0)
    replay = engine.sync_run_replay(run=run)
    resent = outbox.dispatch_all()
    assert resent.sent == sent.dead and resent.dead == 0
    assert not OutboundChange.objects.filter(status=OutboundStatus.DEAD).exists()
    assert replay.counts["written"] == sent.dead


def test_the_demo_scenarios_play_out_on_the_next_sync(published):
    from django.core.management import call_command

    stage(published["account"], "two_way")
    for entity in ("price", "account", "contact"):
        sync(published[entity])
    call_command("demo_scenarios", crm="crm", erp="erp")
    runs = {entity: sync(published[entity])[0] for entity in ("price", "account", "contact")}

    price_conflict = Conflict.objects.get(field="unit_price")
    assert price_conflict.approver_role == "finance" and price_conflict.crm_value["amount"] == "11.00"
    names = {(c.crm_value, c.erp_value) for c in Conflict.objects.filter(field="name")}
    assert ("Globex (Sales East)", "Globex Corp.") in names
    initech = Record.objects.get(entity_type="account", values__name="Initech LLC")
    assert initech.values["shipping_street"] == "4120 Freidrich Lane"
    blocked = SyncEvent.objects.get(run=runs["account"], kind="blocked_edit", field="customer_number")
    assert blocked.data["attempted"] == "STARK-1" and blocked.data["kept"] != "STARK-1"

    # Hank's blanked last name is held, not Hank: NetSuite keeps his last name and his company, and once the rep
    # types the name again nothing was ever emptied (the demo once showed "account -> —" and a refused repair).
    assert SyncEvent.objects.filter(run=runs["contact"], kind="held", external_id="1011", field="last_name").exists()
    hank = Record.objects.get(entity_type="contact", values__email="hank@globex.example")
    globex = Record.objects.get(entity_type="account", values__name="Globex Corporation")
    erp_globex = globex.links.get(system=published["contact"].erp_system).external_id

    def netsuite_hank():
        with connector_session(published["contact"].erp_system) as connector:
            [remote] = connector.get_many("contact", [hank.links.get(system=published["contact"].erp_system)
                                                      .external_id])
        return remote.fields

    assert netsuite_hank()["lastName"] and netsuite_hank()["company"]["id"] == erp_globex
    edit(published["contact"].crm_system, "contacts", "1011", {"lastname": "Scorpio"})
    restored, _ = sync(published["contact"])
    assert restored.status == SyncStatus.SUCCEEDED and restored.counts["held"] == 0
    hank.refresh_from_db()
    assert hank.values["account"] == f"record:{globex.pk}" and hank.values["last_name"] == "Scorpio"
    assert netsuite_hank()["lastName"] == "Scorpio" and netsuite_hank()["company"]["id"] == erp_globex
    assert not OutboundChange.objects.filter(status=OutboundStatus.DEAD).exists()
    assert not SyncEvent.objects.filter(run__in=[runs["contact"], restored], record=hank, kind="updated",
                                        message__contains="account").exists()  # never touched, never emptied


def test_the_record_timeline_shows_blocked_edits(client, viewer_user, published):
    stage(published["price"], "two_way")
    sync(published["price"])
    record = Record.objects.get(entity_type="price", values__sku="WID-200")
    client.force_login(viewer_user)
    html = client.get(f"/records/{record.pk}/").content.decode()
    assert "blocked edit" in html and "unit_price (CRM edit blocked)" in html


def test_a_contact_points_at_its_account_in_each_system_by_that_systems_own_id(published):
    for entity in ("account", "contact"):
        stage(published[entity], "two_way")
        sync(published[entity])
    hank = Record.objects.get(entity_type="contact", values__email="hank@globex.example")
    globex = Record.objects.get(entity_type="account", values__name="Globex Corporation")
    assert hank.values["account"] == f"record:{globex.pk}"  # the golden record, not either system's id
    erp_globex = globex.links.get(system=published["contact"].erp_system).external_id
    erp_account_ids = set(RecordLink.objects.filter(system=published["contact"].erp_system, entity_type="account")
                          .values_list("external_id", flat=True))
    for change in OutboundChange.objects.filter(side="erp", values__has_key="account"):
        assert change.values["account"] in erp_account_ids  # always the ERP's own id of an account
    assert hank.links.get(system=published["contact"].erp_system).remote_values["company"]["id"] == erp_globex


def test_a_reference_syncs_to_what_its_rule_names_whatever_the_field_is_called(published, revops_user):
    """The sync places a reference by the rule's target, not by the field's name (an unknown name once never synced)."""
    contact = published["contact"]
    draft = version_create_draft(mapping=contact, user=revops_user)
    rule = draft.rules.get(field="account")
    rule.field = "parent_account"
    rule.save()
    version_publish(version=draft, user=revops_user)
    contact.refresh_from_db()
    for mapping in (published["account"], contact):
        stage(mapping, "two_way")
        sync(mapping)
    hank = Record.objects.get(entity_type="contact", values__email="hank@globex.example")
    globex = Record.objects.get(entity_type="account", values__name="Globex Corporation")
    assert hank.values["parent_account"] == f"record:{globex.pk}" and "account" not in hank.values
    erp_globex = globex.links.get(system=contact.erp_system).external_id
    assert hank.links.get(system=contact.erp_system).remote_values["company"]["id"] == erp_globex


def test_a_signed_webhook_triggers_a_targeted_sync_of_the_records_it_names(client, published, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    import json
    import time

    from connectors.hubspot import webhook_signature
    from integration_hub.sync import tasks

    monkeypatch.setattr(tasks.process_webhooks, "apply_async",
                        lambda args, countdown=0: tasks.process_webhooks.apply(args, throw=True))
    monkeypatch.setattr(tasks.dispatch_outbox, "delay", lambda: tasks.dispatch_outbox.apply(throw=True))
    item = published["item"]
    stage(item, "two_way")
    sync(item)
    crm = item.crm_system
    crm.credentials = {**crm.credentials, "client_secret": "app-secret"}
    crm.save()
    product_id = RecordLink.objects.filter(system=crm, entity_type="item").first().external_id
    edit(crm, "products", product_id, {"name": "Renamed by a rep"})  # the ERP owns names: to be reverted

    body = json.dumps([{"subscriptionType": "product.propertyChange", "objectId": int(product_id),
                        "propertyName": "name", "propertyValue": "Renamed by a rep"}]).encode()
    stamp = str(int(time.time() * 1000))
    signature = webhook_signature("app-secret", "POST", f"http://testserver/webhooks/{crm.slug}/", body, stamp)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.generic("POST", f"/webhooks/{crm.slug}/", body, content_type="application/json",
                                  HTTP_X_HUBSPOT_SIGNATURE_V3=signature, HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=stamp)
    assert response.status_code == 202
    from integration_hub.sync.models import SyncRun

    # Both mappings on HubSpot products (items and prices) re-read that one product.
    assert SyncRun.objects.filter(trigger="webhook").count() == 2
    run = SyncRun.objects.get(trigger="webhook", mapping=item)
    assert run.counts["read"] == 1 and run.counts["blocked"] == 1
    assert SyncEvent.objects.filter(run=run, kind="blocked_edit", field="name").exists()


def test_a_create_sent_twice_makes_one_record(published, emulators):
    """A worker that dies after sending a create, before recording it, sends it again: still one record."""
    hubspot, _ = emulators
    item = published["item"]
    stage(item, "two_way")
    with connector_session_for(item.erp_system) as connector:
        [result] = connector.upsert_many("inventoryItem", [{"externalId": "NEW-1", "itemId": "NEW-1",
                                                            "displayName": "New item"}], "externalId")
    assert result.ok
    engine.sync_run_execute(run=engine.sync_run_create(mapping=item))
    create = OutboundChange.objects.get(side="crm", link__isnull=True)
    outbox.dispatch_all()
    # As if the answer had been lost: the same change goes out again.
    OutboundChange.objects.filter(pk=create.pk).update(status=OutboundStatus.PENDING)
    RecordLink.objects.filter(system=item.crm_system, record=create.record).delete()
    outbox.dispatch_all()
    made = [p for p in hubspot.store.table("products").values() if p["properties"].get("hs_sku") == "NEW-1"]
    assert len(made) == 1
    assert made[0]["properties"]["hub_record_id"] == f"hub-{create.record_id}"


def connector_session_for(system):
    return connector_session(system)


def test_a_run_that_dies_mid_merge_resumes_and_every_record_arrives_once(published, emulators, monkeypatch):
    hubspot, _ = emulators
    item = published["item"]
    stage(item, "two_way")
    run = engine.sync_run_create(mapping=item)
    monkeypatch.setattr(merge_step, "MERGE_CHUNK", 2)
    real_merge_chunk, merged = merge_step.merge_chunk, []

    def dying_merge(*args, **kwargs):
        if len(merged) == 1:
            raise SystemExit("worker killed")  # what kill -9 looks like from inside: nothing after this point
        merged.append(1)
        return real_merge_chunk(*args, **kwargs)

    monkeypatch.setattr(merge_step, "merge_chunk", dying_merge)
    with pytest.raises(SystemExit):
        engine.sync_run_execute(run=run)
    assert RecordLink.objects.filter(needs_merge=True).exists()  # the unmerged records are still flagged
    monkeypatch.setattr(merge_step, "merge_chunk", real_merge_chunk)

    # A killed worker runs no `finally`: its lock is still there when the task is redelivered.
    assert locks.acquire(mapping_lock.lock_key(item.pk), str(run.pk), ttl=60)
    other = engine.sync_run_execute(run=engine.sync_run_create(mapping=item))
    assert other.status == SyncStatus.COALESCED  # a different run still waits its turn
    run.refresh_from_db()
    engine.sync_run_execute(run=run)  # the same run, redelivered, takes its lock back and resumes
    outbox.dispatch_all()
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED
    assert not RecordLink.objects.filter(needs_merge=True).exists()
    skus = [p["properties"]["hs_sku"] for p in hubspot.store.table("products").values()]
    assert sorted(skus) == sorted(set(skus)) and len(skus) == 5  # nothing written twice, nothing missing
    assert OutboundChange.objects.filter(status=OutboundStatus.SENT).count() == 5


def test_an_edit_made_in_the_hub_reaches_both_systems_with_the_next_sync(published, emulators):
    from integration_hub.records import services

    hubspot, netsuite = emulators
    account = published["account"]
    stage(account, "two_way")
    sync(account)
    record = Record.objects.filter(entity_type="account", links__system=account.crm_system) \
        .filter(links__system=account.erp_system).first()
    services.record_update_values(record=record, changes={"shipping_city": "Springfield"})
    run, sent = sync(account)
    assert {c.side for c in OutboundChange.objects.filter(run=run, record=record)} == {"crm", "erp"}
    assert sent.dead == 0
    crm_id = record.links.get(system=account.crm_system).external_id
    assert hubspot.store.table("companies")[crm_id]["properties"]["city"] == "Springfield"
