"""In real headless Chromium: a Finance approver decides a conflict from the queue, with a comment."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.chromium]


# Data fixtures come before `page` (see tests/project/test_browser.py).
def test_finance_decides_a_conflict_and_sees_it_leave_the_queue(finance_user, live, live_server, page):  # noqa: F811
    conflict, record_id = live.price_conflict, live.price_conflict.record_id

    page.goto(f"{live_server.url}/conflicts/")
    page.fill("#id_username", finance_user.username)
    page.fill("#id_password", "pw-fred-finance")
    page.click("input[type=submit]")
    page.wait_for_url("**/conflicts/")
    assert page.locator("#conflict-badge").inner_text() == "1"  # the one finance conflict
    row = page.locator(f"#conflicts tr[data-conflict='{conflict.pk}']")
    assert "11.00 USD" in row.inner_text() and "12.50 USD" in row.inner_text()

    row.get_by_role("link", name="unit_price").click()
    page.wait_for_url(f"**/conflicts/{conflict.pk}/")
    page.click("#take-erp")  # without the required comment the browser refuses to send the form
    assert page.url.endswith(f"/conflicts/{conflict.pk}/")
    page.fill("#id_comment", "list price stands; discount goes on the quote")
    page.click("#take-erp")
    page.wait_for_load_state()
    assert "unit_price: Take ERP" in page.locator(".messagelist").inner_text()

    page.goto(f"{live_server.url}/conflicts/")
    assert page.locator(f"#conflicts tr[data-conflict='{conflict.pk}']").count() == 0
    assert page.locator("#conflict-badge").count() == 0  # nothing left for finance

    page.goto(f"{live_server.url}/records/{record_id}/")
    decision = page.locator(".hub-timeline-entry", has_text="conflict decided")
    assert "list price stands; discount goes on the quote" in decision.inner_text()
    assert "fred-finance" in decision.inner_text()
    assert page.locator(".hub-timeline-entry", has_text="decision pushed (sent)").count() == 1
