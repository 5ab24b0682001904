"""Write paths of the conflict queue: decide (one or in bulk), comment. The page, the API, the admin
and the workers all call these, so the role check and the stale check happen in one place."""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from connectors.base import ConnectorError
from integration_hub.kernel import audit, roles
from integration_hub.records import services as hub_services
from integration_hub.records.models import Record, RecordLink
from integration_hub.sync import engine
from integration_hub.sync import tasks as sync_tasks
from integration_hub.sync.merge import SIDE_LABELS, ConflictSpec, is_empty, same, settle_conflict
from integration_hub.sync.models import SyncTrigger
from integration_hub.sync.rules import SIDES, NothingPublished
from mapping.models import ApproverRole
from reconciliation.conflicts import remote
from reconciliation.conflicts.filters import ConflictFilterSet
from reconciliation.conflicts.models import BulkDecision, BulkStatus, Choice, Conflict, ConflictComment, ConflictStatus
from reconciliation.conflicts.values import decision_value, field_rule, value_problems

logger = logging.getLogger(__name__)

STALE_MESSAGE = "changed since — review again"
BULK_CHOICES = (Choice.CRM, Choice.ERP, Choice.REJECT)
BULK_CHUNK = 100


class ConflictStale(Exception):
    """A side changed since the conflict was opened: the conflict was refreshed, nothing was applied."""

    def __init__(self, conflict: Conflict, changed: list[str]) -> None:
        self.conflict = conflict
        self.changed = changed
        super().__init__(f"{' and '.join(changed)} {STALE_MESSAGE}")


class ConflictUnreadable(Exception):
    """A side could not be read now, so the decision cannot be checked against it; nothing was applied."""


class ConflictClosed(ValidationError):
    """The conflict was already decided."""


# --- who may do what -----------------------------------------------------------------------------

def decide_permission(conflict: Conflict) -> str:
    return ("reconciliation.decide_finance_conflict" if conflict.approver_role == ApproverRole.FINANCE
            else "reconciliation.decide_conflict")


def can_decide(user, conflict: Conflict) -> bool:
    """Finance conflicts by Finance approvers, the others by RevOps admins (superusers: any)."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(decide_permission(conflict)))


def can_comment(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm("reconciliation.comment_conflict"))


def approver_label(role: str) -> str:
    return roles.FINANCE_APPROVER if role == ApproverRole.FINANCE else roles.REVOPS_ADMIN


def require_decider(user, conflict: Conflict) -> None:
    if not can_decide(user, conflict):
        raise PermissionDenied(f"Only a {approver_label(conflict.approver_role)} may decide this conflict "
                               f"({conflict.field}).")


def comment_required(conflict: Conflict) -> bool:
    """Finance fields need a reason on record for every decision."""
    return conflict.approver_role == ApproverRole.FINANCE


# --- one decision ----------------------------------------------------------------------------------

def _check(conflict: Conflict, choice: str, value: Any, comment: str) -> Any:
    """The value the decision would set (validated), or ValidationError with field errors."""
    if conflict.status != ConflictStatus.OPEN:
        who = conflict.decided_by.get_username() if conflict.decided_by else "someone"
        raise ConflictClosed(f"This conflict was already decided by {who} "
                             f"({conflict.get_status_display().lower()}).")
    if choice not in Choice.values:
        raise ValidationError({"choice": [f"Choose one of: {', '.join(Choice.values)}."]})
    if comment_required(conflict) and not (comment or "").strip():
        raise ValidationError({"comment": ["A comment is required for a finance field: say why."]})
    if choice in (Choice.CRM, Choice.ERP):
        chosen = getattr(conflict, f"{choice}_value")
        _refuse_erasing_owner(conflict, choice, chosen)
        problems = value_problems(conflict, chosen)
        if problems:
            side = (conflict.mapping.crm_system if choice == Choice.CRM else conflict.mapping.erp_system).name
            raise ValidationError({"choice": [f"{side}'s value cannot be taken: {'; '.join(problems)}."]})
        return chosen
    if choice == Choice.VALUE:
        chosen = decision_value(conflict=conflict, value=value)
        if is_empty(chosen):
            raise ValidationError({"value": ["Enter a value. To keep both systems as they are, reject instead."]})
        return chosen
    return None


def _refuse_erasing_owner(conflict: Conflict, choice: str, chosen: Any) -> None:
    """Taking one side's empty value empties the other side: only that field's owner may empty it."""
    other = "erp" if choice == Choice.CRM else "crm"
    if not is_empty(chosen) or is_empty(getattr(conflict, f"{other}_value")):
        return
    rule = field_rule(conflict)
    if rule is not None and rule.system_of_record == other:
        names = {"crm": conflict.mapping.crm_system.name, "erp": conflict.mapping.erp_system.name}
        raise ValidationError({"choice": [
            f"{names[choice]} has no value for {conflict.field}: taking it would erase {names[other]}'s value, "
            f"and {names[other]} owns this field (only it may empty it). Take {names[other]}'s value, enter a "
            f"value, or reject."]})


def _compare(conflict: Conflict, now: dict[str, remote.SideNow], user) -> None:
    """Refuse a decision on values that are not what the systems show now (refreshing the conflict)."""
    problems = [f"{SIDE_LABELS[side]}: {state.problem}" for side, state in now.items() if not state.known]
    if problems:
        raise ConflictUnreadable("Cannot check the decision against the systems now — " + "; ".join(problems))
    changed = [side for side, state in now.items() if not same(state.value, getattr(conflict, f"{side}_value"))]
    if not changed:
        return
    for side in changed:
        setattr(conflict, f"{side}_value", now[side].value)
        setattr(conflict, f"{side}_updated_at", now[side].updated_at)
    labels = [SIDE_LABELS[side] for side in changed]
    with audit.acting_as(user.get_username(), user=user,
                         reason=f"refreshed: {' and '.join(labels)} changed since it was opened"):
        conflict.save(update_fields=["crm_value", "erp_value", "crm_updated_at", "erp_updated_at"])
    raise ConflictStale(conflict, labels)


def _reason(conflict: Conflict, choice: str, comment: str) -> str:
    text = f"conflict {conflict.pk} on {conflict.field}: {Choice(choice).label}"
    return f"{text} — {comment.strip()}" if comment and comment.strip() else text


@transaction.atomic
def _apply(conflict: Conflict, choice: str, chosen: Any, user, comment: str,
           now: dict[str, remote.SideNow]) -> Conflict:
    """Record the decision: golden value, bases, the conflict itself; flag the links for the push."""
    locked = Conflict.objects.select_for_update().get(pk=conflict.pk)
    if locked.status != ConflictStatus.OPEN:  # decided by someone else a moment ago
        raise ConflictClosed("This conflict was decided by someone else meanwhile.")
    reason = _reason(conflict, choice, comment)
    with audit.acting_as(user.get_username(), user=user, reason=reason):
        if choice != Choice.REJECT:
            spec = ConflictSpec(
                field=conflict.field, base=conflict.base_value, crm_value=conflict.crm_value,
                erp_value=conflict.erp_value, crm_updated_at=conflict.crm_updated_at,
                erp_updated_at=conflict.erp_updated_at, policy=conflict.policy,
                approver_role=conflict.approver_role, reason=conflict.reason, read=frozenset(now))
            golden, bases = settle_conflict(spec, chosen)
            record = Record.objects.select_for_update().get(pk=conflict.record_id)
            origin = {Choice.CRM: conflict.mapping.crm_system.slug, Choice.ERP: conflict.mapping.erp_system.slug}
            hub_services.record_update_values(
                record=record, changes=golden, reason=reason,
                source=hub_services.Source(system=origin.get(choice, "hub"),
                                           rule_version=conflict.mapping.published_version.number
                                           if conflict.mapping.published_version_id else None))
            links = _links(conflict)
            for side, moves in bases.items():
                link = links.get(side)
                if link is not None:
                    link.base_snapshot = {**(link.base_snapshot or {}), **moves}
                    link.save(update_fields=["base_snapshot"])
            RecordLink.objects.filter(pk__in=[link.pk for link in links.values()]).update(needs_merge=True)
        # A rejection changes nothing in the systems: the pair stays as it is, marked diverged.
        conflict.status = ConflictStatus.REJECTED if choice == Choice.REJECT else ConflictStatus.RESOLVED
        conflict.decision = choice
        conflict.chosen_value = chosen
        conflict.decided_by = user
        conflict.decided_at = timezone.now()
        conflict.comment = (comment or "").strip()
        conflict._change_reason = reason
        conflict.save()
    return conflict


def _links(conflict: Conflict) -> dict[str, RecordLink]:
    systems = {conflict.mapping.crm_system_id: "crm", conflict.mapping.erp_system_id: "erp"}
    return {systems[link.system_id]: link
            for link in RecordLink.objects.filter(record_id=conflict.record_id, system_id__in=systems,
                                                  entity_type=conflict.mapping.entity_type)}


def _decide_checked(conflict: Conflict, choice: str, value: Any, user, comment: str,
                    now: dict[str, remote.SideNow]) -> Conflict:
    require_decider(user, conflict)
    chosen = _check(conflict, choice, value, comment)
    _compare(conflict, now, user)
    return _apply(conflict, choice, chosen, user, comment, now)


def _read(conflicts: list[Conflict]) -> dict[int, dict[str, remote.SideNow]]:
    try:
        return remote.read_current(conflicts)
    except ConnectorError as exc:
        raise ConflictUnreadable(f"Cannot read the systems to check the decision: {exc.message}") from exc
    except NothingPublished as exc:
        raise ConflictUnreadable(str(exc)) from exc


def conflict_decide(*, conflict: Conflict, choice: str, user, value: Any = None, comment: str = "") -> Conflict:
    """Decide one conflict: take CRM, take ERP, enter a value, or reject (keep both, diverged).

    Refused with PermissionDenied (wrong role), ValidationError (bad value, missing comment, already
    decided), ConflictStale (a side changed since: the conflict is refreshed) or ConflictUnreadable.
    A decision that sets a value is pushed at once through the outbox, as a sync run."""
    require_decider(user, conflict)
    _check(conflict, choice, value, comment)  # before reading the systems: cheap errors first
    now = _read([conflict])[conflict.pk]
    decided = _decide_checked(conflict, choice, value, user, comment, now)
    if choice != Choice.REJECT:
        push_decisions([decided], user=user)
        decided.refresh_from_db()
    return decided


def push_decisions(conflicts: list[Conflict], *, user) -> None:
    """Carry decided values to the systems through the sync's own path: a targeted run per mapping that
    re-reads the records, merges (the conflicts are no longer open) and queues the writes. If it cannot
    run now, the records stay flagged and the next sync of the mapping sends them."""
    by_mapping: dict[int, list[Conflict]] = defaultdict(list)
    for conflict in conflicts:
        by_mapping[conflict.mapping_id].append(conflict)
    for items in by_mapping.values():
        mapping = items[0].mapping
        ids: dict[str, list[str]] = {side: [] for side in SIDES}
        for conflict in items:
            for side, link in _links(conflict).items():
                ids[side].append(link.external_id)
        try:
            run = engine.sync_run_for_ids(mapping=mapping, ids=ids, trigger=SyncTrigger.DECISION, user=user)
        except Exception:  # the decision stands; the flagged links are merged by the next sync
            logger.exception("decision push for mapping %s failed; the next sync sends it", mapping.pk)
            continue
        Conflict.objects.filter(pk__in=[c.pk for c in items]).update(decision_run=run)
    transaction.on_commit(sync_tasks.dispatch_outbox.delay)


def conflict_comment(*, conflict: Conflict, user, text: str) -> ConflictComment:
    """Add a note to a conflict (RevOps admins and Finance approvers, on any conflict)."""
    if not can_comment(user):
        raise PermissionDenied("Only RevOps admins and Finance approvers may comment on conflicts.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": ["Write something to comment."]})
    if len(text) > 5000:
        raise ValidationError({"text": [f"A comment holds at most 5000 characters (this one has {len(text)})."]})
    with audit.acting_as(user.get_username(), user=user, reason=f"comment on conflict {conflict.pk}"):
        return ConflictComment.objects.create(conflict=conflict, author=user, author_name=user.get_username(),
                                              text=text)


# --- many decisions --------------------------------------------------------------------------------

def bulk_queryset(*, conflict_ids: list[int] | None = None, filter_params: dict | None = None, cutoff=None):
    """The open conflicts a bulk decision covers: the ticked ones, or all matching the queue's filter
    (only those open at ``cutoff``, so conflicts arriving later are not swept in)."""
    open_conflicts = Conflict.objects.filter(status=ConflictStatus.OPEN)
    if cutoff is not None:
        open_conflicts = open_conflicts.filter(created_at__lte=cutoff)
    if conflict_ids is not None:
        return open_conflicts.filter(pk__in=conflict_ids)
    params = {k: v for k, v in (filter_params or {}).items() if k not in ("status", "page", "sort")}
    filterset = ConflictFilterSet(params, queryset=open_conflicts)
    if not filterset.is_valid():
        raise ValidationError(f"The filter is not valid: {filterset.errors.as_text()}")
    return filterset.qs


def bulk_summary(*, user, queryset) -> dict:
    """What a bulk decision would cover: how many, per approver rule, and how many this user may decide."""
    counts = {row["approver_role"]: row["n"] for row in
              queryset.order_by().values("approver_role").annotate(n=Count("id"))}
    rules = [{"role": role, "label": approver_label(role), "count": n,
              "allowed": user.has_perm("reconciliation.decide_finance_conflict" if role == ApproverRole.FINANCE
                                       else "reconciliation.decide_conflict")}
             for role, n in sorted(counts.items())]
    return {"total": sum(counts.values()), "rules": rules,
            "decidable": sum(r["count"] for r in rules if r["allowed"]),
            "needs_comment": any(r["allowed"] and r["role"] == ApproverRole.FINANCE for r in rules)}


def bulk_decision_start(*, user, choice: str, comment: str = "", conflict_ids: list[int] | None = None,
                        filter_params: dict | None = None) -> BulkDecision:
    """Check and record a bulk decision; a worker performs it (progress on its page)."""
    from reconciliation.conflicts import tasks  # the tasks import these services: imported when queuing

    if choice not in BULK_CHOICES:
        raise ValidationError({"choice": ["In bulk: take CRM, take ERP or reject."]})
    if not can_comment(user):
        raise PermissionDenied("Only RevOps admins and Finance approvers decide conflicts.")
    cutoff = timezone.now()
    summary = bulk_summary(user=user, queryset=bulk_queryset(conflict_ids=conflict_ids,
                                                             filter_params=filter_params, cutoff=cutoff))
    if not summary["total"]:
        raise ValidationError("No open conflicts are selected.")
    if not summary["decidable"]:
        roles_needed = " or ".join(sorted({r["label"] for r in summary["rules"]}))
        raise PermissionDenied(f"None of these conflicts is yours to decide: they need a {roles_needed}.")
    if summary["needs_comment"] and not (comment or "").strip():
        raise ValidationError({"comment": ["A comment is required: the selection includes finance fields."]})
    job = BulkDecision.objects.create(
        created_by=user, choice=choice, comment=(comment or "").strip(), cutoff=cutoff,
        conflict_ids=sorted(set(conflict_ids)) if conflict_ids is not None else [],
        filter_params={} if conflict_ids is not None else dict(filter_params or {}), total=summary["total"])
    transaction.on_commit(lambda: tasks.bulk_decide.delay(job.pk))
    return job


def _job_queryset(job: BulkDecision):
    ids = job.conflict_ids if job.conflict_ids else None
    return bulk_queryset(conflict_ids=ids, filter_params=job.filter_params, cutoff=job.cutoff)


def bulk_decision_run(*, job: BulkDecision) -> BulkDecision:
    """Perform a bulk decision in chunks: re-read each chunk's records in batches, decide each conflict
    the user may decide (others are counted as refused, changed ones as stale), push per mapping."""
    user = job.created_by
    ids = list(_job_queryset(job).order_by("pk").values_list("pk", flat=True))
    # A redelivered job starts over on the conflicts still open (its earlier counts stay).
    BulkDecision.objects.filter(pk=job.pk).update(status=BulkStatus.RUNNING, total=len(ids), processed=0)
    job.refresh_from_db()
    notes: list[str] = []
    for start in range(0, len(ids), BULK_CHUNK):
        chunk = list(Conflict.objects.filter(pk__in=ids[start:start + BULK_CHUNK], status=ConflictStatus.OPEN)
                     .select_related("record", "mapping__crm_system", "mapping__erp_system",
                                     "mapping__published_version"))
        counts = _bulk_chunk(job, user, chunk, notes)
        BulkDecision.objects.filter(pk=job.pk).update(
            processed=min(start + BULK_CHUNK, len(ids)), **{k: getattr(job, k) + v for k, v in counts.items()})
        job.refresh_from_db()
    job.status, job.finished_at, job.messages = BulkStatus.DONE, timezone.now(), notes[:50]
    job.save(update_fields=["status", "finished_at", "messages"])
    return job


def _bulk_chunk(job: BulkDecision, user, chunk: list[Conflict], notes: list[str]) -> dict[str, int]:
    counts = {"decided": 0, "stale": 0, "refused": 0, "failed": 0}
    allowed = [c for c in chunk if can_decide(user, c)]
    counts["refused"] = len(chunk) - len(allowed)
    try:
        now = _read(allowed) if allowed else {}
    except ConflictUnreadable as exc:
        counts["failed"] += len(allowed)
        notes.append(str(exc))
        return counts
    decided = []
    for conflict in allowed:
        try:
            decided.append(_decide_checked(conflict, job.choice, None, user, job.comment, now.get(conflict.pk, {})))
        except ConflictStale:
            counts["stale"] += 1
        except (ValidationError, ConflictUnreadable) as exc:
            counts["failed"] += 1
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            notes.append(f"{conflict.record} · {conflict.field}: {text}")
    counts["decided"] = len(decided)
    if decided and job.choice != Choice.REJECT:
        push_decisions(decided, user=user)
    return counts
