"""Read queries for mappings."""
from __future__ import annotations

from mapping.models import ObjectMapping


class MappingNotFound(LookupError):
    """No mapping, or more than one, answers to what was asked; the message says which pairs there are."""


def mapping_named(entity: str, system_pair: str | None = None) -> ObjectMapping:
    """The one mapping of `entity`, or of `entity` between the systems `system_pair` names ("crm-slug:erp-slug")."""
    mappings = ObjectMapping.objects.filter(entity_type=entity).select_related("crm_system", "erp_system")
    if system_pair:
        crm, _, erp = system_pair.partition(":")
        mappings = mappings.filter(crm_system__slug=crm, erp_system__slug=erp)
    found = list(mappings[:50])
    if len(found) != 1:
        pairs = ", ".join(f"{m.crm_system.slug}:{m.erp_system.slug}" for m in found) or "none"
        raise MappingNotFound(f"{entity}: {len(found)} mappings match (pairs: {pairs}); "
                              "name one with --system-pair crm:erp")
    return found[0]
