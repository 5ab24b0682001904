"""Every save of a governed record leaves a history row naming its actor, and history is append-only."""
import pytest

from integration_hub.kernel import audit
from integration_hub.kernel.audit import HistoryIsAppendOnly
from integration_hub.records import services
from integration_hub.records.models import Record
from integration_hub.sync import tasks

pytestmark = pytest.mark.django_db


def _admin_form(record, values_json: str) -> dict:
    return {"entity_type": record.entity_type, "values": values_json,
            "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0",
            "links-MIN_NUM_FORMS": "0", "links-MAX_NUM_FORMS": "1000"}


def test_a_users_edit_in_the_admin_is_recorded_with_the_user_as_actor(client, revops_user):
    record = services.record_create(entity_type="account", values={"name": "Acme Inc", "phone": "+1 555 0100"})
    client.force_login(revops_user)
    response = client.post(f"/admin/hub/record/{record.pk}/change/",
                           _admin_form(record, '{"name": "Acme Inc", "phone": "+1 555 0199"}'))
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = record.history.latest()
    assert latest.history_actor == revops_user.username
    assert latest.history_user == revops_user
    record.refresh_from_db()
    assert record.provenance["phone"]["actor"] == revops_user.username
    assert record.provenance["phone"]["system"] == "hub"


def test_a_worker_sync_is_recorded_with_its_run_as_actor(published, emulators):
    """The worker's own sync task names the run in history: no task takes who to record from its caller."""
    hubspot, _ = emulators
    item = published["item"]
    run_id = tasks.sync_mapping.apply(args=(item.pk,)).get()
    record = Record.objects.get(entity_type="item", values__sku="WID-100")
    latest = record.history.latest()
    assert latest.history_actor == f"sync-run:{run_id}"
    assert latest.history_change_reason  # the sync says why (e.g. "new in NetSuite")
    assert latest.history_user is None
    assert record.provenance["name"]["sync_run"] == run_id
    assert record.provenance["name"]["actor"] == f"sync-run:{run_id}"


def test_no_task_takes_an_actor_from_its_caller():
    import inspect

    from integration_hub.celery import app

    app.loader.import_default_modules()
    product_tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert "integration_hub.sync.tasks.sync_mapping" in product_tasks
    for name, task in product_tasks.items():
        parameters = set(inspect.signature(task.run).parameters)
        assert not parameters & {"actor", "user", "user_id", "username", "acting_as"}, name


def test_writes_outside_any_request_or_run_are_named_system():
    record = services.record_create(entity_type="item", values={"sku": "W-1"})
    assert record.history.latest().history_actor == "system"


def test_one_context_shares_a_correlation_id():
    with audit.acting_as("sync-run:7", reason="batch") as ctx:
        a = services.record_create(entity_type="account", values={"name": "A"})
        b = services.record_create(entity_type="account", values={"name": "B"})
    ids = {a.history.latest().history_correlation_id, b.history.latest().history_correlation_id}
    assert ids == {ctx.correlation_id}


def test_an_unchanged_value_writes_no_history_row():
    record = services.record_create(entity_type="account", values={"name": "Acme"})
    assert services.record_update_values(record=record, changes={"name": "Acme"}) == []
    assert record.history.count() == 1


def test_history_rows_cannot_be_edited_or_deleted():
    record = services.record_create(entity_type="account", values={"name": "Acme"})
    row = record.history.latest()
    row.history_actor = "someone-else"
    with pytest.raises(HistoryIsAppendOnly):
        row.save()
    with pytest.raises(HistoryIsAppendOnly):
        row.delete()
    assert record.history.latest().history_actor == "system"


def test_no_page_offers_to_delete_or_revert_history(client, revops_user):
    record = services.record_create(entity_type="account", values={"name": "Acme"})
    client.force_login(revops_user)
    history_page = client.get(f"/admin/hub/record/{record.pk}/history/")
    assert history_page.status_code == 200
    first = record.history.earliest()
    revert = client.get(f"/admin/hub/record/{record.pk}/history/{first.history_id}/")
    assert revert.status_code == 403
    reverted = client.post(f"/admin/hub/record/{record.pk}/history/{first.history_id}/", {"values": "{}"})
    assert reverted.status_code == 403
    assert client.post(f"/admin/hub/record/{record.pk}/delete/").status_code == 403
    assert client.post(f"/api/v1/records/{record.pk}/history/", {}).status_code == 405
    assert Record.history.count() == 1
