"""In real headless Chromium: the health dashboard's charts draw the stored samples."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reconciliation.health import metrics
from reconciliation.health.models import MetricSample

pytestmark = [pytest.mark.chromium]

PAINTED = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
  return painted;
}"""


@pytest.fixture
def a_day_of_samples(transactional_db, crm_system, erp_system):
    base = metrics.snapshot()
    now = timezone.now()
    for i in range(24):
        data = {**base, "hub": {**base["hub"], "error_rate": (i % 5) / 100, "latency_p50": 1.0 + i / 10,
                                "latency_p99": 4.0 + i / 4, "outbox_depth": 10 * i, "celery_queue_depth": i % 3}}
        MetricSample.objects.create(taken_at=now - timedelta(hours=23 - i), data=data)


def test_the_dashboard_charts_render_with_data(viewer_user, a_day_of_samples, live_server, page):  # noqa: F811
    page.goto(f"{live_server.url}/login/?next=/health/")
    page.fill("#id_username", viewer_user.username)
    page.fill("#id_password", "pw-vera-viewer")
    page.click("input[type=submit]")
    page.wait_for_url("**/health/")

    for chart in ("chart-errors", "chart-latency", "chart-queues"):
        canvas = page.locator(f"#{chart}")
        canvas.wait_for()
        page.wait_for_function(f"document.getElementById('{chart}').dataset.rendered === 'true'", timeout=10_000)
        assert int(canvas.get_attribute("data-points")) >= 24
        assert canvas.evaluate(PAINTED) > 500  # lines and axes were drawn, not an empty canvas
    assert page.evaluate("typeof Chart") == "function"  # from our own static files
    assert page.locator("#system-status .health-tile").count() == 2
