"""Schema drift: compare published rules with what each system's API describes today."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connectors.base import ConnectorError, FieldInfo
from connectors.services import connector_session
from integration_hub.kernel import audit
from mapping.models import DriftFinding, DriftKind, MappingSchema, ObjectMapping


@dataclass(frozen=True)
class Finding:
    side: str
    kind: str
    vendor_field: str
    rule_field: str
    detail: str


def _top(path: str) -> str:
    return path.split(".", 1)[0]


def _mapped_fields(mapping: ObjectMapping, side: str) -> dict[str, str]:
    """Top-level vendor field -> canonical rule field, for the published rules on one side."""
    version = mapping.published_version
    if version is None:
        return {}
    mapped: dict[str, str] = {}
    for rule in version.rules.all():
        for path in (rule.crm_paths if side == "crm" else rule.erp_paths):
            if _top(path) == "associations":
                continue  # the pseudo-field holding a record's associations (mapping.reader.vendor_fields)
            mapped[_top(path)] = rule.field
    return mapped


def compare_schema(side: str, mapped: dict[str, str], previous: dict[str, dict],
                   current: dict[str, FieldInfo]) -> list[Finding]:
    """Findings for one side: mapped fields missing or renamed, types changed, new required fields."""
    findings: list[Finding] = []
    unmapped = {name: info for name, info in current.items() if name not in mapped}
    for vendor_field, rule_field in sorted(mapped.items()):
        info = current.get(vendor_field)
        before = previous.get(vendor_field)
        if info is None:
            label = (before or {}).get("label")
            renamed_to = next((name for name, new in unmapped.items() if label and new.label == label), None)
            if renamed_to:
                findings.append(Finding(side, DriftKind.RENAMED, vendor_field, rule_field,
                                        f"{vendor_field} is now {renamed_to} (same label {label!r}); "
                                        f"{rule_field} stops syncing until the rule is updated"))
            else:
                findings.append(Finding(side, DriftKind.MISSING, vendor_field, rule_field,
                                        f"{vendor_field} no longer exists; {rule_field} stops syncing "
                                        "instead of writing empty values"))
        elif before and before.get("type") and before["type"] != info.type:
            findings.append(Finding(side, DriftKind.TYPE_CHANGED, vendor_field, rule_field,
                                    f"{vendor_field} changed type from {before['type']} to {info.type}"))
    for name, info in sorted(current.items()):
        was_required = (previous.get(name) or {}).get("required", False)
        if info.required and not was_required and name not in mapped and previous:
            findings.append(Finding(side, DriftKind.NEW_REQUIRED, name, "",
                                    f"{name} ({info.label}) is now required and no rule fills it; "
                                    "records created on this side will be refused"))
    return findings


@transaction.atomic
def _store(mapping: ObjectMapping, side: str, findings: list[Finding], current: dict[str, FieldInfo]) -> None:
    now = timezone.now()
    seen = set()
    for f in findings:
        finding, created = DriftFinding.objects.get_or_create(
            mapping=mapping, side=side, kind=f.kind, vendor_field=f.vendor_field, is_open=True,
            defaults={"rule_field": f.rule_field, "detail": f.detail})
        if not created:
            DriftFinding.objects.filter(pk=finding.pk).update(last_seen=now, detail=f.detail)
        seen.add(finding.pk)
    for stale in mapping.drift_findings.filter(side=side, is_open=True).exclude(pk__in=seen):
        stale.is_open = False
        stale.resolved_at = now
        stale._change_reason = "no longer found"
        stale.save()
    # Remember the schema only where nothing is missing, so a vanished field keeps its old
    # label and type for the rename/type comparisons of the next check.
    snapshot = {name: {"label": i.label, "type": i.type, "required": i.required} for name, i in current.items()}
    schema, _ = MappingSchema.objects.get_or_create(mapping=mapping, side=side)
    merged = {**schema.fields, **snapshot} if findings else snapshot
    schema.fields = merged
    schema.save()


def drift_check(*, mapping: ObjectMapping) -> list[Finding]:
    """Describe both sides, record findings (open and resolved), and return what is wrong now."""
    all_findings: list[Finding] = []
    with audit.acting_as("drift-check", reason="schema drift check"):
        for side, system, obj in (("crm", mapping.crm_system, mapping.crm_object),
                                  ("erp", mapping.erp_system, mapping.erp_object)):
            try:
                with connector_session(system, max_attempts=2, timeout=20) as connector:
                    current = {f.name: f for f in [*connector.describe(obj), *connector.pseudo_fields(obj)]}
            except ConnectorError:
                continue  # an unreachable system is an auth/health matter, not drift
            previous = MappingSchema.objects.filter(mapping=mapping, side=side).values_list(
                "fields", flat=True).first() or {}
            findings = compare_schema(side, _mapped_fields(mapping, side), previous, current)
            _store(mapping, side, findings, current)
            all_findings.extend(findings)
    return all_findings


def fields_stopped_by_drift(mapping: ObjectMapping) -> dict[str, set[str]]:
    """Canonical fields that must not sync per side, because their vendor field is gone."""
    stopped: dict[str, set[str]] = {"crm": set(), "erp": set()}
    for side, rule_field in mapping.drift_findings.filter(
            is_open=True, kind__in=[DriftKind.MISSING, DriftKind.RENAMED]).values_list("side", "rule_field"):
        if rule_field:
            stopped[side].add(rule_field)
    return stopped
