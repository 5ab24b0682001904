"""Write paths of field governance: drafts, finance sign-off, publish, rollback, schedules."""
from __future__ import annotations

import json

from celery import current_app
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from connectors.base import ConnectorError
from connectors.services import connector_session
from integration_hub.kernel import audit, roles
from mapping.create_defaults import rule_problems, shape_problems
from mapping.default_template import CRM_VENDOR, ERP_VENDOR, HUBSPOT_PROPERTIES, TEMPLATE, UNIQUE_PROPERTIES
from mapping.models import (
    Cadence,
    FieldRule,
    ObjectMapping,
    RuleSetVersion,
    VersionStatus,
)
from mapping.pipeline import compile_rules
from mapping.rule_checks import rule_spec, version_problems

SYNC_TASK = "integration_hub.sync.tasks.sync_mapping"


class PublishRefused(ValidationError):
    """A version cannot be published; ``messages`` say why."""


def _require(user, *allowed: str, action: str) -> None:
    if not roles.has_role(user, *allowed):
        raise PermissionDenied(f"Only {' or '.join(allowed)}s may {action}.")


def require_revops(user, *, action: str) -> None:
    _require(user, roles.REVOPS_ADMIN, action=action)


@transaction.atomic
def version_create_draft(*, mapping: ObjectMapping, user, note: str = "") -> RuleSetVersion:
    """Open a draft copied from the published rules (or empty); the existing draft if there is one."""
    _require(user, roles.REVOPS_ADMIN, action="edit rules")
    mapping = ObjectMapping.objects.select_for_update().get(pk=mapping.pk)  # fresh, and one draft at a time
    existing = mapping.versions.filter(status=VersionStatus.DRAFT).first()
    if existing:
        return existing
    number = (mapping.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    with audit.acting_as(user.get_username(), user=user, reason=note or f"draft v{number} opened"):
        draft = RuleSetVersion.objects.create(mapping=mapping, number=number, note=note)
        if mapping.published_version_id:
            for rule in mapping.published_version.rules.all():
                FieldRule.objects.create(version=draft, **rule.as_dict())
    return draft


def _described_fields(mapping: ObjectMapping) -> tuple[dict, list[str]]:
    """What each side's API describes today (field names and picklist options), and problems reaching it."""
    described: dict = {}
    problems: list[str] = []
    for side, system, obj in (("crm", mapping.crm_system, mapping.crm_object),
                              ("erp", mapping.erp_system, mapping.erp_object)):
        try:
            with connector_session(system, max_attempts=2, timeout=20) as connector:
                fields = connector.describe(obj)
                pseudo = connector.pseudo_fields(obj)  # associations, a document's lines
        except ConnectorError as exc:
            problems.append(f"Cannot read the fields of {system.name} {obj}: {exc.message}")
            continue
        described[f"{side}_fields"] = {f.name for f in fields} | {f.name for f in pseudo}
        described[f"{side}_options"] = {f.name: f.options for f in fields if f.options}
    return described, problems


def publish_problems(version: RuleSetVersion, *, check_remote: bool = True) -> list[str]:
    """Every reason the version cannot be published now."""
    problems: list[str] = []
    if not version.is_draft:
        return [f"v{version.number} is {version.get_status_display().lower()}; only a draft can be published."]
    rules = list(version.rules.all())
    if not rules:
        problems.append("The draft has no field rules.")
    described: dict = {}
    if check_remote:
        described, reach = _described_fields(version.mapping)
        problems.extend(reach)
    problems.extend(version_problems(rules, **described))
    problems.extend(_create_default_problems(version.mapping, rules, described.get("crm_options")))
    finance_changes = version.finance_changes()
    if finance_changes and not version.has_valid_finance_signoff:
        problems.append("Changes to money or finance-approved rules need a Finance approver's sign-off of this "
                        "exact draft" + (" (the rules changed after the sign-off)" if version.finance_signoff_by_id
                                         else "") + ": " + "; ".join(finance_changes) + ".")
    return problems


def _create_default_problems(mapping: ObjectMapping, rules: list, crm_options: dict | None) -> list[str]:
    """The mapping's create defaults against these rules and, when described, the CRM's options."""
    defaults = mapping.erp_create_defaults
    if not defaults:
        return []
    shape = shape_problems(defaults)
    if shape or not rules:
        return shape
    mapper = None
    if crm_options is not None:
        try:
            mapper = compile_rules([rule_spec(rule) for rule in rules], "crm")
        except Exception:  # a rule that does not compile is reported by version_problems
            mapper = None
    return rule_problems(defaults, rules, mapper, crm_options if mapper is not None else None)


def mapping_create_default_problems(*, mapping: ObjectMapping, check_remote: bool = True) -> list[str]:
    """Why the mapping's create defaults do not fit its published rules and what the CRM describes now."""
    rules = list(mapping.published_version.rules.all()) if mapping.published_version_id else []
    described, reach = _described_fields(mapping) if check_remote and rules else ({}, [])
    return reach + _create_default_problems(mapping, rules, described.get("crm_options"))


@transaction.atomic
def version_sign_off(*, version: RuleSetVersion, user) -> RuleSetVersion:
    """A Finance approver approves the draft's rules as they stand now."""
    _require(user, roles.FINANCE_APPROVER, action="sign off finance rules")
    version = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
    if not version.is_draft:
        raise ValidationError("Only a draft can be signed off.")
    version.finance_signoff_by = user
    version.finance_signoff_at = timezone.now()
    version.finance_signoff_fingerprint = version.fingerprint()
    with audit.acting_as(user.get_username(), user=user, reason="finance sign-off"):
        version.save()
    return version


def _make_current(version: RuleSetVersion, *, user, reason: str) -> None:
    mapping = version.mapping
    previous = mapping.published_version
    with audit.acting_as(user.get_username(), user=user, reason=reason):
        if previous and previous.pk != version.pk:
            previous.status = VersionStatus.RETIRED
            previous.save(update_fields=["status"])
        version.status = VersionStatus.PUBLISHED
        version.save(update_fields=["status", "published_at", "published_by"])
        mapping.published_version = version
        mapping._change_reason = reason
        mapping.save(update_fields=["published_version", "updated_at"])


@transaction.atomic
def version_publish(*, version: RuleSetVersion, user, check_remote: bool = True) -> RuleSetVersion:
    """Make a draft the rules syncs use; refused with every reason when it is not sound."""
    _require(user, roles.REVOPS_ADMIN, action="publish rules")
    version = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
    problems = publish_problems(version, check_remote=check_remote)
    if problems:
        raise PublishRefused(problems)
    version.published_at = timezone.now()
    version.published_by = user
    _make_current(version, user=user, reason=f"published v{version.number}")
    return version


@transaction.atomic
def version_rollback(*, version: RuleSetVersion, user) -> RuleSetVersion:
    """Make an earlier published version the current one again (its rules never changed)."""
    _require(user, roles.REVOPS_ADMIN, action="roll back rules")
    version = RuleSetVersion.objects.select_related("mapping").select_for_update().get(pk=version.pk)
    if version.published_at is None:
        raise ValidationError("Only a version that was published can be rolled back to.")
    if version.mapping.published_version_id == version.pk:
        raise ValidationError(f"v{version.number} is already the published version.")
    _make_current(version, user=user, reason=f"rolled back to v{version.number}")
    return version


def schedule_for(mapping: ObjectMapping) -> dict:
    """The django-celery-beat schedule fields for a mapping's cadence."""
    if mapping.cadence == Cadence.DAILY:
        at = mapping.daily_at
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=str(at.minute if at else 0), hour=str(at.hour if at else 2), day_of_week="*",
            day_of_month="*", month_of_year="*", timezone="UTC")
        return {"crontab": crontab, "interval": None}
    # Real-time mappings still poll, less often, to catch what a missed webhook would lose.
    minutes = mapping.interval_minutes if mapping.cadence == Cadence.INTERVAL else 60
    interval, _ = IntervalSchedule.objects.get_or_create(every=max(1, minutes), period=IntervalSchedule.MINUTES)
    return {"interval": interval, "crontab": None}


@transaction.atomic
def mapping_sync_schedule(*, mapping: ObjectMapping) -> PeriodicTask:
    """Keep the mapping's cadence as a beat schedule, editable in the admin's periodic tasks.

    The schedule stays disabled until the sync engine registers the task it runs.
    """
    task_known = SYNC_TASK in current_app.tasks
    fields = {
        **schedule_for(mapping),
        "task": SYNC_TASK,
        "kwargs": json.dumps({"mapping_id": mapping.pk}),
        "enabled": mapping.is_enabled and task_known,
        "description": f"Sync {mapping} ({mapping.get_cadence_display()})",
    }
    name = f"sync mapping {mapping.pk}: {mapping}"[:200]
    if mapping.periodic_task_id:
        PeriodicTask.objects.filter(pk=mapping.periodic_task_id).update(name=name, **fields)
        task = PeriodicTask.objects.get(pk=mapping.periodic_task_id)
    else:
        task = PeriodicTask.objects.create(name=name, **fields)
        ObjectMapping.objects.filter(pk=mapping.pk).update(periodic_task=task)
        mapping.periodic_task = task
    return task


def _install_mapping(entity: str, spec: dict, crm_system, erp_system, user) -> ObjectMapping:
    settings = {k: v for k, v in spec.items() if k != "rules"}
    mapping, created = ObjectMapping.objects.get_or_create(
        entity_type=entity, crm_system=crm_system, erp_system=erp_system, defaults=settings)
    if created or not mapping.versions.exists():
        draft = version_create_draft(mapping=mapping, user=user, note="default HubSpot ↔ NetSuite template")
        for position, rule in enumerate(spec["rules"]):
            FieldRule.objects.create(version=draft, position=position, **rule)
    mapping_sync_schedule(mapping=mapping)
    return mapping


@transaction.atomic
def template_install(*, crm_system, erp_system, user) -> list[ObjectMapping]:
    """Install the default HubSpot ↔ NetSuite mappings with their rules as drafts (idempotent)."""
    _require(user, roles.REVOPS_ADMIN, action="install the default template")
    if (crm_system.vendor, erp_system.vendor) != (CRM_VENDOR, ERP_VENDOR):
        raise ValidationError(f"The default template is for HubSpot ↔ NetSuite, not "
                              f"{crm_system.get_vendor_display()} ↔ {erp_system.get_vendor_display()}.")
    with audit.acting_as(user.get_username(), user=user, reason="default template installed"):
        return [_install_mapping(entity, spec, crm_system, erp_system, user) for entity, spec in TEMPLATE.items()]


def template_prepare_crm(*, crm_system) -> list[str]:
    """Create the custom HubSpot properties the template writes to; returns the ones created."""
    created: list[str] = []
    with connector_session(crm_system) as connector:
        objects = {spec["crm_object"] for spec in TEMPLATE.values()} | set(HUBSPOT_PROPERTIES)
        for obj in sorted(objects):
            existing = set(connector.property_names(obj))
            # Every object the hub may create records in gets the hub's unique id (idempotent creates): the
            # property the connector keys its creates by.
            key_property = connector.create_key[0]
            properties = [(key_property, "Integration Hub record id", "string", "text"),
                          *HUBSPOT_PROPERTIES.get(obj, [])]
            for name, label, type_, field_type in properties:
                if name not in existing:
                    connector.create_property(obj, name, label, type_, field_type, group_name="integration_hub",
                                              unique=name in UNIQUE_PROPERTIES or name == key_property)
                    created.append(f"{obj}.{name}")
    return created
