"""In real headless Chromium: a viewer opens a closed deal's record page and reads its ERP order, its lines, its
invoices and what is still due, all brought there by the sync from the two sandboxes."""
from __future__ import annotations

import pytest

from integration_hub.records.models import Record
from tests.sync.test_quote_to_cash import bill_and_pay, sync, two_way

pytestmark = [pytest.mark.chromium]


@pytest.fixture
def billed_deal(transactional_db, published, emulators):
    """Acme's closed deal, its order created in NetSuite, billed twice: one invoice part paid, one overdue."""
    _, netsuite = emulators
    two_way()
    for entity in ("item", "price", "account", "deal"):
        sync(published[entity])
    deal = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    bill_and_pay(published["deal"].erp_system, netsuite, deal, 2000.0, due_on="2031-03-31")
    bill_and_pay(published["deal"].erp_system, netsuite, deal, 0, due_on="2020-01-31")
    for entity in ("deal", "invoice"):
        sync(published[entity])
    deal.refresh_from_db()
    return deal


# Data fixtures come before `page` (see test_browser.py).
def test_a_viewer_reads_the_deals_order_invoices_and_amounts_due(viewer_user, billed_deal, live_server, page):  # noqa: F811
    page.goto(f"{live_server.url}/records/{billed_deal.pk}/")
    page.fill("#id_username", viewer_user.username)
    page.fill("#id_password", "pw-vera-viewer")
    page.click("input[type=submit]")
    page.wait_for_url(f"**/records/{billed_deal.pk}/")

    assert page.locator("main h1").inner_text().startswith("Acme - 500 widgets")
    order = page.locator("#order tbody tr")
    assert order.locator("td").nth(0).inner_text() == billed_deal.values["order_number"]
    assert order.locator("td").nth(1).inner_text() == "Billed"
    assert order.locator("td").nth(3).inner_text() == "6285.00 USD"
    lines = page.locator("#lines tbody tr")
    assert lines.count() == 2
    assert lines.nth(0).locator("td").nth(1).inner_text() == "Widget Standard"
    assert lines.nth(0).locator("td.amount").inner_text() == "5995.00 USD"
    assert page.locator("#lines-total").inner_text() == "6285.00 USD"

    invoices = page.locator("#invoices tbody tr")
    assert invoices.count() == 2
    overdue = invoices.filter(has_text="overdue")
    assert overdue.count() == 1 and overdue.locator("td.amount").inner_text() == "6285.00 USD"
    part_paid = invoices.filter(has_text="2000.00 USD")
    assert part_paid.locator("td.amount").inner_text() == "4285.00 USD"
    assert page.locator("#amount-due").inner_text() == "10570.00 USD"
    # On to the overdue invoice's own page.
    number = overdue.locator("a").inner_text()
    overdue.locator("a").click()
    page.wait_for_url("**/records/*/")
    assert page.locator("main h1").inner_text().startswith(number) and number.startswith("INV")
