"""Quote to cash over real localhost HTTP against both sandboxes (scenarios 1-3): a closed deal becomes one ERP
order at its negotiated prices, quotes become estimates, orders and invoices (with payments) come back to the CRM,
and a document that could only be made partial is held with its reason, then replayed."""
from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from connectors.hubspot import webhook_signature
from connectors.models import ConnectedSystem
from connectors.services import connector_session
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine, outbox
from integration_hub.sync.models import OutboundChange, OutboundStatus, SyncEvent, SyncRun, SyncStatus
from mapping.line_items import lines_total

pytestmark = pytest.mark.django_db


def two_way() -> None:
    ConnectedSystem.objects.update(rollout_stage="two_way")


def sync(mapping):
    run = engine.sync_run_execute(run=engine.sync_run_create(mapping=mapping))
    outbox.dispatch_all_until_empty()
    run.refresh_from_db()
    return run


def write(system, vendor_object: str, record: dict, id_field: str | None = None) -> str:
    """Create or change a record through the system's API, as a person using it would; its id."""
    with connector_session(system) as connector:
        [result] = connector.upsert_many(vendor_object, [record], id_field)
    assert result.ok, result.error
    return result.external_id


def linked(system, entity: str, **values) -> str:
    return RecordLink.objects.get(system=system, entity_type=entity,
                                  **{f"record__values__{k}": v for k, v in values.items()}).external_id


def product(system, sku: str) -> str:
    return linked(system, "item", sku=sku)


@pytest.fixture
def q2c(published):
    """Both systems two-way, items, prices and accounts synced first (documents point at them)."""
    two_way()
    for entity in ("item", "price", "account"):
        sync(published[entity])
    return published


def orders_of(netsuite, record: Record) -> list[dict]:
    return [o for o in netsuite.store.table("salesOrder").values() if o.get("externalId") == f"hub-{record.pk}"]


def test_a_closed_won_deal_becomes_one_erp_order_at_its_negotiated_prices_and_the_order_comes_back(q2c, emulators):
    hubspot, netsuite = emulators
    deal = q2c["deal"]
    run = sync(deal)
    acme = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    [order] = orders_of(netsuite, acme)
    items = {row["itemId"]: item_id for item_id, row in netsuite.store.table("inventoryItem").items()}
    assert [(line["item"], line["quantity"], line["rate"], line.get("custcol_hub_discount"), line["amount"])
            for line in order["item"]] == [(items["WID-100"], 500, 11.99, 0.51, 5995.0),
                                          (items["CBL-010"], 40, 7.25, 0.0, 290.0)]  # not the 12.50 list price
    assert order["total"] == 6285.0 == float(lines_total(acme.values["lines"]))
    customer = netsuite.store.table("customer")[order["entity"]]
    assert customer["companyName"] == "Acme Incorporated"
    assert (order["currency"], order["terms"], order["memo"]) == ("USD", "Net 30", "Acme - 500 widgets")
    assert netsuite.store.table("employee")[order["salesRep"]]["entityId"] == "Jane Seller"  # the deal owner
    assert run.counts["failed"] == 0  # Wayne's deal made its customer first (its own test)

    sync(deal)  # the order's number, status, date and total come back to the deal
    crm_deal = hubspot.store.table("deals")[acme.links.get(system=deal.crm_system).external_id]["properties"]
    assert (crm_deal["erp_order_number"], crm_deal["erp_order_status"], crm_deal["erp_order_total"]) == (
        order["tranId"], "Pending Fulfillment", "6285.00")
    acme.refresh_from_db()
    assert acme.values["order_number"] == order["tranId"]
    assert acme.values["order_total"] == {"amount": "6285.00", "currency": "USD"}
    again = sync(deal)
    assert again.counts["written"] == 0 and len(orders_of(netsuite, acme)) == 1


def deliver_webhook(client, crm, deal_id: str, stage: str, *, event_id: int = 1, expect: int = 202) -> None:
    """HubSpot's signed deal.propertyChange webhook, received by the hub's endpoint."""
    body = json.dumps([{"eventId": event_id, "subscriptionType": "deal.propertyChange", "objectId": int(deal_id),
                        "propertyName": "dealstage", "propertyValue": stage}]).encode()
    stamp = str(int(time.time() * 1000))
    signature = webhook_signature("app-secret", "POST", f"http://testserver/webhooks/{crm.slug}/", body, stamp)
    response = client.generic("POST", f"/webhooks/{crm.slug}/", body, content_type="application/json",
                              HTTP_X_HUBSPOT_SIGNATURE_V3=signature, HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=stamp)
    assert response.status_code == expect, response.content


def test_stage_flip_flops_and_duplicate_webhooks_create_no_second_order(q2c, emulators, client, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    from integration_hub.sync import tasks

    hubspot, netsuite = emulators
    deal = q2c["deal"]
    sync(deal)
    crm = deal.crm_system
    crm.credentials = {**crm.credentials, "client_secret": "app-secret"}
    crm.save()
    type(deal).objects.filter(pk=deal.pk).update(is_enabled=True)  # webhooks reach enabled mappings only
    monkeypatch.setattr(tasks.process_webhooks, "apply_async",
                        lambda args, countdown=0: tasks.process_webhooks.apply(args, throw=True))
    monkeypatch.setattr(tasks.dispatch_outbox, "delay", lambda: None)  # the dispatcher is busy elsewhere
    globex_id = next(k for k, d in hubspot.store.table("deals").items()
                     if d["properties"]["dealname"] == "Globex annual supply")
    write(crm, "deals", {"id": globex_id, "dealstage": "closedwon"})
    # HubSpot redelivers the same event (kept once, answered "already received"), then sends a second event
    # for the same stage before the first create is even sent: two targeted syncs, one create.
    for event_id, expect in ((101, 202), (101, 200), (102, 202)):
        with django_capture_on_commit_callbacks(execute=True):
            deliver_webhook(client, crm, globex_id, "closedwon", event_id=event_id, expect=expect)
    assert SyncRun.objects.filter(trigger="webhook", mapping=deal).count() == 2  # each a targeted sync
    assert OutboundChange.objects.filter(side="erp", link__isnull=True, record__values__name="Globex annual supply",
                                         status=OutboundStatus.PENDING).count() == 1
    outbox.dispatch_all_until_empty()
    for stage in ("closedlost", "closedwon", "contractsent", "closedwon"):
        write(deal.crm_system, "deals", {"id": globex_id, "dealstage": stage})
        engine.sync_run_for_ids(mapping=deal, ids={"crm": [globex_id]})
        sync(deal)
    globex = Record.objects.get(entity_type="deal", values__name="Globex annual supply")
    # A create retried after a lost answer is the same order (its create key is the deal's).
    create = OutboundChange.objects.get(record=globex, side="erp", link__isnull=True)
    OutboundChange.objects.filter(pk=create.pk).update(status=OutboundStatus.PENDING)
    outbox.dispatch_all_until_empty()
    assert len(orders_of(netsuite, globex)) == 1
    assert len([o for o in netsuite.store.table("salesOrder").values() if o.get("memo") == "Globex annual supply"]) == 1


def test_invoices_and_payments_and_the_order_status_flow_back_to_the_crm(q2c, emulators):
    hubspot, netsuite = emulators
    deal, invoice_mapping = q2c["deal"], q2c["invoice"]
    sync(deal)
    acme = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    [order] = orders_of(netsuite, acme)
    order_id = next(k for k, v in netsuite.store.table("salesOrder").items() if v is order)
    # Finance bills the order in NetSuite.
    invoice_id = write(deal.erp_system, "invoice", {
        "entity": {"id": order["entity"]}, "createdFrom": {"id": order_id}, "currency": "USD",
        "dueDate": "2031-01-31", "item": [{k: line[k] for k in ("item", "quantity", "rate")} | {
            "item": {"id": line["item"]}} for line in order["item"]]})
    sync(deal)
    sync(invoice_mapping)
    crm_deal_id = acme.links.get(system=deal.crm_system).external_id
    assert hubspot.store.table("deals")[crm_deal_id]["properties"]["erp_order_status"] == "Billed"
    golden = Record.objects.get(entity_type="invoice", links__system=deal.erp_system, links__external_id=invoice_id)
    assert golden.values["deal"] == f"record:{acme.pk}"
    crm_invoice_id = golden.links.get(system=deal.crm_system).external_id
    crm_invoice = hubspot.store.table("invoices")[crm_invoice_id]["properties"]
    assert (crm_invoice["hs_amount_billed"], crm_invoice["erp_amount_due"], crm_invoice["hs_invoice_status"]) == (
        "6285.00", "6285.00", "open")
    associations = hubspot.store.table("associations")[f"invoices:{crm_invoice_id}"]
    assert list(associations["deals"]) == [crm_deal_id]
    assert list(associations["companies"]) == [linked(deal.crm_system, "account", name="Acme Incorporated")]
    assert len(associations["line_items"]) == 2

    for paid, (status, due) in ((Decimal("2000.00"), ("open", "4285.00")), (Decimal("4285.00"), ("paid", "0.00"))):
        write(deal.erp_system, "customerPayment", {
            "customer": {"id": order["entity"]}, "payment": float(paid),
            "apply": [{"doc": {"id": invoice_id}, "amount": float(paid)}]})
        sync(invoice_mapping)
        crm_invoice = hubspot.store.table("invoices")[crm_invoice_id]["properties"]
        assert (crm_invoice["hs_invoice_status"], crm_invoice["erp_amount_due"]) == (status, due)
    assert crm_invoice["erp_amount_paid"] == "6285.00"


def netsuite_customers(netsuite, name: str) -> list[dict]:
    with netsuite.store.lock:
        return [{**c, "id": key} for key, c in netsuite.store.table("customer").items() if c.get("companyName") == name]


def test_a_deal_won_by_a_company_the_erp_does_not_know_creates_its_customer_then_its_order(q2c, emulators):
    """Wayne Retail Group is a prospect only HubSpot knows (the account rules send no prospect to the ERP). Its deal
    is won: the hub creates the customer from the company under the account rules, then the order at the deal's
    negotiated prices -- one of each, whatever is retried -- while prospects whose deals are still open stay out."""
    hubspot, netsuite = emulators
    deal, account = q2c["deal"], q2c["account"]
    assert not netsuite_customers(netsuite, "Wayne Retail Group")
    run = sync(deal)
    assert run.status == SyncStatus.SUCCEEDED
    wayne = Record.objects.get(entity_type="deal", values__name="Wayne spare parts")
    [customer] = netsuite_customers(netsuite, "Wayne Retail Group")
    assert customer["currency"] == "GBP"  # billed in the currency it bought in, not the subsidiary's dollars
    [order] = orders_of(netsuite, wayne)
    assert order["entity"] == customer["id"] and order["currency"] == "GBP"
    assert [(line["quantity"], line["rate"]) for line in order["item"]] == [(100, 7.25), (6, 89)]
    assert order["total"] == 1259.0
    # The chain is on record: a run of the account mapping made the customer, and the deal's run says so.
    [chained] = SyncRun.objects.filter(mapping=account, trigger="chain")
    assert chained.status == SyncStatus.SUCCEEDED and chained.counts["created"] == 1
    note = SyncEvent.objects.get(run=run, kind="created", record__isnull=True)
    assert f"sync-run:{chained.pk}" in note.message and "became NetSuite customers first" in note.message
    company = Record.objects.get(entity_type="account", values__name="Wayne Retail Group")
    assert wayne.values["customer"] == f"record:{company.pk}"
    assert company.links.get(system=deal.erp_system).external_id == customer["id"]

    # Retries, flip-flops and the next syncs make no second customer and no second order.
    deal_id = wayne.links.get(system=deal.crm_system).external_id
    for stage in ("closedlost", "closedwon", "closedwon"):
        write(deal.crm_system, "deals", {"id": deal_id, "dealstage": stage})
        engine.sync_run_for_ids(mapping=deal, ids={"crm": [deal_id]})
        sync(deal)
    sync(account)
    assert len(netsuite_customers(netsuite, "Wayne Retail Group")) == 1 and len(orders_of(netsuite, wayne)) == 1
    assert SyncRun.objects.filter(mapping=account, trigger="chain").count() == 1
    # Prospects whose deals are still open (Initech's, Stark's are ERP customers already) stay out of the ERP.
    crm_only = {c["properties"]["name"] for c in hubspot.store.table("companies").values()
                if not RecordLink.objects.filter(system=deal.erp_system, entity_type="account",
                                                 record__links__external_id=c["id"]).exists()}
    assert not any(netsuite_customers(netsuite, name) for name in crm_only - {"Wayne Retail Group"})


def test_a_line_whose_product_the_erp_does_not_know_holds_the_order_until_the_item_is_linked(q2c, emulators):
    hubspot, netsuite = emulators
    deal, item = q2c["deal"], q2c["item"]
    crm = deal.crm_system
    new_product = write(crm, "products", {"name": "Bracket", "hs_sku": "BRK-001", "price": "3.10"})
    deal_id = write(crm, "deals", {
        "dealname": "Acme brackets", "dealstage": "closedwon", "deal_currency_code": "USD",
        "associations": {"companies": [linked(crm, "account", name="Acme Incorporated")]},
        "line_items": [{"hs_product_id": product(crm, "WID-100"), "quantity": "10", "price": "12.50"},
                       {"hs_product_id": new_product, "quantity": "200", "price": "3.10"}]})
    run = sync(deal)
    brackets = Record.objects.get(entity_type="deal", values__name="Acme brackets")
    held = SyncEvent.objects.get(run=run, kind="failed", external_id=deal_id)
    assert f"lines: line 2's item (HubSpot id {new_product}) is not linked yet" in held.message
    assert not orders_of(netsuite, brackets) and "lines" not in brackets.values

    write(deal.erp_system, "inventoryItem", {"externalId": "ITEM-BRK-001", "itemId": "BRK-001",
                                             "displayName": "Bracket", "basePrice": 3.1}, "externalId")
    sync(item)  # the ERP's new item links to the CRM product by SKU
    engine.sync_run_replay(run=run)
    outbox.dispatch_all_until_empty()
    [order] = orders_of(netsuite, brackets)
    assert [(line["quantity"], line["rate"]) for line in order["item"]] == [(10, 12.5), (200, 3.1)]
    assert order["total"] == 745.0


def test_an_erp_rejection_of_one_line_creates_nothing_and_a_replay_after_the_fix_creates_it_whole(q2c, emulators):
    hubspot, netsuite = emulators
    deal = q2c["deal"]
    sync(deal)
    erp = deal.erp_system
    gadget = linked(erp, "item", sku="GAD-300")
    write(erp, "inventoryItem", {"id": gadget, "isInactive": True})  # finance retires the Gadget in the ERP
    initech_id = next(k for k, d in hubspot.store.table("deals").items()
                      if d["properties"]["dealname"] == "Initech gizmo rollout")
    write(deal.crm_system, "deals", {"id": initech_id, "dealstage": "closedwon", "deal_currency_code": "USD",
                                     "line_items": [
                                         {"hs_product_id": product(deal.crm_system, "WID-200"), "quantity": "5",
                                          "price": "24.00"},
                                         {"hs_product_id": product(deal.crm_system, "GAD-300"), "quantity": "100",
                                          "price": "89.00"}]})
    run = sync(deal)
    initech = Record.objects.get(entity_type="deal", values__name="Initech gizmo rollout")
    assert not orders_of(netsuite, initech)  # the whole order refused: no order without its second line
    refused = SyncEvent.objects.get(run=run, kind="write_failed", record=initech)
    assert "USER_ERROR at item.items[1].item" in refused.message
    assert OutboundChange.objects.get(record=initech, side="erp").status == OutboundStatus.DEAD

    write(erp, "inventoryItem", {"id": gadget, "isInactive": False})  # the item is sold again
    engine.sync_run_replay(run=run)
    outbox.dispatch_all_until_empty()
    [order] = orders_of(netsuite, initech)
    assert [line["quantity"] for line in order["item"]] == [5, 100] and order["total"] == 9020.0


def bill_and_pay(erp, netsuite, deal_record: Record, paid: float, due_on: str = "2031-01-31") -> str:
    """Finance bills the deal's order in NetSuite and records a payment; the invoice's id."""
    [order] = orders_of(netsuite, deal_record)
    order_id = next(k for k, v in netsuite.store.table("salesOrder").items() if v is order)
    invoice_id = write(erp, "invoice", {
        "entity": {"id": order["entity"]}, "createdFrom": {"id": order_id}, "currency": order["currency"],
        "dueDate": due_on, "item": [{"item": {"id": line["item"]}, "quantity": line["quantity"], "rate": line["rate"]}
                                    for line in order["item"]]})
    if paid:
        write(erp, "customerPayment", {"customer": {"id": order["entity"]}, "payment": paid,
                                       "apply": [{"doc": {"id": invoice_id}, "amount": paid}]})
    return invoice_id


def test_the_deal_page_shows_its_order_lines_invoices_and_what_is_due(q2c, emulators, client, viewer_user):
    _, netsuite = emulators
    deal = q2c["deal"]
    sync(deal)
    acme = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    bill_and_pay(deal.erp_system, netsuite, acme, 1285.0, due_on="2020-01-31")
    sync(deal)
    sync(q2c["invoice"])
    client.force_login(viewer_user)
    html = client.get(f"/records/{acme.pk}/").content.decode()
    order = html[html.index('id="order"'):]
    assert "Billed" in order[:order.index("</table>")]
    lines = html[html.index('id="lines"'):]
    assert "Widget Standard" in lines and "0.51 USD" in lines and "5995.00 USD" in lines
    assert '<th class="amount" id="lines-total">6285.00 USD</th>' in lines
    invoices = html[html.index('id="invoices"'):]
    assert "1285.00 USD" in invoices and "overdue" in invoices
    assert '<th class="amount" id="amount-due">5000.00 USD</th>' in invoices

    # The company's page: its deals and orders, and every invoice (the ERP's older ones too) with what is due.
    company = Record.objects.get(entity_type="account", values__name="Acme Incorporated")
    page = client.get(f"/records/{company.pk}/").content.decode()
    assert "Acme - 500 widgets" in page[page.index('id="orders"'):]
    invoices = page[page.index('id="invoices"'):]
    assert invoices.count("overdue</span>") == 2  # 90 days late, and the one just billed with a past due date
    assert '<th class="amount" id="amount-due">13701.20 USD</th>' in invoices  # 6200.00 + 2501.20 + 5000.00

    # Wayne's deal made its customer first: its page shows its order, and nothing held.
    wayne = Record.objects.get(entity_type="deal", values__name="Wayne spare parts")
    page = client.get(f"/records/{wayne.pk}/").content.decode()
    assert 'id="holds"' not in page and "1259.00 GBP" in page[page.index('id="order"'):]


def test_a_crm_quote_becomes_an_erp_estimate_and_its_number_and_status_come_back(q2c, emulators):
    hubspot, netsuite = emulators
    quote = q2c["quote"]
    sync(quote)
    golden = Record.objects.get(entity_type="quote", values__title="Acme - 500 Widget Pro")
    [estimate] = [e for e in netsuite.store.table("estimate").values() if e.get("externalId") == f"hub-{golden.pk}"]
    assert [(line["quantity"], line["rate"], line["custcol_hub_discount"]) for line in estimate["item"]] == [
        (500, 22.8, 1.2)]
    assert (estimate["total"], estimate["expirationDate"], estimate["memo"]) == (11400.0, "2031-12-31",
                                                                             "Acme - 500 Widget Pro")
    sync(quote)
    crm_quote = hubspot.store.table("quotes")[golden.links.get(system=quote.crm_system).external_id]["properties"]
    assert (crm_quote["erp_quote_number"], crm_quote["erp_quote_status"]) == (estimate["tranId"], "Open")


def test_the_rep_sees_stock_prices_and_the_customers_overdue_balance_before_quoting(q2c, emulators):
    """500 Widget Pro quoted; the ERP has 200, prices by level, and Acme is 90 days overdue."""
    hubspot, _ = emulators
    crm = q2c["item"].crm_system
    widget_pro = hubspot.store.table("products")[product(crm, "WID-200")]["properties"]
    assert (widget_pro["erp_quantity_on_hand"], widget_pro["price"]) == ("200", "24")
    assert (widget_pro["erp_price_wholesale"], widget_pro["erp_price_partner"]) == ("21.6", "20.4")
    acme = hubspot.store.table("companies")[linked(crm, "account", name="Acme Incorporated")]["properties"]
    assert (acme["erp_overdue_balance"], acme["erp_days_overdue"], acme["erp_credit_hold"]) == ("6200.00", "90",
                                                                                                "auto")
    assert (acme["erp_credit_limit"], acme["erp_outstanding_balance"], acme["erp_currency"]) == (
        "50000.00", "18450.00", "USD")


def test_an_item_made_inactive_in_the_erp_becomes_unavailable_in_the_crm_and_is_never_deleted(q2c, emulators):
    hubspot, _ = emulators
    item = q2c["item"]
    write(item.erp_system, "inventoryItem", {"id": linked(item.erp_system, "item", sku="SRV-KIT"), "isInactive": True})
    sync(item)
    kit_id = product(item.crm_system, "SRV-KIT")
    kit = hubspot.store.table("products")[kit_id]
    assert kit["properties"]["erp_inactive"] == "true" and not kit["archived"]
    assert Record.objects.get(entity_type="item", values__sku="SRV-KIT").values["inactive"] is True


def test_a_line_edited_on_the_deal_reaches_the_order_whole_and_an_erp_edit_of_the_lines_waits_for_finance(
        q2c, emulators):
    from reconciliation.conflicts.models import Conflict

    hubspot, netsuite = emulators
    deal = q2c["deal"]
    sync(deal)
    sync(deal)
    acme = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    crm_id = acme.links.get(system=deal.crm_system).external_id
    widget_line = next(i for i in hubspot.store.table("associations")[f"deals:{crm_id}"]["line_items"]
                       if hubspot.store.table("line_items")[i]["properties"]["hs_sku"] == "WID-100")
    initech = next(k for k, d in hubspot.store.table("deals").items()
                   if d["properties"]["dealname"] == "Initech gizmo rollout")
    write(deal.crm_system, "deals", {"id": initech, "amount": "9000"})
    sync(deal)  # the deals' cursor is past Acme's deal now
    write(deal.crm_system, "line_items", {"id": widget_line, "quantity": "450"})  # the deal itself is untouched
    sync(deal)
    [order] = orders_of(netsuite, acme)
    assert [line["quantity"] for line in order["item"]] == [450, 40] and order["total"] == 5685.5
    assert len(order["item"]) == 2  # replaced whole, not a third line added

    order_id = acme.links.get(system=deal.erp_system).external_id
    write(deal.erp_system, "salesOrder", {"id": order_id, "item": [
        {"item": {"id": line["item"]}, "quantity": line["quantity"], "rate": 9.99 if n == 0 else line["rate"]}
        for n, line in enumerate(order["item"])]})
    run = sync(deal)
    conflict = Conflict.objects.get(record=acme, field="lines")
    assert conflict.approver_role == "finance" and run.counts["conflicts"] == 1
    assert conflict.erp_value[0]["unit_price"]["amount"] == "9.99"
    acme.refresh_from_db()
    assert acme.values["lines"][0]["unit_price"]["amount"] == "12.50"  # held for finance, not taken
