"""setup_demo creates one user per role, shows passwords once, and can run again safely."""
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from integration_hub.kernel import roles

pytestmark = pytest.mark.django_db


def test_it_creates_the_demo_users_in_their_groups(capsys, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("setup_demo")
    out = capsys.readouterr().out
    users = {u.username: u for u in get_user_model().objects.all()}
    assert set(users) == {"admin", "revops", "finance", "viewer"}
    assert users["admin"].is_superuser
    assert roles.is_revops(users["revops"]) and not users["revops"].is_superuser
    assert users["finance"].groups.filter(name=roles.FINANCE_APPROVER).exists()
    assert users["viewer"].groups.filter(name=roles.VIEWER).exists()
    viewer_line = next(line for line in out.splitlines() if line.strip().startswith("viewer"))
    password = viewer_line.split()[1]
    assert users["viewer"].check_password(password)
    assert (tmp_path / "demo-logins.txt").read_text().count("viewer") == 1


def test_it_registers_the_sandbox_crm_and_erp(settings, tmp_path):
    from connectors.models import ConnectedSystem

    settings.DATA_DIR = tmp_path
    call_command("setup_demo")
    call_command("setup_demo")
    systems = {s.slug: s for s in ConnectedSystem.objects.all()}
    assert set(systems) == {"hubspot-sandbox", "netsuite-sandbox"}
    assert systems["hubspot-sandbox"].role == "crm" and systems["hubspot-sandbox"].base_url.endswith(":8101")
    assert systems["netsuite-sandbox"].role == "erp" and systems["netsuite-sandbox"].base_url.endswith(":8102")
    assert all(s.rollout_stage == "two_way" and s.has_credentials for s in systems.values())


def test_running_it_again_changes_nothing(capsys, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("setup_demo")
    first = {u.username: u.password for u in get_user_model().objects.all()}
    capsys.readouterr()
    call_command("setup_demo")
    assert "already exist" in capsys.readouterr().out
    assert {u.username: u.password for u in get_user_model().objects.all()} == first


def test_passwords_can_come_from_the_environment(monkeypatch, settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("DEMO_VIEWER_PASSWORD", "correct-horse-battery")
    call_command("setup_demo")
    assert get_user_model().objects.get(username="viewer").check_password("correct-horse-battery")
    assert "correct-horse-battery" not in capsys.readouterr().out


def test_the_first_scheduled_sync_after_set_up_shows_a_conflict_a_blocked_edit_and_a_held_field(settings, tmp_path):
    """What `make run` shows: set-up syncs once and plays the scenarios; beat's next run brings them to the UI."""
    from django_celery_beat.models import PeriodicTask

    from connectors.sandbox.demo import demo_emulators_running
    from integration_hub.sync import tasks
    from integration_hub.sync.models import SyncEvent
    from reconciliation.conflicts.models import Conflict

    settings.DATA_DIR = tmp_path
    call_command("setup_demo")
    scheduled = PeriodicTask.objects.filter(task="integration_hub.sync.tasks.sync_mapping", enabled=True)
    assert scheduled.count() >= 3 and all(t.interval.every == 2 for t in scheduled)
    with demo_emulators_running():  # the sandboxes of `make run`, on the state set-up left
        for task in scheduled.order_by("id"):
            tasks.sync_mapping.apply(kwargs=json.loads(task.kwargs), throw=True)  # as beat sends it
    assert set(Conflict.objects.values_list("field", flat=True)) >= {"name", "unit_price"}
    assert SyncEvent.objects.filter(kind="blocked_edit", field="customer_number", run__trigger="schedule").exists()
    # Hank's blanked last name: the field is held, not Hank.
    assert SyncEvent.objects.filter(kind="held", field="last_name", run__trigger="schedule").exists()
    # Quote to cash: set-up's closed deal is an ERP order with its number back on the deal; the deal a rep closed
    # since is queued as one order; the payment finance recorded reached the invoice.
    from integration_hub.records.models import Record
    from integration_hub.sync.models import OutboundChange

    acme = Record.objects.get(entity_type="deal", values__name="Acme - 500 widgets")
    assert acme.values["order_number"].startswith("SO") and acme.links.count() == 2
    globex = Record.objects.get(entity_type="deal", values__name="Globex annual supply")
    assert OutboundChange.objects.filter(record=globex, side="erp", link__isnull=True).count() == 1
    paid = Record.objects.get(entity_type="invoice", values__invoice_number="INV1003").values["amount_paid"]
    assert paid == {"amount": "2000.00", "currency": "USD"}
