"""Field governance as data: object mappings, versioned field rules, schema drift findings."""
from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse

from integration_hub.kernel.audit import audited_history
from integration_hub.records.models import EntityType
from mapping.create_defaults import describe, shape_problems
from mapping.default_template import TEMPLATE
from mapping.types import FieldType


class SystemOfRecord(models.TextChoices):
    CRM = "crm", "CRM owns"
    ERP = "erp", "ERP owns"
    SHARED = "shared", "Shared"


class ConflictPolicy(models.TextChoices):
    """What happens when both sides changed a shared field (owned fields: the owner wins)."""

    LAST_WRITE_WINS = "last_write_wins", "Last write wins"
    FIRST_WRITE_WINS = "first_write_wins", "First write wins"
    MANUAL_REVIEW = "manual_review", "Manual review"


class NonOwnerPolicy(models.TextChoices):
    """What happens when the system that does not own a field edits it."""

    REVERT_AND_LOG = "revert_and_log", "Revert and log"
    QUEUE = "queue", "Queue for approval"


class ApproverRole(models.TextChoices):
    REVOPS = "revops", "RevOps admin"
    FINANCE = "finance", "Finance approver"


class CreatePolicy(models.TextChoices):
    """What a record new on one side becomes."""

    NEVER = "never", "Held as unlinked"
    GOLDEN_ONLY = "golden_only", "A golden record, not created in the other system"
    ALWAYS = "always", "A golden record, created in the other system"
    ON_TRIGGER = "on_trigger", "A golden record, created in the other system when the trigger matches"


class Cadence(models.TextChoices):
    REALTIME = "realtime", "Real time (webhooks, with a safety poll)"
    INTERVAL = "interval", "Every N minutes"
    DAILY = "daily", "Daily"


class ObjectMapping(models.Model):
    """How one entity type maps between a CRM object and an ERP object."""

    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    crm_system = models.ForeignKey("connectors.ConnectedSystem", on_delete=models.PROTECT,
                                   related_name="crm_mappings", limit_choices_to={"role": "crm"})
    erp_system = models.ForeignKey("connectors.ConnectedSystem", on_delete=models.PROTECT,
                                   related_name="erp_mappings", limit_choices_to={"role": "erp"})
    crm_object = models.CharField(max_length=100, help_text="The CRM's object, e.g. companies.")
    erp_object = models.CharField(max_length=100, help_text="The ERP's record type, e.g. customer.")
    match_keys = models.JSONField(
        default=list, blank=True,
        help_text='Canonical fields tried in order to link records, e.g. ["customer_number", "domain"]; '
                  'join fields with "+" to match on several at once ("name+postcode").')
    crm_creates = models.CharField(
        max_length=12, choices=CreatePolicy.choices, default=CreatePolicy.NEVER,
        help_text="What a CRM record with no match becomes.")
    crm_create_trigger = models.JSONField(
        default=dict, blank=True,
        help_text='When "on trigger": e.g. {"field": "stage", "in": ["closedwon"]}.')
    erp_creates = models.CharField(
        max_length=12, choices=CreatePolicy.choices, default=CreatePolicy.NEVER,
        help_text="What an ERP record with no match becomes.")
    erp_create_trigger = models.JSONField(
        default=dict, blank=True, help_text='When "on trigger": e.g. {"has": "sales_order"}.')
    erp_create_defaults = models.JSONField(
        default=dict, blank=True,
        help_text='What a CRM record the hub creates from an ERP record gets for fields the ERP has no value for '
                  '(e.g. a HubSpot deal\'s pipeline and stage): canonical field -> a value, or {"from": field, '
                  '"map": {value: value}, "default": value}, e.g. {"pipeline": "default", "stage": {"from": '
                  '"order_status", "map": {"Cancelled": "closedlost"}, "default": "closedwon"}}. Checked against '
                  'the rules and the CRM\'s options (deal stages) when the rules are published.')
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.INTERVAL)
    interval_minutes = models.PositiveIntegerField(default=15)
    daily_at = models.TimeField(null=True, blank=True, help_text="For daily syncs (UTC).")
    is_enabled = models.BooleanField(default=True)
    published_version = models.ForeignKey("RuleSetVersion", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+", help_text="The rules syncs use now.")
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["entity_type", "id"]
        constraints = [models.UniqueConstraint(fields=["entity_type", "crm_system", "erp_system"],
                                               name="one_mapping_per_entity_and_system_pair")]

    def __str__(self) -> str:
        return f"{self.get_entity_type_display()}: {self.crm_object} ↔ {self.erp_object}"

    def save(self, *args, **kwargs):
        keys_changed = list(self.match_keys or []) != getattr(self, "_saved_match_keys", None)
        super().save(*args, **kwargs)
        if keys_changed:
            # The match index must know the new keys before the next sync matches by them.
            from integration_hub.records.matching import keys_rebuild

            entity = self.entity_type
            transaction.on_commit(lambda: keys_rebuild(entity))
            self._saved_match_keys = list(self.match_keys or [])

    def get_absolute_url(self) -> str:
        return reverse("mapping:detail", args=[self.pk])

    def erp_create_defaults_described(self) -> list[str]:
        return describe(self.erp_create_defaults)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_match_keys = list(instance.match_keys or []) if "match_keys" in field_names else None
        return instance

    def clean(self) -> None:
        if self.crm_system_id and self.crm_system.role != "crm":
            raise ValidationError({"crm_system": "Choose a system whose role is CRM."})
        if self.erp_system_id and self.erp_system.role != "erp":
            raise ValidationError({"erp_system": "Choose a system whose role is ERP."})
        if not isinstance(self.match_keys, list) or not all(isinstance(k, str) and k for k in self.match_keys):
            raise ValidationError({"match_keys": 'Match keys must be a list of field names, e.g. ["customer_number", '
                                                 '"domain", "name+shipping_postcode"].'})
        if unknown := self.unknown_match_fields():
            raise ValidationError({"match_keys": f"{', '.join(unknown)}: not a field of this mapping's rules. Use "
                                                 f"the rules' field names (add a rule for the field first)."})
        for side in ("crm", "erp"):
            creates_on_trigger = getattr(self, f"{side}_creates") == CreatePolicy.ON_TRIGGER
            if creates_on_trigger and not getattr(self, f"{side}_create_trigger"):
                raise ValidationError({f"{side}_create_trigger": "Say which trigger creates records."})

        if problems := shape_problems(self.erp_create_defaults):
            raise ValidationError({"erp_create_defaults": problems})
        if self.interval_minutes is None or self.interval_minutes < 1:
            raise ValidationError({"interval_minutes": "An interval needs at least one minute."})

    def unknown_match_fields(self) -> list[str]:
        """Parts of the match keys that name no field of this mapping's rules (any version) nor of the
        template's rules for its entity: the sync would find no value to match on."""
        known = {rule["field"] for rule in TEMPLATE.get(self.entity_type, {}).get("rules", [])}
        if self.pk:
            known |= set(FieldRule.objects.filter(version__mapping_id=self.pk).values_list("field", flat=True))
        parts = [part for key in self.match_keys for part in key.split("+")]
        return list(dict.fromkeys(part for part in parts if part not in known))


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class RuleSetVersion(models.Model):
    """One version of a mapping's field rules: edited as a draft, frozen once published."""

    mapping = models.ForeignKey(ObjectMapping, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    finance_signoff_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="+")
    finance_signoff_at = models.DateTimeField(null=True, blank=True)
    # The rules' fingerprint when finance signed off: any later edit voids the sign-off.
    finance_signoff_fingerprint = models.CharField(max_length=64, blank=True)
    preview = models.JSONField(null=True, blank=True)
    previewed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history(excluded_fields=["preview"])

    class Meta:
        ordering = ["mapping", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "number"], name="unique_version_number"),
            models.UniqueConstraint(fields=["mapping"], condition=models.Q(status="draft"),
                                    name="one_draft_per_mapping"),
        ]

    def __str__(self) -> str:
        return f"{self.mapping} v{self.number} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    def fingerprint(self) -> str:
        """A hash of every rule's content, to tell whether the rules changed since a sign-off."""
        rows = [rule.as_dict() for rule in self.rules.order_by("field")]
        return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()

    def finance_changes(self) -> list[str]:
        """What this version changes in money or finance-approved rules, judged against the published version:
        such a rule added, removed or edited (its approver included), or a rule made money or finance's."""
        current = self.mapping.published_version
        before = {} if current is None or current.pk == self.pk else \
            {rule.field: rule.as_dict() for rule in current.rules.all()}
        after = {rule.field: rule.as_dict() for rule in self.rules.all()}
        changes = []
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            if not (_finance_governed(old) or _finance_governed(new)):
                continue
            if old is None:
                changes.append(f"{name}: added")
            elif new is None:
                changes.append(f"{name}: removed")
            else:
                edited = [key.replace("_", " ") for key in RULE_CONTENT_FIELDS
                          if key != "position" and old[key] != new[key]]
                if edited:
                    changes.append(f"{name}: {', '.join(edited)} changed")
        return changes

    @property
    def needs_finance_signoff(self) -> bool:
        return bool(self.finance_changes())

    @property
    def has_valid_finance_signoff(self) -> bool:
        return bool(self.finance_signoff_by_id) and self.finance_signoff_fingerprint == self.fingerprint()


FIELD_TYPE_LABELS = {
    FieldType.TEXT: "Text", FieldType.NUMBER: "Number", FieldType.MONEY: "Money (amount + currency)",
    FieldType.DATE: "Date", FieldType.DATETIME: "Date and time", FieldType.BOOLEAN: "Yes/no",
    FieldType.CHOICE: "Choice (picklist)", FieldType.REFERENCE: "Reference to another record",
    FieldType.LINE_ITEMS: "Line items",
}


class FrozenVersionError(ValidationError):
    """Raised when a rule of a published (immutable) version is edited."""


class FieldRule(models.Model):
    """One canonical field of a mapping: where it lives on each side, who owns it, what to do on conflict."""

    version = models.ForeignKey(RuleSetVersion, on_delete=models.CASCADE, related_name="rules")
    field = models.SlugField(max_length=80, help_text="The canonical field name, e.g. credit_limit.")
    field_type = models.CharField(max_length=12, choices=list(FIELD_TYPE_LABELS.items()), default=FieldType.TEXT)
    crm_path = models.CharField(max_length=300, blank=True,
                                help_text='CRM field path; several joined by "," for a concat transform.')
    erp_path = models.CharField(max_length=300, blank=True,
                                help_text='ERP field path, e.g. addressBook.items.0.addressBookAddress.city.')
    reference_to = models.CharField(max_length=20, choices=EntityType.choices, blank=True,
                                    help_text="References only: the kind of record the field points at.")
    system_of_record = models.CharField(max_length=6, choices=SystemOfRecord.choices)
    conflict_policy = models.CharField(max_length=20, choices=ConflictPolicy.choices, blank=True,
                                       help_text="Shared fields only: when both sides changed it.")
    non_owner_policy = models.CharField(max_length=20, choices=NonOwnerPolicy.choices, blank=True,
                                        help_text="Owned fields only: when the other side edits it.")
    approver_role = models.CharField(max_length=10, choices=ApproverRole.choices, default=ApproverRole.REVOPS)
    crm_transforms = models.JSONField(default=list, blank=True,
                                      help_text='Applied reading from the CRM, e.g. [{"name": "trim"}].')
    erp_transforms = models.JSONField(default=list, blank=True)
    validation = models.JSONField(default=dict, blank=True,
                                  help_text='e.g. {"required": true, "max_length": 80, "choices": [...]}')
    sensitive = models.BooleanField(default=False, help_text="Masked for Viewers.")
    position = models.PositiveIntegerField(default=0)

    history = audited_history()

    class Meta:
        ordering = ["version", "position", "field"]
        constraints = [models.UniqueConstraint(fields=["version", "field"], name="unique_field_per_version")]

    def __str__(self) -> str:
        return f"{self.field} ({self.get_system_of_record_display()})"

    def save(self, *args, **kwargs):
        self._refuse_if_frozen()
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_frozen()
        return super().delete(*args, **kwargs)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in RULE_CONTENT_FIELDS}

    @property
    def crm_paths(self) -> list[str]:
        return [p.strip() for p in self.crm_path.split(",") if p.strip()]

    @property
    def erp_paths(self) -> list[str]:
        return [p.strip() for p in self.erp_path.split(",") if p.strip()]

    def clean(self) -> None:
        from mapping.rule_checks import rule_problems  # rule_checks reads these models: imported when used

        problems = rule_problems(self)
        if problems:
            raise ValidationError(problems)

    def _refuse_if_frozen(self) -> None:
        status = RuleSetVersion.objects.filter(pk=self.version_id).values_list("status", flat=True).first()
        if status is not None and status != VersionStatus.DRAFT:
            raise FrozenVersionError("Rules of a published version cannot change; edit a new draft instead.")


def _finance_governed(rule: dict | None) -> bool:
    return rule is not None and (rule["field_type"] == "money" or rule["approver_role"] == ApproverRole.FINANCE)


RULE_CONTENT_FIELDS = ("field", "field_type", "reference_to", "crm_path", "erp_path", "system_of_record",
                       "conflict_policy", "non_owner_policy", "approver_role", "crm_transforms", "erp_transforms",
                       "validation", "sensitive", "position")


class DriftKind(models.TextChoices):
    MISSING = "missing", "Field missing"
    RENAMED = "renamed", "Field renamed"
    TYPE_CHANGED = "type_changed", "Type changed"
    NEW_REQUIRED = "new_required", "New required field"


class DriftFinding(models.Model):
    """A difference between a published mapping and what a system's API describes today."""

    mapping = models.ForeignKey(ObjectMapping, on_delete=models.CASCADE, related_name="drift_findings")
    side = models.CharField(max_length=3, choices=[("crm", "CRM"), ("erp", "ERP")])
    kind = models.CharField(max_length=15, choices=DriftKind.choices)
    vendor_field = models.CharField(max_length=300)
    rule_field = models.CharField(max_length=80, blank=True, help_text="The canonical field it affects.")
    detail = models.CharField(max_length=500)
    is_open = models.BooleanField(default=True, db_index=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-is_open", "-last_seen"]
        constraints = [models.UniqueConstraint(fields=["mapping", "side", "kind", "vendor_field"],
                                               condition=models.Q(is_open=True), name="one_open_finding")]

    def __str__(self) -> str:
        return f"{self.mapping}: {self.get_kind_display()} {self.side}.{self.vendor_field}"


class MappingSchema(models.Model):
    """The fields a system described for a mapped object at the last drift check."""

    mapping = models.ForeignKey(ObjectMapping, on_delete=models.CASCADE, related_name="schemas")
    side = models.CharField(max_length=3, choices=[("crm", "CRM"), ("erp", "ERP")])
    fields = models.JSONField(default=dict)  # name -> {"label", "type", "required"}
    checked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mapping", "side"], name="one_schema_per_side")]

    def __str__(self) -> str:
        return f"{self.mapping} {self.side} schema ({len(self.fields)} fields)"
