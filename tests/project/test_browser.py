"""In real headless Chromium: sign in, open the record page, read the timeline's diff."""
from __future__ import annotations

import pytest

from integration_hub.kernel import audit
from integration_hub.records import services

pytestmark = [pytest.mark.chromium]


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
