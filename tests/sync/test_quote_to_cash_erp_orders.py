"""Quote to cash, the ERP's side of it and the document as a whole, over real localhost HTTP against both sandboxes:
an order keyed in the ERP becomes a HubSpot deal (company, lines, a stage from the mapping's create defaults) and
never comes back as a second order; a line item deleted from a deal reaches its order; a deal moved to another
company moves its association, and an order the ERP has fulfilled keeps its customer, held with the reason."""
from __future__ import annotations

import pytest

from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine
from integration_hub.sync.models import OutboundChange, SyncEvent
from tests.sync.test_quote_to_cash import linked, orders_of, product, sync, two_way, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def q2c(published):
    two_way()
    for entity in ("item", "price", "account"):
        sync(published[entity])
    return published


def crm_deals(hubspot, name: str) -> list[tuple[str, dict]]:
    return [(deal_id, deal) for deal_id, deal in hubspot.store.table("deals").items()
            if deal["properties"].get("dealname") == name and not deal.get("archived")]


def deal_lines(hubspot, deal_id: str) -> list[dict]:
    ids = hubspot.store.table("associations").get(f"deals:{deal_id}", {}).get("line_items", {})
    lines = [hubspot.store.table("line_items")[i] for i in ids]
    return sorted((line["properties"] for line in lines if not line.get("archived")),
                  key=lambda p: int(p.get("hs_position_on_quote") or 0))


def test_an_order_keyed_in_the_erp_becomes_a_hubspot_deal_with_its_company_lines_and_a_stage(q2c, emulators):
    hubspot, netsuite = emulators
    deal = q2c["deal"]
    crm, erp = deal.crm_system, deal.erp_system
    sync(deal)
    # The demo's two, and the ones Acme's and Wayne's closed deals made (Wayne's after making its customer).
    orders = len(netsuite.store.table("salesOrder"))
    assert orders == 4
    # The demo's ERP orders (keyed in NetSuite, no deal made them) are HubSpot deals now.
    [(deal_id, restock)] = crm_deals(hubspot, "Q3 restock")
    props = restock["properties"]
    assert (props["dealstage"], props["pipeline"], props["deal_currency_code"]) == ("closedwon", "default", "USD")
    assert props["erp_order_status"] == "Billed" and props["erp_order_number"]
    assert hubspot.store.table("associations")[f"deals:{deal_id}"]["companies"].keys() == {
        linked(crm, "account", name="Acme Incorporated")}
    assert [(line["hs_product_id"], line["quantity"], line["price"]) for line in deal_lines(hubspot, deal_id)] == [
        (product(crm, "WID-200"), "150", "21.60"), (product(crm, "CBL-010"), "40", "6.53")]
    assert props["amount"] == "3501.20"  # the order's total
    golden = Record.objects.get(entity_type="deal", values__name="Q3 restock")
    assert (golden.values["stage"], golden.values["pipeline"]) == ("closedwon", "default")
    assert golden.links.get(system=crm).external_id == deal_id
    assert crm_deals(hubspot, "Support kits")  # Globex's

    # An order keyed in the ERP later: cancelled, so a lost deal (the mapping maps the status).
    acme = linked(erp, "account", name="Acme Incorporated")
    order_id = write(erp, "salesOrder", {"entity": {"id": acme}, "currency": "USD", "memo": "Phone order",
                                         "item": [{"item": {"id": linked(erp, "item", sku="WID-100")}, "quantity": 3,
                                                   "rate": 12.5}]})
    netsuite.store.table("salesOrder")[order_id]["status"] = "Cancelled"  # the customer called it off at once
    sync(deal)
    [(phone_id, phone)] = crm_deals(hubspot, "Phone order")
    assert phone["properties"]["dealstage"] == "closedlost"
    assert [line["quantity"] for line in deal_lines(hubspot, phone_id)] == ["3"]

    # Idempotent, and no echo: the deals are linked to their orders, so nothing becomes a second order or deal.
    for _ in range(2):
        again = sync(deal)
        assert again.counts.get("created", 0) == 0
    assert len(crm_deals(hubspot, "Q3 restock")) == 1 and len(crm_deals(hubspot, "Phone order")) == 1
    assert len(netsuite.store.table("salesOrder")) == orders + 1  # the phone order, no second one of anything
    assert not OutboundChange.objects.filter(side="erp", link__isnull=True,
                                             record__values__name__in=["Q3 restock", "Support kits", "Phone order"])


def test_an_erp_order_whose_status_the_stage_map_does_not_know_is_held_not_made_a_deal_without_a_stage(
        q2c, emulators):
    hubspot, _ = emulators
    deal = q2c["deal"]
    deal.erp_create_defaults = {"pipeline": "default", "stage": {"from": "order_status", "map": {
        "Pending Fulfillment": "closedwon"}}}
    deal.save()
    run = sync(deal)
    held = SyncEvent.objects.get(run=run, kind="failed", record__values__name="Q3 restock")
    assert "not created in HubSpot until fixed: stage: order_status 'Billed' is not in its map" in held.message
    assert not crm_deals(hubspot, "Q3 restock")

    deal.erp_create_defaults = {**deal.erp_create_defaults, "stage": {"from": "order_status", "default": "closedwon",
                                                                      "map": {}}}
    deal.save()
    engine.sync_run_replay(run=run)
    from integration_hub.sync import outbox

    outbox.dispatch_all_until_empty()
    assert crm_deals(hubspot, "Q3 restock")[0][1]["properties"]["dealstage"] == "closedwon"
    assert RecordLink.objects.filter(record__values__name="Q3 restock", system=deal.crm_system).exists()


def test_the_create_defaults_are_checked_against_the_rules_and_the_crms_pipelines_and_stages(q2c, client,
                                                                                            viewer_user):
    from django.core.exceptions import ValidationError

    from mapping import services

    deal = q2c["deal"]
    client.force_login(viewer_user)
    page = client.get(f"/mappings/{deal.pk}/").content.decode()
    shown = page[page.index('id="erp-create-defaults"'):]
    shown = shown[:shown.index("</dd>")]
    assert "stage: from order_status (" in shown and "Cancelled → closedlost" in shown
    assert "), else closedwon" in shown and "pipeline: default" in shown and "amount: from order_total" in shown
    assert services.mapping_create_default_problems(mapping=deal) == []  # the template's fit the demo portal
    deal.erp_create_defaults = {"pipeline": "enterprise", "stage": {"from": "order_status", "default": "won"},
                                "probability": "0.9"}
    problems = services.mapping_create_default_problems(mapping=deal)
    assert "create default pipeline 'enterprise': the CRM's pipeline has no option 'enterprise' (it has default)" \
        in problems
    assert any(p.startswith("create default stage 'won': ") for p in problems)
    assert "create default probability: no rule maps probability" in problems

    deal.erp_create_defaults = {"stage": {"map": {"Billed": "closedwon"}}}
    with pytest.raises(ValidationError) as raised:
        deal.full_clean()
    assert "erp_create_defaults" in raised.value.message_dict


def companies_of(hubspot, object_name: str, record_id: str) -> set[str]:
    return set(hubspot.store.table("associations").get(f"{object_name}:{record_id}", {}).get("companies", {}))


def deal_named(hubspot, name: str) -> str:
    [(deal_id, _)] = crm_deals(hubspot, name)
    return deal_id


def test_a_deal_moved_to_another_company_moves_its_order_until_the_erp_has_fulfilled_it(q2c, emulators, client,
                                                                                         viewer_user):
    from integration_hub.sync.record_page import record_holds
    from tests.sync.test_quote_to_cash import bill_and_pay

    hubspot, netsuite = emulators
    deal = q2c["deal"]
    crm, erp = deal.crm_system, deal.erp_system
    sync(deal)
    acme_deal = deal_named(hubspot, "Acme - 500 widgets")
    acme, initech = (linked(crm, "account", name=n) for n in ("Acme Incorporated", "Initech LLC"))
    # The rep moves the deal to Initech (HubSpot's company card): the deal has Initech only.
    write(crm, "deals", {"id": acme_deal, "dealname": "Initech - 500 widgets",
                         "associations": {"companies": [initech]}})
    assert companies_of(hubspot, "deals", acme_deal) == {initech}
    sync(deal)
    golden = Record.objects.get(entity_type="deal", links__system=crm, links__external_id=acme_deal)
    [order] = orders_of(netsuite, golden)
    assert order["entity"] == linked(erp, "account", name="Initech LLC")  # not fulfilled yet: it follows the deal
    assert order["memo"] == "Initech - 500 widgets"

    # Finance bills it; then the rep moves the deal back to Acme. NetSuite keeps a billed order's customer: the
    # change is held with the reason (on the run and the record page), the rest of the deal still reaches the order.
    bill_and_pay(erp, netsuite, golden, 0.0)
    sync(deal)
    write(crm, "deals", {"id": acme_deal, "dealname": "Acme - 500 widgets", "associations": {"companies": [acme]}})
    run = sync(deal)
    [order] = orders_of(netsuite, golden)
    assert order["entity"] == linked(erp, "account", name="Initech LLC") and order["memo"] == "Acme - 500 widgets"
    held = SyncEvent.objects.get(run=run, record=golden, field="customer", kind="failed")
    assert held.message == ("held: NetSuite does not let the customer of a billed sales order change; cancel it and "
                            "place a new order for the new customer, or move the deal back")
    assert not SyncEvent.objects.filter(run=run, kind="write_failed").exists()  # not refused: held before sending
    client.force_login(viewer_user)
    page = client.get(f"/records/{golden.pk}/").content.decode()
    assert "NetSuite does not let the customer of a billed sales order change" in page[page.index('id="holds"'):]

    # Moved back to the order's customer: nothing is held any more.
    write(crm, "deals", {"id": acme_deal, "associations": {"companies": [initech]}, "dealname": "Initech again"})
    sync(deal)
    golden.refresh_from_db()
    assert not [hold for hold in record_holds(record=golden) if "does not let the customer" in hold.message]


def test_an_invoice_moved_to_another_customer_in_the_erp_loses_its_old_company_in_hubspot(q2c, emulators):
    hubspot, netsuite = emulators
    invoice = q2c["invoice"]
    crm, erp = invoice.crm_system, invoice.erp_system
    sync(invoice)
    golden = Record.objects.get(entity_type="invoice", links__system=erp, links__external_id__in=[
        k for k, v in netsuite.store.table("invoice").items() if v.get("externalId") == "INV-DEMO-3"])
    crm_invoice = golden.links.get(system=crm).external_id
    assert companies_of(hubspot, "invoices", crm_invoice) == {linked(crm, "account", name="Acme Incorporated")}
    write(erp, "invoice", {"id": golden.links.get(system=erp).external_id,
                           "entity": {"id": linked(erp, "account", name="Globex Corporation")}})
    sync(invoice)
    assert companies_of(hubspot, "invoices", crm_invoice) == {linked(crm, "account", name="Globex Corporation")}
    again = sync(invoice)
    assert again.counts.get("written", 0) == 0  # the association read back is the one written: no echo


def delete_line_item(hubspot, line_id: str) -> None:
    """A rep removes a line from the deal in HubSpot (the line item is archived; the deal itself is untouched)."""
    from hubspot import HubSpot

    HubSpot(access_token="sandbox-token", host=hubspot.url).crm.line_items.basic_api.archive(line_id)


def acme_with_the_cursor_past_it(hubspot, deal):
    """Acme's order made and read back, and the deals' cursor moved past Acme's deal by another deal's edit."""
    sync(deal)
    sync(deal)
    acme = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    crm_id = acme.links.get(system=deal.crm_system).external_id
    cable_line = next(i for i in hubspot.store.table("associations")[f"deals:{crm_id}"]["line_items"]
                      if hubspot.store.table("line_items")[i]["properties"]["hs_sku"] == "CBL-010"
                      and not hubspot.store.table("line_items")[i].get("archived"))
    write(deal.crm_system, "deals", {"id": deal_named(hubspot, "Initech gizmo rollout"), "amount": "9000"})
    sync(deal)
    return acme, cable_line


@pytest.mark.parametrize("lookup", ["jsonb containment", "scan"])
def test_a_line_item_deleted_from_a_deal_reaches_its_order_though_the_deal_itself_did_not_change(
        q2c, emulators, monkeypatch, lookup):
    from integration_hub.sync import documents

    if lookup == "scan":  # how a database without JSON containment (SQLite) finds the deal of a deleted line
        monkeypatch.setattr(type(documents.connection), "vendor", property(lambda self: "sqlite"), raising=False)
    hubspot, netsuite = emulators
    deal = q2c["deal"]
    acme, cable_line = acme_with_the_cursor_past_it(hubspot, deal)
    delete_line_item(hubspot, cable_line)
    sync(deal)
    [order] = orders_of(netsuite, acme)
    assert [line["quantity"] for line in order["item"]] == [500] and order["total"] == 5995.0
    acme.refresh_from_db()
    assert len(acme.values["lines"]) == 1
    sync(deal)  # the order's new total comes back to the deal
    crm_deal = hubspot.store.table("deals")[acme.links.get(system=deal.crm_system).external_id]["properties"]
    assert crm_deal["erp_order_total"] == "5995.00"
    again = sync(deal)
    assert again.counts.get("written", 0) == 0  # nothing bounces: the deleted line is not deleted again


def test_a_full_resync_catches_a_deleted_line_item_the_incremental_pull_could_not_see(q2c, emulators, monkeypatch):
    from connectors.hubspot import HubSpotConnector
    from integration_hub.sync import outbox

    hubspot, netsuite = emulators
    deal = q2c["deal"]
    acme, cable_line = acme_with_the_cursor_past_it(hubspot, deal)
    # A portal whose archived line items cannot be listed (the list answers nothing): only a full resync sees it.
    monkeypatch.setattr(HubSpotConnector, "removed_lines", lambda self, object, since: [])
    delete_line_item(hubspot, cable_line)
    sync(deal)
    [order] = orders_of(netsuite, acme)
    assert len(order["item"]) == 2
    engine.sync_run_execute(run=engine.sync_run_create(mapping=deal, full=True))
    outbox.dispatch_all_until_empty()
    [order] = orders_of(netsuite, acme)
    assert [line["quantity"] for line in order["item"]] == [500] and order["total"] == 5995.0


def test_an_order_the_hub_made_whose_link_was_never_stored_is_linked_to_its_deal_not_made_a_new_deal(
        q2c, emulators):
    from integration_hub.sync import outbox
    from integration_hub.sync.models import OutboundStatus

    hubspot, netsuite = emulators
    deal = q2c["deal"]
    sync(deal)
    acme = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    [order] = orders_of(netsuite, acme)
    # The dispatcher died after NetSuite made the order and before the hub stored its answer: no link, the
    # create still "sending". The next pull reads the order first.
    RecordLink.objects.filter(record=acme, system=deal.erp_system).delete()
    OutboundChange.objects.filter(record=acme, side="erp", link__isnull=True).update(status=OutboundStatus.PENDING)
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=deal))
    assert RecordLink.objects.get(record=acme, system=deal.erp_system).external_id == next(
        k for k, v in netsuite.store.table("salesOrder").items() if v is order)
    assert run.counts.get("created", 0) == 0
    assert not Record.objects.filter(entity_type="deal", values__name="Acme - 500 widgets").exclude(pk=acme.pk)
    outbox.dispatch_all_until_empty()  # the retried create updates the same order
    assert len(orders_of(netsuite, acme)) == 1 and len(crm_deals(hubspot, "Acme - 500 widgets")) == 1
