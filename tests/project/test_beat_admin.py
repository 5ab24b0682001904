"""The Celery pages of the admin: only superusers name, feed or run tasks; RevOps times the hub's own schedules."""
from __future__ import annotations

import json

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from connectors.models import ConnectedSystem
from integration_hub.celery import app
from integration_hub.records import services
from integration_hub.sync.models import SyncRun
from mapping.models import FieldRule, ObjectMapping, RuleSetVersion, VersionStatus
from mapping.services import mapping_sync_schedule

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_celery_beat/periodictask/"
FORGED = {"task": "integration_hub.sync.tasks.record_apply_values", "regtask": "",
          "args": "[1, {\"unit_price\": \"0.01\"}, \"finance\"]", "kwargs": "{}"}


@pytest.fixture
def mapping(db):
    """An account mapping between two systems nobody answers on (a sync run fails fast, but is recorded)."""
    crm = ConnectedSystem.objects.create(slug="crm", name="CRM", role="crm", vendor="hubspot",
                                         base_url="http://127.0.0.1:9", credentials={"access_token": "x"})
    erp = ConnectedSystem.objects.create(slug="erp", name="ERP", role="erp", vendor="netsuite",
                                         base_url="http://127.0.0.1:9", credentials={"token_secret": "x"})
    mapping = ObjectMapping.objects.create(entity_type="account", crm_system=crm, erp_system=erp,
                                           crm_object="companies", erp_object="customer", interval_minutes=15)
    mapping_sync_schedule(mapping=mapping)
    mapping.refresh_from_db()
    return mapping


@pytest.fixture
def custom_task(db):
    """A task a superuser scheduled by hand, with its own arguments."""
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.MINUTES)
    return PeriodicTask.objects.create(name="by hand", task="integration_hub.sync.tasks.sync_mapping",
                                       kwargs=json.dumps({"mapping_id": 999, "mode": "live"}), interval=every_hour,
                                       enabled=False, description="made by a superuser")


@pytest.fixture
def eager():
    """Tasks run in the test process when queued, so a task that was started leaves its mark here."""
    # The app reads its settings under the CELERY_ namespace: the namespaced key is the one it looks up.
    app.conf.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.CELERY_TASK_ALWAYS_EAGER = False


def _change_form(periodic: PeriodicTask, **changes) -> dict:
    form = {"name": periodic.name, "regtask": "", "task": periodic.task, "enabled": "on" if periodic.enabled else "",
            "description": periodic.description, "interval": periodic.interval_id or "",
            "crontab": periodic.crontab_id or "", "solar": "", "clocked": "", "start_time_0": "", "start_time_1": "",
            "args": periodic.args, "kwargs": periodic.kwargs, "expires_0": "", "expires_1": "", "expire_seconds": "",
            "queue": "", "exchange": "", "routing_key": "", "priority": "", "headers": "{}"}
    form.update(changes)
    return {k: v for k, v in form.items() if v != ""}


def test_revops_cannot_add_a_periodic_task_and_the_forged_audit_is_impossible(client, revops_user, finance_user):
    record = services.record_create(entity_type="price", values={"sku": "WID-100", "unit_price": "19.00"})
    client.force_login(revops_user)
    assert client.get(CHANGELIST + "add/").status_code == 403
    before = PeriodicTask.objects.count()
    response = client.post(CHANGELIST + "add/", {**FORGED, "name": "price fix", "enabled": "on",
                                                 "args": json.dumps([record.pk, {"unit_price": "0.01"}, "finance"])})
    assert response.status_code == 403
    assert PeriodicTask.objects.count() == before
    # The task the forgery used, which wrote as whoever its caller named, exists no more.
    app.loader.import_default_modules()
    assert "integration_hub.sync.tasks.record_apply_values" not in app.tasks
    record.refresh_from_db()
    assert record.values["unit_price"] == "19.00"
    assert not record.history.filter(history_actor=finance_user.username).exists()
    # The changelist offers no "Add" button and no "Run selected tasks".
    page = client.get(CHANGELIST).content.decode()
    assert 'value="run_tasks"' not in page
    assert f'href="{CHANGELIST}add/"' not in page


def test_revops_times_a_sync_schedule_but_cannot_change_its_task_or_arguments(client, revops_user, mapping):
    task = mapping.periodic_task
    hourly, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.MINUTES)
    client.force_login(revops_user)
    form_page = client.get(f"{CHANGELIST}{task.pk}/change/")
    assert form_page.status_code == 200
    html = form_page.content.decode()
    for hidden_input in ('name="regtask"', 'name="task"', 'name="args"', 'name="kwargs"', 'name="queue"',
                         'name="headers"'):
        assert hidden_input not in html, hidden_input
    assert 'name="interval"' in html and 'name="enabled"' in html
    original_kwargs = task.kwargs
    response = client.post(f"{CHANGELIST}{task.pk}/change/", _change_form(
        task, interval=hourly.pk, enabled="", **{**FORGED, "kwargs": json.dumps({"mapping_id": 1, "full": True})}))
    assert response.status_code == 302, response.content.decode()[:3000]
    task.refresh_from_db()
    assert (task.interval_id, task.enabled) == (hourly.pk, False)  # timing changed ...
    assert task.task == "integration_hub.sync.tasks.sync_mapping"  # ... the task and its arguments did not
    assert task.kwargs == original_kwargs and task.args == "[]"


def test_revops_only_reads_a_task_the_hub_does_not_schedule_itself(client, revops_user, custom_task):
    client.force_login(revops_user)
    page = client.get(f"{CHANGELIST}{custom_task.pk}/change/")
    assert page.status_code == 200
    assert 'name="interval"' not in page.content.decode() and 'name="enabled"' not in page.content.decode()
    response = client.post(f"{CHANGELIST}{custom_task.pk}/change/", _change_form(custom_task, enabled="on"))
    assert response.status_code == 403
    assert client.post(f"{CHANGELIST}{custom_task.pk}/delete/", {"post": "yes"}).status_code == 403
    custom_task.refresh_from_db()
    assert custom_task.enabled is False


def test_revops_switches_the_hubs_schedules_on_and_off_but_no_one_elses(client, revops_user, mapping, custom_task):
    sync_schedule = mapping.periodic_task
    PeriodicTask.objects.filter(pk=sync_schedule.pk).update(enabled=False)
    client.force_login(revops_user)
    response = client.post(CHANGELIST, {"action": "enable_tasks", "_selected_action": [sync_schedule.pk,
                                                                                       custom_task.pk]},
                           follow=True)
    assert response.status_code == 200
    assert "1 selected task(s) left as they were" in response.content.decode()
    assert PeriodicTask.objects.get(pk=sync_schedule.pk).enabled is True
    assert PeriodicTask.objects.get(pk=custom_task.pk).enabled is False


def test_revops_cannot_run_tasks_from_the_admin(client, revops_user, superuser, mapping, eager):
    sync_schedule = mapping.periodic_task
    client.force_login(revops_user)
    response = client.post(CHANGELIST, {"action": "run_tasks", "_selected_action": [sync_schedule.pk]}, follow=True)
    assert response.status_code == 200
    assert "No action selected" in response.content.decode()
    assert not SyncRun.objects.exists()
    # A superuser still can (and the run it starts is the sync's own: it names no person).
    client.force_login(superuser)
    client.post(CHANGELIST, {"action": "run_tasks", "_selected_action": [sync_schedule.pk]})
    assert SyncRun.objects.filter(mapping=mapping).count() == 1


def test_schedules_and_task_results_are_read_only_for_revops(client, revops_user):
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.MINUTES)
    daily = CrontabSchedule.objects.create(minute="0", hour="7")
    result = TaskResult.objects.create(task_id="t-1", task_name="integration_hub.sync.tasks.dispatch_outbox",
                                       status="SUCCESS")
    client.force_login(revops_user)
    for base, obj in (("django_celery_beat/intervalschedule", every_minute),
                      ("django_celery_beat/crontabschedule", daily),
                      ("django_celery_results/taskresult", result)):
        assert client.get(f"/admin/{base}/").status_code == 200, base
        assert client.get(f"/admin/{base}/{obj.pk}/change/").status_code == 200, base
        assert client.get(f"/admin/{base}/add/").status_code == 403, base
        assert client.post(f"/admin/{base}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403, base
    response = client.post(f"/admin/django_celery_beat/intervalschedule/{every_minute.pk}/change/",
                           {"every": "1", "period": "seconds"})
    assert response.status_code == 403
    every_minute.refresh_from_db()
    assert (every_minute.every, every_minute.period) == (1, IntervalSchedule.MINUTES)
    assert TaskResult.objects.filter(pk=result.pk).exists()


def test_a_superuser_still_schedules_any_task_with_arguments(client, superuser):
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.MINUTES)
    client.force_login(superuser)
    response = client.post(CHANGELIST + "add/", {
        "name": "one drift check", "regtask": "mapping.tasks.check_schema_drift", "enabled": "on",
        "interval": every_hour.pk, "args": "[]", "kwargs": json.dumps({"mapping_id": 1}), "headers": "{}"})
    assert response.status_code == 302, response.content.decode()[:3000]
    task = PeriodicTask.objects.get(name="one drift check")
    assert task.task == "mapping.tasks.check_schema_drift" and json.loads(task.kwargs) == {"mapping_id": 1}



@pytest.fixture
def finance_price(mapping):
    """A price whose unit price Finance governs (a published money rule with a Finance approver)."""
    prices = ObjectMapping.objects.create(entity_type="price", crm_system=mapping.crm_system,
                                          erp_system=mapping.erp_system, crm_object="products",
                                          erp_object="inventoryItem", match_keys=["sku"])
    version = RuleSetVersion.objects.create(mapping=prices, number=1)
    FieldRule.objects.create(version=version, field="unit_price", field_type="money", crm_path="price",
                             erp_path="basePrice", system_of_record="erp", non_owner_policy="queue",
                             approver_role="finance", crm_transforms=[{"name": "money", "params": {"currency": "USD"}}],
                             erp_transforms=[{"name": "money", "params": {"currency": "USD"}}])
    RuleSetVersion.objects.filter(pk=version.pk).update(status=VersionStatus.PUBLISHED)
    prices.published_version = version
    prices.save()
    return services.record_create(entity_type="price", values={"sku": "WID-100", "unit_price": "19.00 USD"})


def _record_form(record, values: dict) -> dict:
    return {"entity_type": record.entity_type, "values": json.dumps(values), "links-TOTAL_FORMS": "0",
            "links-INITIAL_FORMS": "0", "links-MIN_NUM_FORMS": "0", "links-MAX_NUM_FORMS": "1000"}


def test_revops_cannot_set_a_finance_price_on_the_golden_record_either(client, revops_user, superuser,
                                                                       finance_price):
    client.force_login(revops_user)
    url = f"/admin/hub/record/{finance_price.pk}/change/"
    response = client.post(url, _record_form(finance_price, {"sku": "WID-100", "unit_price": "0.01 USD"}))
    assert response.status_code == 200
    assert "unit_price: governed by Finance" in response.content.decode()
    finance_price.refresh_from_db()
    assert finance_price.values["unit_price"] == "19.00 USD" and finance_price.history.count() == 1
    # Other fields stay editable by RevOps ...
    response = client.post(url, _record_form(finance_price, {"sku": "WID-100-B", "unit_price": "19.00 USD"}))
    assert response.status_code == 302
    # ... and a superuser may correct the price (named in history as who did it).
    client.force_login(superuser)
    response = client.post(url, _record_form(finance_price, {"sku": "WID-100-B", "unit_price": "18.00 USD"}))
    assert response.status_code == 302
    finance_price.refresh_from_db()
    assert finance_price.values["unit_price"] == "18.00 USD"
    assert finance_price.history.latest().history_actor == superuser.username
