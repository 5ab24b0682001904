"""In real headless Chromium: a RevOps admin finds NetSuite's refusals grouped by cause on the dead-letter page,
retries the whole cause once the field is optional again, confirms, and the writes reach NetSuite."""
from __future__ import annotations

import pytest

from connectors.models import ConnectedSystem
from integration_hub.sync import outbox
from integration_hub.sync.models import OutboundChange, OutboundStatus
from tests.sync.test_dead_letters import crm_edit, netsuite_contact, sync

pytestmark = [pytest.mark.chromium]


@pytest.fixture
def refused_then_fixed(transactional_db, published, emulators):
    """Two contact writes NetSuite refused while a field was mandatory; the field is optional again."""
    _, netsuite = emulators
    ConnectedSystem.objects.update(rollout_stage="two_way")
    for entity in ("account", "contact"):
        sync(published[entity])
    netsuite.set_faults(required_fields={"contact": ["custentity_badge"]})
    crm_edit("Hank Scorpio", jobtitle="Head Buyer")
    crm_edit("Pepper Potts", jobtitle="Chief Executive")
    sync(published["contact"])
    netsuite.set_faults(required_fields={})
    return list(OutboundChange.objects.filter(status=OutboundStatus.DEAD))


# Data fixtures come before `page` (see tests/project/test_browser.py).
def test_revops_retries_a_cause_from_the_dead_letter_page(revops_user, refused_then_fixed, live_server, page):
    assert len(refused_then_fixed) == 2
    page.goto(f"{live_server.url}/login/?next=/sync/dead-letters/")
    page.fill("#id_username", revops_user.username)
    page.fill("#id_password", "pw-rita-revops")
    page.click("input[type=submit]")
    page.wait_for_url("**/sync/dead-letters/")

    cause = page.locator("#causes tbody tr")
    assert cause.count() == 1
    assert "Please enter value(s) for: custentity_badge" in cause.inner_text()
    assert cause.locator("td.count").inner_text() == "2"
    assert page.locator("#dead-letters tbody tr").count() == 2
    assert {page.locator("#dead-letters tbody tr").nth(i).locator("td").nth(1).inner_text() for i in range(2)} == {
        "Hank Scorpio", "Pepper Potts"}

    cause.locator("button.retry-cause").click()
    page.wait_for_url("**/sync/dead-letters/confirm/**")
    assert "Retry 2 dead letters" in page.locator("main h1").inner_text()
    page.fill("#id_reason", "badge optional again")
    page.click("#confirm")
    page.wait_for_url("**/sync/dead-letters/?cause=*")
    assert "2 writes back in the outbox" in page.locator("body").inner_text()
    assert page.locator("#no-causes").is_visible()

    assert outbox.dispatch_all().sent == 2
    assert netsuite_contact("Pepper Potts")["title"] == "Chief Executive"
    assert netsuite_contact("Hank Scorpio")["title"] == "Head Buyer"
