"""A reference rule names the kind of record it points at (FieldRule.reference_to); before, the sync guessed it from
the canonical field's name. Existing reference rules get the target that name gave them, so a database made before
keeps syncing the same references. A finance sign-off still valid for its rules stays valid: the rules' fingerprint
now covers reference_to, so it is taken again over the same rules with their targets filled in."""
import hashlib
import json

from django.db import migrations

# The name map the sync used before rules named their target (a name not in it was never synced).
OLD_TARGETS = {"account": "account", "customer": "account", "company": "account", "item": "item",
               "product": "item", "contact": "contact", "deal": "deal", "order": "deal", "quote": "quote"}
CONTENT_BEFORE = ("field", "field_type", "crm_path", "erp_path", "system_of_record", "conflict_policy",
                  "non_owner_policy", "approver_role", "crm_transforms", "erp_transforms", "validation", "sensitive",
                  "position")
CONTENT_AFTER = ("field", "field_type", "reference_to", "crm_path", "erp_path", "system_of_record",
                 "conflict_policy", "non_owner_policy", "approver_role", "crm_transforms", "erp_transforms",
                 "validation", "sensitive", "position")


def _fingerprint(version, content: tuple[str, ...]) -> str:
    """RuleSetVersion.fingerprint() over the given rule fields."""
    rows = [{name: getattr(rule, name) for name in content} for rule in version.rules.order_by("field")]
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def reference_targets_from_names(apps, schema_editor):
    FieldRule = apps.get_model("mapping", "FieldRule")
    RuleSetVersion = apps.get_model("mapping", "RuleSetVersion")
    signed = [version for version in RuleSetVersion.objects.exclude(finance_signoff_fingerprint="")
              if version.finance_signoff_fingerprint == _fingerprint(version, CONTENT_BEFORE)]
    # Published rules too: the target is what their name already meant, so no version's meaning changes.
    for name, target in OLD_TARGETS.items():
        FieldRule.objects.filter(field_type="reference", reference_to="", field=name).update(reference_to=target)
    for version in signed:
        version.finance_signoff_fingerprint = _fingerprint(version, CONTENT_AFTER)
        version.save(update_fields=["finance_signoff_fingerprint"])


class Migration(migrations.Migration):
    dependencies = [
        ("mapping", "0005_field_rule_reference_to"),
    ]
    operations = [migrations.RunPython(reference_targets_from_names, migrations.RunPython.noop)]
