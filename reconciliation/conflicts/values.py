"""A value a person enters to settle a conflict: read from form text or API JSON, brought to the field's
canonical form, checked against the field's rule and against what each system can hold."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from integration_hub.kernel.money import Money
from integration_hub.kernel.references import golden_id, record_id_of
from integration_hub.records.models import Record
from integration_hub.sync.rules import SIDES, NothingPublished, compile_mapping
from mapping.models import FieldRule
from mapping.types import FieldType, TransformError, canonicalise
from mapping.validation import validate

YES = {"yes", "y", "true", "1", "on"}
NO = {"no", "n", "false", "0", "off"}


def field_rule(conflict) -> FieldRule | None:
    """The rule the value is checked against: the published one (what it will be written with)."""
    version_id = conflict.mapping.published_version_id or conflict.rule_version_id
    return FieldRule.objects.filter(version_id=version_id, field=conflict.field).first() if version_id else None


def conflict_currency(conflict) -> str:
    for value in (conflict.crm_value, conflict.erp_value, conflict.base_value):
        money = Money.of(value)
        if money is not None and money.currency:
            return money.currency
    return ""


def parse_input(raw: Any, field_type: FieldType, currency: str = "") -> Any:
    """What a person typed, in the shape the field's canonical form is made from (None: empty)."""
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            return None
    if raw is None:
        return None
    if field_type == FieldType.MONEY and isinstance(raw, str | int | float | Decimal) and not isinstance(raw, bool):
        amount, code = Money.split_text(str(raw), currency)
        return {"amount": amount, "currency": code}  # as typed: canonicalising it says what is wrong with it
    if field_type == FieldType.BOOLEAN and isinstance(raw, str):
        word = raw.lower()
        return True if word in YES else False if word in NO else raw
    if field_type == FieldType.REFERENCE and isinstance(raw, int | str) and str(raw).isdigit():
        return golden_id(raw)
    return raw


def _check_reference(value: str, entity: str) -> list[str]:
    record_id = record_id_of(value)
    if record_id is None:
        return ["give the golden record's number (e.g. 42) it should point at"]
    if not Record.objects.filter(pk=record_id, **({"entity_type": entity} if entity else {})).exists():
        return [f"there is no {entity or 'record'} #{record_id}"]
    return []


def decision_value(*, conflict, value: Any) -> Any:
    """The canonical value to decide on, or ValidationError({"value": [reasons]})."""
    rule = field_rule(conflict)
    field_type = FieldType(rule.field_type) if rule else FieldType.TEXT
    sensitive = bool(rule and rule.sensitive)
    if field_type == FieldType.LINE_ITEMS:
        raise ValidationError({"value": ["Line items cannot be typed in: take the CRM's or the ERP's lines."]})
    if field_type == FieldType.MONEY and isinstance(value, str | int | float) and not conflict_currency(conflict) \
            and len(str(value).split()) < 2:
        raise ValidationError({"value": ["Say the currency too, e.g. 12.50 USD."]})
    try:
        canonical = canonicalise(parse_input(value, field_type, conflict_currency(conflict)), field_type)
    except TransformError as exc:
        raise ValidationError({"value": [exc.redacted() if sensitive else str(exc)]}) from None
    problems = value_problems(conflict, canonical, rule)
    if problems:
        raise ValidationError({"value": problems})
    return canonical


def value_problems(conflict, canonical: Any, rule: FieldRule | None = None) -> list[str]:
    """Why a decided value may not be written: the field rule's validation (as the sync checks every value it
    writes), a reference to no record, or a system that cannot hold it. Every decision is checked this way."""
    rule = rule or field_rule(conflict)
    field_type = FieldType(rule.field_type) if rule else FieldType.TEXT
    problems = validate(canonical, field_type, rule.validation if rule else {})
    if field_type == FieldType.REFERENCE and canonical:
        problems += _check_reference(canonical, rule.reference_to)
    if not problems and canonical is not None and field_type not in (FieldType.REFERENCE, FieldType.LINE_ITEMS):
        problems += _unwritable(conflict, canonical)
    return problems


def _unwritable(conflict, canonical: Any) -> list[str]:
    """Reasons a system could not take the value through its rules (a picklist it lacks, a limit)."""
    try:
        compiled = compile_mapping(conflict.mapping)
    except NothingPublished:
        return []  # nothing can be written without rules; reading the systems refuses the decision
    problems = []
    for side in SIDES:
        mapper = compiled.mappers[side]
        if conflict.field not in mapper.fields:
            continue
        converted = mapper.to_vendor({conflict.field: canonical}, only=[conflict.field])
        if conflict.field in converted.errors:
            problems.append(f"{compiled.system(side).name} cannot hold it: {converted.errors[conflict.field]}")
    return problems
