"""An alert fires when writes dead-letter: NetSuite refuses the hub's writes, the default rule opens an alert on it
(emailed to RevOps), the health page links its dead letters, and the alert resolves once a person dealt with them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from connectors.models import ConnectedSystem
from integration_hub.sync import dead_letters
from integration_hub.sync.models import OutboundChange, OutboundStatus
from reconciliation.health import alerts, metrics
from reconciliation.health.models import Alert, AlertRule, AlertStatus
from tests.sync.test_dead_letters import crm_edit, sync

pytestmark = pytest.mark.django_db

RULE = "Writes dead-lettered"


@pytest.fixture
def refused(published, emulators, revops_user):
    """Contacts synced two-way; then NetSuite made a field mandatory and refused two of the hub's writes."""
    _, netsuite = emulators
    revops_user.email = "rita@example.com"
    revops_user.save()
    ConnectedSystem.objects.update(rollout_stage="two_way")
    for entity in ("account", "contact"):
        sync(published[entity])
    netsuite.set_faults(required_fields={"contact": ["custentity_badge"]})
    crm_edit("Hank Scorpio", jobtitle="Head Buyer")
    crm_edit("Pepper Potts", jobtitle="Chief Executive")
    sync(published["contact"])
    return list(OutboundChange.objects.filter(status=OutboundStatus.DEAD))


def evaluate(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return alerts.alerts_evaluate()


def test_the_default_rule_watches_dead_letters(db):
    rule = AlertRule.objects.get(name=RULE)
    assert (rule.metric, rule.comparison, rule.threshold, rule.window_minutes) == ("dead_letters", "gt", 0, 60)


def test_dead_letters_open_an_alert_shown_on_the_health_page_until_they_are_dealt_with(
        client, revops_user, refused, django_capture_on_commit_callbacks):
    assert len(refused) == 2
    opened = evaluate(django_capture_on_commit_callbacks)["opened"]
    [alert] = [a for a in opened if a.rule.name == RULE]
    assert alert.subject == "system:erp" and alert.value == 2 and alert.message.startswith("NetSuite: ")
    assert any(RULE in m.subject and "rita@example.com" in m.to for m in mail.outbox)

    client.force_login(revops_user)
    page = client.get("/health/").content.decode()
    erp = ConnectedSystem.objects.get(role="erp")
    assert '<a href="/sync/dead-letters/" id="dead-letters">2 dead letters</a>' in page
    assert f'href="/sync/dead-letters/?system={erp.pk}" class="dead-letters">2 dead</a>' in page
    assert 'data-cause="' in client.get(f"/sync/dead-letters/?system={erp.pk}").content.decode()

    dead_letters.discard(rows=OutboundChange.objects.filter(pk__in=[w.pk for w in refused]), user=revops_user,
                         reason="badges are entered in NetSuite")
    evaluate(django_capture_on_commit_callbacks)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert "0 dead letters" in client.get("/health/").content.decode()


def test_only_writes_given_up_on_within_the_window_alert(refused, django_capture_on_commit_callbacks):
    OutboundChange.objects.filter(pk__in=[w.pk for w in refused]).update(
        next_attempt_at=timezone.now() - timedelta(hours=2))  # given up on before the rule's hour
    data = metrics.snapshot()
    assert data["systems"]["erp"]["dead_letters"] == 2 and data["systems"]["erp"]["dead_letters_new"] == 0
    evaluate(django_capture_on_commit_callbacks)
    assert not Alert.objects.filter(rule__name=RULE).exists()
