"""The sandboxes' quote-to-cash surface: HubSpot line items, quotes and invoices driven by HubSpot's official
client (its models validate every answer), and NetSuite's lines, payments and billed orders over signed HTTP."""
from __future__ import annotations

from hubspot import HubSpot
from hubspot.crm.associations.v4.models import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)

from connectors.hubspot import HubSpotConnector
from tests.connectors.conftest import FAST
from tests.connectors.netsuite_fixtures import ns_fixture, signed  # noqa: F401

REC = "/services/rest/record/v1"


def line_items(client: HubSpot, ids: list[str]) -> dict[str, dict]:
    read = client.crm.objects.batch_api.read("line_items", BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in ids], properties=["name", "hs_sku", "price", "amount", "discount"],
        properties_with_history=[]))
    return {r.id: r.properties for r in read.results}


def test_line_items_created_on_a_deal_take_the_products_name_and_hubspot_works_out_the_net_amount(hubspot_demo):
    client = HubSpot(access_token="sandbox-token", host=hubspot_demo.url)
    widget = next(p for p in client.crm.products.basic_api.get_page(limit=10, properties=["hs_sku"]).results
                  if p.properties["hs_sku"] == "WID-100")
    deal = client.crm.deals.basic_api.create(SimplePublicObjectInputForCreate(properties={"dealname": "Lines"}))
    created = client.crm.objects.batch_api.create("line_items", BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        SimplePublicObjectBatchInputForCreate(
            properties={"hs_product_id": widget.id, "quantity": "3", "price": "12.50", "discount": "0.335"},
            associations=[PublicAssociationsForObject(to=PublicObjectId(id=deal.id), types=[
                AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=20)])]),
        SimplePublicObjectBatchInputForCreate(
            properties={"name": "Custom", "quantity": "2", "price": "10", "hs_discount_percentage": "12.5"},
            associations=[PublicAssociationsForObject(to=PublicObjectId(id=deal.id), types=[
                AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=20)])])]))

    ids = sorted(r.id for r in created.results)
    lines = line_items(client, ids)
    assert (lines[ids[0]]["name"], lines[ids[0]]["hs_sku"], lines[ids[0]]["amount"]) == ("Widget Standard", "WID-100",
                                                                                         "36.50")  # 3 x 12.165
    assert lines[ids[1]]["amount"] == "17.50"
    found = client.crm.associations.v4.batch_api.get_page("deals", "line_items",
                                                          BatchInputPublicFetchAssociationsBatchRequest(inputs=[
                                                              PublicFetchAssociationsBatchRequest(id=deal.id)]))
    assert sorted(str(t.to_object_id) for t in found.results[0].to) == ids


def test_the_connector_replaces_a_documents_lines_whole_and_reads_them_back_in_order(hubspot_demo):
    connector = HubSpotConnector(hubspot_demo.url, {"access_token": "sandbox-token"}, **FAST)
    try:
        first = [{"hs_product_id": "1017", "quantity": "1", "price": "12.50"},
                 {"hs_product_id": "1020", "quantity": "2", "price": "7.25"}]
        [deal] = connector.upsert_many("deals", [{"dealname": "Whole", "line_items": first,
                                                  "associations": {"companies": ["1003"]}}], None)
        assert deal.ok, deal.error
        [result] = connector.upsert_many("deals", [{"id": deal.external_id, "line_items": first[::-1]}], None)
        assert result.ok, result.error
        [read] = connector.get_many("deals", [deal.external_id], associations=["companies"], line_items=True)
    finally:
        connector.close()
    assert [(line["hs_product_id"], line["quantity"]) for line in read.fields["line_items"]] == [
        ("1020", "2"), ("1017", "1")]  # the old two archived, the new two in the order written
    assert read.associations["companies"] == ["1003"]
    assert all(not record["archived"] for record in hubspot_demo.store.table("line_items").values()
               if record["id"] in {line["id"] for line in read.fields["line_items"]})


def test_invoices_associate_with_deals_and_companies_by_hubspots_type_ids(hubspot_demo):
    client = HubSpot(access_token="sandbox-token", host=hubspot_demo.url)
    invoice = client.crm.objects.basic_api.create("invoices", SimplePublicObjectInputForCreate(
        properties={"hs_number": "INV-9", "hs_currency": "USD", "hs_amount_billed": "10.00"},
        associations=[PublicAssociationsForObject(to=PublicObjectId(id="1022"), types=[
            AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=175)]),
            PublicAssociationsForObject(to=PublicObjectId(id="1003"), types=[
                AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=179)])]))
    fetched = client.crm.objects.basic_api.get_by_id("invoices", invoice.id, associations=["deals", "companies"])
    assert [a.id for a in fetched.associations["deals"].results] == ["1022"]
    assert [a.id for a in fetched.associations["companies"].results] == ["1003"]


def test_netsuite_computes_line_amounts_in_decimals_and_refuses_an_inactive_item_whole(ns):
    items = {i["itemid"]: i["id"] for i in signed("POST", f"{ns.url}/services/rest/query/v1/suiteql",
                                                   json={"q": "SELECT id, itemid FROM item"},
                                                   headers={"Prefer": "transient"}).json()["items"]}
    created = signed("POST", f"{ns.url}{REC}/salesOrder", json={"entity": {"externalId": "CUST-1001"}, "item": {
        "items": [{"item": {"id": items["WID-100"]}, "quantity": 3, "rate": 0.115, "custcol_hub_discount": 0.01},
                  {"item": {"id": items["CBL-010"]}, "quantity": 1.5, "rate": 19.99}]}})
    order = signed("GET", created.headers["Location"], params={"expandSubResources": "true"}).json()
    assert [line["amount"] for line in order["item"]["items"]] == [0.35, 29.99]  # half up: 0.345 -> 0.35
    assert order["total"] == 30.34 and order["item"]["items"][0]["custcol_hub_discount"] == 0.01

    signed("PATCH", f"{ns.url}{REC}/inventoryItem/{items['GAD-300']}", json={"isInactive": True})
    refused = signed("POST", f"{ns.url}{REC}/salesOrder", json={"entity": {"externalId": "CUST-1001"}, "item": {
        "items": [{"item": {"id": items["WID-100"]}, "quantity": 1, "rate": 1},
                  {"item": {"id": items["GAD-300"]}, "quantity": 1, "rate": 1}]}})
    assert refused.status_code == 400
    assert refused.json()["o:errorDetails"][0]["o:errorPath"] == "item.items[1].item"
    assert sum(1 for o in ns.store.table("salesOrder").values() if o.get("total") == 2.0) == 0  # nothing written


def test_a_customer_payment_pays_invoices_and_billing_an_order_moves_its_status(ns):
    invoice = signed("GET", f"{ns.url}{REC}/invoice/eid:INV-DEMO-1").json()
    too_much = signed("POST", f"{ns.url}{REC}/customerPayment", json={
        "customer": {"externalId": "CUST-1001"}, "payment": 9999,
        "apply": {"items": [{"doc": {"id": invoice["id"]}, "amount": 9999}]}})
    assert too_much.status_code == 400 and "more than" in too_much.json()["o:errorDetails"][0]["detail"]

    for amount, (status, due) in ((6000.0, ("Open", 200.0)), (200.0, ("Paid In Full", 0.0))):
        paid = signed("POST", f"{ns.url}{REC}/customerPayment", json={
            "customer": {"externalId": "CUST-1001"}, "payment": amount,
            "apply": {"items": [{"doc": {"id": invoice["id"]}, "amount": amount}]}})
        assert paid.status_code == 204
        after = signed("GET", f"{ns.url}{REC}/invoice/eid:INV-DEMO-1").json()
        assert (after["status"], after["amountRemaining"]) == (status, due)
        assert after["lastModifiedDate"] >= invoice["lastModifiedDate"]
    acme = signed("GET", f"{ns.url}{REC}/customer/eid:CUST-1001").json()
    assert acme["balance"] == 18450.0 - 6200.0

    created = signed("POST", f"{ns.url}{REC}/salesOrder", json={
        "entity": {"externalId": "CUST-1002"}, "externalId": "SO-NEW",
        "item": {"items": [{"item": {"externalId": "ITEM-SRV-KIT"}, "quantity": 1, "rate": 150}]}})
    assert signed("GET", created.headers["Location"]).json()["status"] == "Pending Fulfillment"
    billed = signed("POST", f"{ns.url}{REC}/invoice", json={
        "entity": {"externalId": "CUST-1002"}, "createdFrom": {"externalId": "SO-NEW"},
        "item": {"items": [{"item": {"externalId": "ITEM-SRV-KIT"}, "quantity": 1, "rate": 150}]}})
    assert billed.status_code == 204
    assert signed("GET", created.headers["Location"]).json()["status"] == "Billed"


def test_one_document_with_a_bad_line_fails_alone_and_the_rest_of_the_batch_gets_its_lines(hubspot_demo):
    connector = HubSpotConnector(hubspot_demo.url, {"access_token": "sandbox-token"}, **FAST)
    try:
        results = connector.upsert_many("invoices", [
            {"hs_number": "INV-A", "line_items": [{"hs_product_id": "1017", "quantity": "2", "price": "12.50"}]},
            {"hs_number": "INV-B", "line_items": [{"hs_product_id": "1017", "quantity": "two", "price": "1"}]},
            {"hs_number": "INV-C", "line_items": [{"hs_product_id": "1020", "quantity": "1", "price": "7.25"}]},
        ], None)
        good = connector.get_many("invoices", [results[0].external_id, results[2].external_id], line_items=True)
    finally:
        connector.close()
    assert [r.ok for r in results] == [True, False, True]
    assert "could not write the line items" in results[1].error.message and results[1].error.permanent
    assert [[line["amount"] for line in r.fields["line_items"]] for r in good] == [["25.00"], ["7.25"]]
