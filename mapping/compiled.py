"""A mapping's rules compiled once for reading and syncing: mappers, field policies, paths, references.

The published version is what the sync and every reader of live data use; a draft compiles the same way for
the views that judge it before it is published (impact preview, data readiness)."""
from __future__ import annotations

from dataclasses import dataclass, field

from mapping.drift import fields_stopped_by_drift
from mapping.models import ObjectMapping, RuleSetVersion
from mapping.pipeline import SideMapper, compile_rules
from mapping.rule_checks import rule_spec

SIDES = ("crm", "erp")

# A line of a line-items field points at an item (see mapping/line_items.py): translated the same way.
LINE_ITEM_TARGET = "item"


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """How one canonical field syncs (plain data built from the published FieldRule)."""

    field: str
    owner: str  # "crm" | "erp" | "shared"
    conflict_policy: str = ""  # shared fields: last_write_wins | first_write_wins | manual_review
    non_owner_policy: str = ""  # owned fields: revert_and_log | queue
    approver_role: str = "revops"  # revops | finance
    writes_to: frozenset[str] = frozenset({"crm", "erp"})  # sides with a field path for it
    stopped: frozenset[str] = frozenset()  # sides where it must not sync (schema drift)


@dataclass
class CompiledMapping:
    """Everything a run needs to know about a mapping, read once: rules, mappers, policies, paths."""

    mapping: ObjectMapping
    version: RuleSetVersion
    policies: list[FieldPolicy]
    mappers: dict[str, SideMapper]
    paths: dict[str, list[str]]
    stopped: dict[str, set[str]] = field(default_factory=dict)
    # Reference field -> the entity its rule says it points at ("": none named, never placed). Each system stores
    # its own ids; the hub stores the golden record and translates through links.
    references: dict[str, str] = field(default_factory=dict)
    field_paths: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # side -> field -> vendor paths
    line_fields: dict[str, str] = field(default_factory=dict)  # line-items field -> entity its lines point at
    # Fields a create in the other system cannot go without (rule validation `required` or
    # `required_for_create`), and lines.
    create_requires: frozenset[str] = frozenset()

    def system(self, side: str):
        return self.mapping.crm_system if side == "crm" else self.mapping.erp_system

    def vendor_object(self, side: str) -> str:
        return self.mapping.crm_object if side == "crm" else self.mapping.erp_object

    def readable(self, side: str, values: dict) -> dict:
        """Canonical values read from a side, without fields stopped by schema drift."""
        stopped = self.stopped.get(side)
        return {k: v for k, v in values.items() if k not in stopped} if stopped else values

    def writable(self, side: str) -> set[str]:
        """The fields a write to this side may carry (a path there, and not stopped by drift)."""
        return {p.field for p in self.policies if side in p.writes_to and side not in p.stopped}


class NothingPublished(Exception):
    """A mapping without published rules cannot sync."""


def compile_mapping(mapping: ObjectMapping, version: RuleSetVersion | None = None) -> CompiledMapping:
    """The mapping's published rules compiled (or ``version``'s, a draft being judged)."""
    version = version or mapping.published_version
    if version is None:
        raise NothingPublished(f"{mapping} has no published rules yet: publish a version before syncing.")
    rules = list(version.rules.all())
    stopped = fields_stopped_by_drift(mapping)
    specs = [rule_spec(rule) for rule in rules]
    policies = [
        FieldPolicy(
            field=rule.field, owner=rule.system_of_record, conflict_policy=rule.conflict_policy,
            non_owner_policy=rule.non_owner_policy, approver_role=rule.approver_role,
            writes_to=frozenset(side for side in SIDES if getattr(rule, f"{side}_path")),
            stopped=frozenset(side for side in SIDES if rule.field in stopped[side]),
        )
        for rule in rules
    ]
    return CompiledMapping(
        mapping=mapping, version=version, policies=policies,
        mappers={side: compile_rules(specs, side) for side in SIDES},
        paths={side: [p for rule in rules for p in getattr(rule, f"{side}_paths")] for side in SIDES},
        field_paths={side: {rule.field: list(getattr(rule, f"{side}_paths")) for rule in rules} for side in SIDES},
        stopped=stopped,
        references={rule.field: rule.reference_to for rule in rules if rule.field_type == "reference"},
        line_fields={rule.field: LINE_ITEM_TARGET for rule in rules if rule.field_type == "line_items"},
        create_requires=frozenset(rule.field for rule in rules if (rule.validation or {}).get("required_for_create")
                                  or (rule.validation or {}).get("required") or rule.field_type == "line_items"),
    )
