"""Why a field rule cannot be saved or published, in words a RevOps admin can act on."""
from __future__ import annotations

from mapping.models import FieldRule, SystemOfRecord
from mapping.pipeline import RuleSpec, spec_problems
from mapping.types import FieldType


def rule_spec(rule: FieldRule) -> RuleSpec:
    """The plain, ORM-free form of a rule that the pipeline compiles."""
    crm = rule.crm_paths
    erp = rule.erp_paths
    return RuleSpec(
        field=rule.field, field_type=rule.field_type,
        crm_path=crm if len(crm) > 1 else (crm[0] if crm else ""),
        erp_path=erp if len(erp) > 1 else (erp[0] if erp else ""),
        crm_transforms=list(rule.crm_transforms or []), erp_transforms=list(rule.erp_transforms or []),
        validation=dict(rule.validation or {}), sensitive=rule.sensitive,
    )


def _policy_problems(rule: FieldRule) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if rule.system_of_record == SystemOfRecord.SHARED:
        if not rule.conflict_policy:
            problems["conflict_policy"] = ["A shared field needs a conflict policy (both sides may edit it)."]
        if rule.non_owner_policy:
            problems["non_owner_policy"] = ["A shared field has no owner, so no non-owner policy applies."]
    else:
        if rule.conflict_policy:
            problems["conflict_policy"] = [
                f"{rule.get_system_of_record_display()}: the owner wins, so no conflict policy applies."]
        if not rule.non_owner_policy:
            problems["non_owner_policy"] = ["Say what happens when the other system edits this owned field."]
    # The owner's field must exist; the other side's may be left out, which keeps the value in
    # the hub (for triggers and reports) without writing it to that system.
    for side, label in (("crm", "CRM"), ("erp", "ERP")):
        if not getattr(rule, f"{side}_path") and rule.system_of_record in (side, SystemOfRecord.SHARED):
            problems.setdefault(f"{side}_path", []).append(
                f"Name the {label} field: {label} {'shares' if rule.system_of_record == 'shared' else 'owns'} it.")
    if not rule.crm_path and not rule.erp_path:
        problems.setdefault("__all__", []).append("A rule needs a field on at least one side.")
    return problems


def _reference_problems(rule: FieldRule) -> dict[str, list[str]]:
    """The hub places a reference by the kind of record its rule names, never by the field's name."""
    if rule.field_type == FieldType.REFERENCE and not rule.reference_to:
        return {"reference_to": ["Say which kind of record this reference points at (an account, an item, ...): "
                                 "the sync places references only to the kind named here."]}
    if rule.field_type != FieldType.REFERENCE and rule.reference_to:
        return {"reference_to": ["Only a reference points at another record: leave this empty, or make the field "
                                 "a reference."]}
    return {}


def rule_problems(rule: FieldRule, *, crm_fields: set[str] | None = None, erp_fields: set[str] | None = None,
                  crm_options: dict | None = None, erp_options: dict | None = None) -> dict[str, list[str]]:
    """Problems by form field ("__all__" for the rule as a whole); empty when the rule is sound."""
    problems = _policy_problems(rule) | _reference_problems(rule)
    if not isinstance(rule.crm_transforms, list) or not isinstance(rule.erp_transforms, list):
        problems.setdefault("__all__", []).append("Transforms must be a list of {\"name\": …, \"params\": …}.")
        return problems
    if not isinstance(rule.validation, dict):
        problems.setdefault("validation", []).append("Validation must be an object such as {\"required\": true}.")
        return problems
    found = spec_problems(rule_spec(rule), crm_fields, erp_fields, crm_options=crm_options, erp_options=erp_options)
    if found:
        problems.setdefault("__all__", []).extend(found)
    return problems


def version_problems(rules, **described) -> list[str]:
    """Every reason a set of rules cannot be published, prefixed with the field it concerns."""
    found: list[str] = []
    for rule in rules:
        for where, messages in rule_problems(rule, **described).items():
            label = rule.field if where == "__all__" else f"{rule.field} ({where.replace('_', ' ')})"
            found.extend(f"{label}: {message}" for message in messages)
    return found
