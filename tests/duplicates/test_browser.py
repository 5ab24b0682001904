"""In real headless Chromium: a RevOps admin walks the duplicate queue to one merge, then undoes it."""
from __future__ import annotations

import pytest

from integration_hub.kernel import audit
from integration_hub.records import services as hub
from reconciliation.duplicates import scan

# Data fixtures come before `page`, and the test makes no ORM call once Playwright runs (see tests/hub).

pytestmark = [pytest.mark.chromium]


@pytest.fixture
def acme(transactional_db, crm_system, erp_system):
    with audit.acting_as("sync-run:1", reason="first sync"):
        survivor = hub.record_create(entity_type="account", values={
            "name": "Acme Incorporated", "domain": "acme.example", "phone": "217.555.0100"})
        hub.record_link(record=survivor, system=erp_system, external_id="C-100")
        absorbed = hub.record_create(entity_type="account", values={
            "name": "ACME, Inc.", "domain": "www.acme.example", "phone": "(217) 555-0100",
            "shipping_city": "Springfield"})
        hub.record_link(record=absorbed, system=crm_system, external_id="9001")
    scan.duplicates_scan(entity_type="account")
    return survivor, absorbed


def test_revops_merges_a_cluster_from_the_queue_and_undoes_it(revops_user, acme, live_server, page):  # noqa: F811
    survivor, absorbed = acme
    page.goto(f"{live_server.url}/login/?next=/duplicates/")
    page.fill("#id_username", revops_user.username)
    page.fill("#id_password", "pw-rita-revops")
    page.click("input[type=submit]")
    page.wait_for_url("**/duplicates/")

    page.click("table.hub-table tbody tr:first-child td a")  # the best-scored cluster
    side = page.locator("#side-by-side")
    assert "Acme Incorporated" in side.inner_text() and "ACME, Inc." in side.inner_text()
    assert page.locator("tr.differs[data-field='name']").count() == 1
    assert "C-100" in page.locator("#external-ids").inner_text()
    assert "9001" in page.locator("#external-ids").inner_text()
    page.check(f"input[name=survivor][value='{survivor.pk}']")
    page.check(f"input[name='choice:name'][value='{survivor.pk}']")
    page.click("#merge-button")
    page.wait_for_url("**/duplicates/merges/*/")
    assert "You can undo this merge until" in page.locator(".messagelist").inner_text()
    assert "Acme Incorporated" in page.locator("#survivor").inner_text()
    assert "Springfield" in page.locator("#choices").inner_text()

    page.click("#undo-button")
    page.wait_for_selector("#undo-report")
    assert "undone" in page.locator(".messagelist").inner_text()
    assert f"9001: back to record #{absorbed.pk}" in page.locator("#undo-report").inner_text()
