"""A NetSuite contact's company is a reference object ({"id": ..., "refName": ...}); the template mapped it at
"company", so the hub wrote a bare id, which NetSuite refuses ("Invalid Field Value ... for the following field:
company"). Rules that map a NetSuite contact's company reference there now map "company.id": read the same id,
written as NetSuite takes it. A finance sign-off still valid for its rules is taken again over the corrected ones
(the fix changes no value the sync reads)."""
import hashlib
import json

from django.db import migrations

CONTENT = ("field", "field_type", "reference_to", "crm_path", "erp_path", "system_of_record", "conflict_policy",
           "non_owner_policy", "approver_role", "crm_transforms", "erp_transforms", "validation", "sensitive",
           "position")


def _fingerprint(version) -> str:
    """RuleSetVersion.fingerprint() as of this migration."""
    rows = [{name: getattr(rule, name) for name in CONTENT} for rule in version.rules.order_by("field")]
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def company_by_id(apps, schema_editor):
    FieldRule = apps.get_model("mapping", "FieldRule")
    rules = FieldRule.objects.filter(field_type="reference", erp_path="company", version__mapping__erp_object="contact",
                                     version__mapping__erp_system__vendor="netsuite").select_related("version")
    versions = {rule.version_id: rule.version for rule in rules}
    signed = {pk for pk, version in versions.items()
              if version.finance_signoff_fingerprint and version.finance_signoff_fingerprint == _fingerprint(version)}
    rules.update(erp_path="company.id")
    for pk in signed:
        version = versions[pk]
        version.finance_signoff_fingerprint = _fingerprint(version)
        version.save(update_fields=["finance_signoff_fingerprint"])


class Migration(migrations.Migration):
    dependencies = [
        ("mapping", "0006_reference_rules_name_their_target"),
        ("connectors", "0001_initial"),
    ]
    operations = [migrations.RunPython(company_by_id, migrations.RunPython.noop)]
