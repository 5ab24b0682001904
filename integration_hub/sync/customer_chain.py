"""A won deal carries its customer: when a document's create trigger fires and the company it is for has no
customer in the other system yet (a prospect the account rules never sent there), the company becomes a golden
record and that customer first -- under the account mapping's rules, match keys and create defaults, so a company
the ERP already has is linked, not created again -- and then the document is created for it.

Found before the document's merge (`companies_needing_customers`), carried out by the engine as a targeted run of
the account mapping that promotes those companies (`RunContext.promote`), whose creates are sent at once; the
merge then finds the customer linked. Every step is idempotent: a retried run, a duplicate webhook or a stage that
flips back and forth finds the company linked, or its create already queued, and makes nothing twice. Prospects
whose deals never win stay out of the ERP.
"""
from __future__ import annotations

from integration_hub.records.models import LinkStatus, RecordLink
from integration_hub.sync.documents import CURRENCY_FIELD, CUSTOMER_FIELD
from integration_hub.sync.merge_step import trigger_matches
from integration_hub.sync.models import OutboundChange
from integration_hub.sync.rules import SIDES
from integration_hub.sync.run_context import RunContext
from mapping.models import CreatePolicy, ObjectMapping
from mapping.reader import Reader


def companies_needing_customers(ctx: RunContext) -> dict[str, dict[str, dict]]:
    """side -> {vendor id of a company on that side: what its customer starts with} for the companies whose
    documents flagged for this run's merge are about to be created in the other system, and which have no customer
    there yet. A customer starts in the currency the document is in (a company without a currency of its own is
    billed in the currency it bought in)."""
    compiled = ctx.compiled
    mapping, entity = compiled.mapping, compiled.references.get(CUSTOMER_FIELD)
    if not entity:
        return {}
    needed: dict[str, list[str]] = {}
    for side in SIDES:
        other = "erp" if side == "crm" else "crm"
        policy, trigger = getattr(mapping, f"{side}_creates"), getattr(mapping, f"{side}_create_trigger") or {}
        if policy not in (CreatePolicy.ALWAYS, CreatePolicy.ON_TRIGGER):
            continue
        # Documents flagged on this side only: linked there, not yet in the other system.
        flagged = RecordLink.objects.filter(system=compiled.system(side), entity_type=mapping.entity_type,
                                            needs_merge=True, status=LinkStatus.ACTIVE).exclude(
            record__links__system=compiled.system(other)).values_list("record_id", "remote_values")
        reads = Reader.from_compiled(compiled, side).canonical_fields(dict(flagged))
        companies: dict[str, dict] = {}
        for read in reads.values():
            values = read.readable
            if values.get(CUSTOMER_FIELD) is not None and (
                    policy == CreatePolicy.ALWAYS or trigger_matches(trigger, values)):
                starts = {CURRENCY_FIELD: values[CURRENCY_FIELD]} if values.get(CURRENCY_FIELD) else {}
                companies.setdefault(str(values[CUSTOMER_FIELD]), starts)
        missing = _without_customer(compiled.system(side), compiled.system(other), entity, set(companies))
        if missing:
            needed[side] = {company: companies[company] for company in sorted(missing)}
    return needed


def account_mapping(ctx: RunContext) -> ObjectMapping | None:
    """The enabled mapping of the customers' entity between the same two systems."""
    mapping = ctx.compiled.mapping
    return ObjectMapping.objects.filter(entity_type=ctx.compiled.references.get(CUSTOMER_FIELD),
                                        crm_system_id=mapping.crm_system_id, erp_system_id=mapping.erp_system_id,
                                        is_enabled=True, published_version__isnull=False).first()


def _without_customer(system, other, entity: str, companies: set[str]) -> set[str]:
    """The companies with no customer in the other system yet, nor one being created there."""
    if not companies:
        return set()
    record_of = dict(RecordLink.objects.filter(system=system, entity_type=entity, external_id__in=companies,
                                               status=LinkStatus.ACTIVE).values_list("external_id", "record_id"))
    covered = set(RecordLink.objects.filter(system=other, entity_type=entity, record_id__in=record_of.values(),
                                            status=LinkStatus.ACTIVE).values_list("record_id", flat=True))
    covered |= set(OutboundChange.objects.filter(system=other, record_id__in=record_of.values(), link__isnull=True)
                   .values_list("record_id", flat=True))
    return {company for company in companies if record_of.get(company) not in covered}
