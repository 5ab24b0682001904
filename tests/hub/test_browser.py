"""In real headless Chromium: sign in, open the record page, read the timeline's diff."""
from __future__ import annotations

import os

import pytest

from integration_hub import audit, services
from tests.conftest import CHROMIUM

pytestmark = [pytest.mark.chromium]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture
def page(live_server):
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself are still synchronous, so Django's async guard is relaxed for browser tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(base_url=live_server.url)
        finally:
            browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def acme(transactional_db, crm_system):
    with audit.acting_as("sync-run:2", reason="first sync"):
        record = services.record_create(entity_type="account", values={"name": "Acme Inc", "city": "Leeds"})
        services.record_link(record=record, system=crm_system, external_id="1001")
    with audit.acting_as("sync-run:3", reason="address changed in the CRM"):
        services.record_update_values(record=record, changes={"city": "York"})
    return record


# Data fixtures come before `page`: once Playwright runs, ORM calls would open connections in
# another greenlet's context that the test database teardown cannot close.
def test_a_viewer_signs_in_and_reads_the_record_timeline(viewer_user, acme, live_server, page):
    record = acme

    page.goto(f"{live_server.url}/records/{record.pk}/")
    assert "/login/" in page.url  # sent to sign in first
    page.fill("#id_username", viewer_user.username)
    page.fill("#id_password", "wrong password")
    page.click("input[type=submit]")
    assert page.locator(".errornote").is_visible()

    page.fill("#id_username", viewer_user.username)
    page.fill("#id_password", "pw-vera-viewer")
    page.click("input[type=submit]")
    page.wait_for_url(f"**/records/{record.pk}/")

    assert page.locator("main h1").inner_text().startswith("Acme Inc")
    assert "1001" in page.locator("#links").inner_text()
    change = page.locator(".hub-timeline-entry", has_text="address changed in the CRM")
    assert change.locator("td.before").inner_text() == "Leeds"
    assert change.locator("td.after").inner_text() == "York"
    assert "sync-run:3" in change.inner_text()
    # A viewer has no admin link and gets 403 there.
    assert page.locator("a[href='/admin/']").count() == 0
    response = page.goto(f"{live_server.url}/admin/")
    assert response.status == 403
