"""In real headless Chromium, under the Content-Security-Policy: the pages' scripts (now files) still work and the
browser reports no violation. Sign in, tick all conflicts, jump to the comment box, watch a run's live progress,
open Swagger UI (its start-up script a file), open the admin's periodic-task form (its helper a file)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reconciliation.conflicts.derive import conflict_open
from tests.project.test_hostile_input import world  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.chromium]


@pytest.fixture
def scene(transactional_db, world):  # noqa: F811
    from integration_hub.sync.models import SyncRun
    from mapping.models import ObjectMapping
    from mapping.services import mapping_sync_schedule
    from reconciliation.conflicts.models import Conflict

    conflict = next(obj for model, obj in world.items() if model is Conflict)
    conflict_open(record=conflict.record, mapping=conflict.mapping, field="city", crm_value="York",
                            erp_value="Leeds", policy="manual_review", approver_role="revops", reason="both changed",
                            entity_type="account", account=conflict.record)
    mapping = world[ObjectMapping]
    running = SyncRun.objects.create(mapping=mapping, trigger="manual", status="running", processed=3)
    task = mapping_sync_schedule(mapping=mapping)
    return {"conflict": conflict, "running": running, "task": task}


# Data fixtures come before `page` (see tests/project/test_browser.py).
def test_pages_work_under_the_policy_and_the_browser_reports_no_violation(superuser, scene, live_server, page):
    problems: list[str] = []
    # Errors the pages log (a failed load is listed by its response, with its address), and failed responses
    # (the browser's own favicon look-up aside: the admin's pages name none).
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on("response", lambda r: problems.append(f"{r.url}: {r.status}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", "pw-sam-super")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/conflicts/")
    page.check("#select-page")
    boxes = page.locator("#conflicts tbody input[name=select]")
    assert boxes.count() == 2 and all(boxes.nth(i).is_checked() for i in range(2))

    page.goto(f"{live_server.url}/conflicts/{scene['conflict'].pk}/")
    page.locator("main h1").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") in ("id_comment", "id_text")

    page.goto(f"{live_server.url}/sync-runs/{scene['running'].pk}/")
    page.evaluate("document.getElementById('run-processed').textContent = 'not yet polled'")
    expect(page.locator("#run-processed")).to_have_text("3", timeout=10_000)  # the poll put it back

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() > 10

    page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/{scene['task'].pk}/change/")
    page.wait_for_selector("#periodictask_form")
    assert page.evaluate("document.getElementById('periodic-task-overrides') !== null")

    violations = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert violations == [] and problems == []
