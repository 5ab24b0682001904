"""A merge's vendor calls are sent by the hub's outbox now (an outbox row with operation "merge"), no longer from
the merge effect by a schedule of their own. A database made before may hold vendor merges not sent yet: each
becomes an outbox row (its attempts, error and next try kept), and the old schedule's row goes."""
import hashlib

from django.db import migrations
from django.db.models import Q

UNSENT = ("pending", "failed", "sending", "shadow")
OLD_TASK = "reconciliation.duplicates.tasks.dispatch_merge_effects"


def vendor_merges_into_the_outbox(apps, schema_editor):
    MergeEffect = apps.get_model("duplicates", "MergeEffect")
    OutboundChange = apps.get_model("hub", "OutboundChange")
    RecordLink = apps.get_model("hub", "RecordLink")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    effects = MergeEffect.objects.filter(kind="vendor_merge", outbound__isnull=True, status__in=UNSENT) \
        .select_related("merge", "system").order_by("pk")
    for effect in effects:
        keep = RecordLink.objects.filter(system_id=effect.system_id, entity_type=effect.merge.entity_type,
                                         external_id=effect.survivor_external_id).first()
        if keep is None:  # the survivor's link is gone: there is nothing to merge into any more
            effect.status, effect.last_error = "dead", f"{effect.survivor_external_id} is no longer linked"
            effect.save(update_fields=["status", "last_error"])
            continue
        key = hashlib.sha256(f"duplicates:merge:{effect.merge_id}:vendor-merge-effect:{effect.pk}".encode())
        effect.outbound = OutboundChange.objects.create(
            record_id=effect.record_id, system_id=effect.system_id, link=keep, side=effect.system.role,
            vendor_object=effect.vendor_object, operation="merge", values={},
            payload={"absorbed_id": effect.absorbed_external_id}, idempotency_key=key.hexdigest(),
            status=effect.status, attempts=effect.attempts, last_error=effect.last_error,
            next_attempt_at=effect.next_attempt_at)
        effect.save(update_fields=["outbound"])
    PeriodicTask.objects.filter(Q(task=OLD_TASK) | Q(name="duplicate merge effects")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0003_readiness_built_by_a_worker"),
        ("hub", "0015_outbound_change_operation"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(vendor_merges_into_the_outbox, migrations.RunPython.noop)]
