"""The daily finance digest (Django's email backend, a beat schedule) and the SLA setting."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from reconciliation.conflicts import tasks
from reconciliation.conflicts.models import Conflict

pytestmark = pytest.mark.django_db


def test_the_digest_mails_finance_approvers_the_open_finance_conflicts(rows, finance_user, revops_user, settings):
    settings.HUB_URL = "https://hub.example.com"
    finance_user.email = "fred@example.com"
    finance_user.save()
    revops_user.email = "rita@example.com"
    revops_user.save()
    Conflict.objects.filter(pk=rows.price_conflict.pk).update(created_at=timezone.now() - timedelta(days=3))

    assert tasks.send_finance_digest.apply(throw=True).result == 1

    [message] = mail.outbox
    assert message.to == ["fred@example.com"]  # Finance approvers only
    assert message.subject == "Integration Hub: 1 finance conflict waiting (1 over the 48 h SLA)"
    assert "Acme Inc · credit_limit: CRM 9000.00 USD vs ERP 5000.00 USD" in message.body
    assert "(over the SLA)" in message.body
    assert f"https://hub.example.com/conflicts/{rows.price_conflict.pk}/" in message.body
    assert "Acme Inc · name" not in message.body  # a RevOps conflict is not in the finance digest


def test_no_digest_when_nothing_waits_for_finance(rows, finance_user):
    finance_user.email = "fred@example.com"
    finance_user.save()
    Conflict.objects.filter(pk=rows.price_conflict.pk).update(status="resolved")
    assert tasks.send_finance_digest.apply(throw=True).result == 0 and not mail.outbox


def test_the_digest_is_a_daily_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="finance conflict digest")
    assert task.task == "reconciliation.conflicts.tasks.send_finance_digest" and task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("7", "0")


def test_the_sla_is_configurable(client, revops_user, rows, settings):
    Conflict.objects.filter(pk=rows.name.pk).update(created_at=timezone.now() - timedelta(hours=5))
    client.force_login(revops_user)
    assert '<strong id="over-sla">0</strong>' in client.get("/conflicts/").content.decode()
    settings.CONFLICT_SLA_HOURS = 4
    html = client.get("/conflicts/").content.decode()
    assert '<strong id="over-sla">1</strong>' in html and "Over the SLA (4 h)" in html


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("CONFLICT_SLA_HOURS", "0", "CONFLICT_SLA_HOURS must be at least 1, not 0."),
    ("CONFLICT_SLA_HOURS", "two days", "CONFLICT_SLA_HOURS must be a whole number, not 'two days'."),
    ("CONFLICT_DIGEST_AT", "7am", "CONFLICT_DIGEST_AT must be a time of day like 07:30, not '7am'."),
])
def test_a_bad_conflict_setting_fails_with_a_sentence(monkeypatch, name, raw, message):
    from integration_hub.kernel.config import ConfigError, int_from_env, time_from_env

    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError) as error:
        if name == "CONFLICT_SLA_HOURS":
            int_from_env(name, default=48, minimum=1)
        else:
            time_from_env(name, default="07:00")
    assert str(error.value) == message


def test_the_admin_asks_for_a_comment_before_deciding(client, revops_user, rows):
    client.force_login(revops_user)
    page = client.post("/admin/reconciliation/conflict/", {"action": "take_crm",
                                                           "_selected_action": [rows.name.pk]})
    html = page.content.decode()
    assert page.status_code == 200 and "Take CRM: 1 open conflict" in html and "Yes, decide 1" in html
    assert client.get(f"/admin/reconciliation/conflict/{rows.name.pk}/change/").status_code == 200
    assert client.get("/admin/reconciliation/conflict/add/").status_code == 403
