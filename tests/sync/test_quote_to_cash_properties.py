"""Property: whatever lines a closed deal has, the ERP order the sync creates has the same lines and the same
total, to the cent (decimals only), over real HTTP against both sandboxes."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.services import connector_session
from integration_hub.records.models import Record
from integration_hub.sync import engine, outbox
from integration_hub.sync.rules import compile_mapping
from mapping.line_items import lines_total
from tests.sync.test_quote_to_cash import linked, orders_of, q2c, write  # noqa: F401 (q2c: the fixture)

# Items, prices and accounts synced first (q2c), so the deals' products and companies are linked.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("q2c")]

SKUS = ("WID-100", "WID-200", "GAD-300", "CBL-010", "SRV-KIT")
CENT = Decimal("0.01")
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
quantities = st.one_of(st.integers(1, 10_000).map(Decimal),
                       st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2))


@st.composite
def a_line(draw) -> tuple[str, Decimal, Decimal, Decimal]:
    price = draw(prices)
    discount = draw(st.one_of(st.just(Decimal("0.00")),
                              st.decimals(min_value=Decimal("0.00"), max_value=price, places=2)))
    return draw(st.sampled_from(SKUS)), draw(quantities), price, discount


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(a_line(), min_size=1, max_size=8))
def test_the_erp_order_has_the_deals_lines_and_total_to_the_cent(published, emulators, lines):
    hubspot, netsuite = emulators
    deal = published["deal"]
    crm, erp = deal.crm_system, deal.erp_system
    deal_id = write(crm, "deals", {
        "dealname": "Property deal", "dealstage": "closedwon", "deal_currency_code": "USD",
        "associations": {"companies": [linked(crm, "account", name="Acme Incorporated")]},
        "line_items": [{"hs_product_id": linked(crm, "item", sku=sku), "quantity": str(quantity), "price": str(price),
                        "discount": str(discount)} for sku, quantity, price, discount in lines]})
    engine.sync_run_for_ids(mapping=deal, ids={"crm": [deal_id]})  # the webhook's targeted sync
    outbox.dispatch_all_until_empty()

    golden = Record.objects.get(entity_type="deal", links__system=crm, links__external_id=deal_id)
    [order] = orders_of(netsuite, golden)
    with connector_session(erp) as connector:  # read back as anyone reading NetSuite would
        [remote] = connector.get_many("salesOrder", [golden.links.get(system=erp).external_id])
    erp_lines = compile_mapping(deal).mappers["erp"].to_canonical(remote.fields).values["lines"]
    skus = {item_id: row["itemId"] for item_id, row in netsuite.store.table("inventoryItem").items()}
    read_back = [(skus[line["item"]], Decimal(line["quantity"]), Decimal(line["unit_price"]["amount"]),
                  Decimal(line["discount"]["amount"])) for line in erp_lines]
    assert read_back == lines  # every line, in order, exactly as the rep negotiated it

    expected = sum(((q * (p - d)).quantize(CENT, rounding=ROUND_HALF_UP) for _, q, p, d in lines), Decimal(0))
    assert Decimal(str(order["total"])) == expected == lines_total(golden.values["lines"])
    line_ids = hubspot.store.table("associations")[f"deals:{deal_id}"]["line_items"]
    crm_amounts = [Decimal(hubspot.store.table("line_items")[i]["properties"]["amount"]) for i in line_ids]
    assert sum(crm_amounts, Decimal(0)) == expected  # HubSpot's own net amounts agree too
