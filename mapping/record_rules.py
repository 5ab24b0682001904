"""What the published rules tell the records core about an entity's fields: which are sensitive (masked for
Viewers), which Finance governs (not editable by RevOps in the admin), and the match keys its records are
indexed by. Registered with the records core in apps.py."""
from __future__ import annotations

from django.db.models import F, Q

from mapping.models import ApproverRole, FieldRule, ObjectMapping


def _published_rules(entity_type: str):
    return FieldRule.objects.filter(version__mapping__entity_type=entity_type,
                                    version__mapping__published_version=F("version"))


def sensitive_fields(entity_type: str) -> set[str]:
    return set(_published_rules(entity_type).filter(sensitive=True).values_list("field", flat=True))


def finance_fields(entity_type: str) -> set[str]:
    """Money fields and Finance-approved ones, as the mapping's finance sign-off counts them."""
    return set(_published_rules(entity_type).filter(Q(field_type="money") | Q(approver_role=ApproverRole.FINANCE))
               .values_list("field", flat=True))


def match_keys(entity_type: str) -> list[str]:
    """Every match key some mapping of this entity uses (a few rows: read on each write batch)."""
    return [key for key_list in ObjectMapping.objects.filter(entity_type=entity_type)
            .values_list("match_keys", flat=True) for key in key_list or []]
