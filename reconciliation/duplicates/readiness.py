"""The data readiness report of a mapping, for go-live on dirty data.

Reads every record of both sides through the connectors (nothing is written anywhere), maps them with the
mapping's rules (published, else the newest draft) and lists, per side: duplicates within the side (clusters
from the same scoring as the queue), records missing a required field, values no picklist map covers, other
values the rules reject, and records the match keys cannot link to the other side. Each row names the
system, the external id and the problem, so the list can be fixed at the source; the report is stored, shown
paginated and exported as CSV.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from reconciliation.duplicates import matching, scoring

SIDES = ("crm", "erp")


@dataclass
class Row:
    side: str
    system: str
    external_id: str
    name: str
    field: str = ""
    value: str = ""
    detail: str = ""
    record_id: int | None = None


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Report:
    mapping_id: int
    counts: dict[str, dict[str, int]]  # side -> {"records", "duplicates", ...}
    sections: list[Section]
    rule_version: int | None = None
    built_at: str = ""
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"mapping": self.mapping_id, "counts": self.counts, "rule_version": self.rule_version,
                "built_at": self.built_at, "seconds": self.seconds,
                "sections": [{"key": s.key, "title": s.title, "rows": [asdict(r) for r in s.rows]}
                             for s in self.sections]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(mapping_id=data["mapping"], counts=data["counts"], rule_version=data.get("rule_version"),
                   built_at=data.get("built_at", ""), seconds=data.get("seconds", 0.0),
                   sections=[Section(s["key"], s["title"], [Row(**r) for r in s["rows"]]) for s in data["sections"]])


def _rules(mapping):
    from mapping.pipeline import compile_rules
    from mapping.rule_checks import rule_spec

    version = mapping.published_version or mapping.versions.order_by("-number").first()
    if version is None:
        raise ValueError(f"{mapping} has no rules yet.")
    rules = list(version.rules.all())
    specs = [rule_spec(rule) for rule in rules]
    mappers = {side: compile_rules(specs, side) for side in SIDES}
    paths = {side: [p for rule in rules for p in getattr(rule, f"{side}_paths")] for side in SIDES}
    return version, mappers, paths, {rule.field: rule for rule in rules}


def _pull(mapping, side: str, mapper, paths) -> list[tuple[str, dict, dict[str, str], dict]]:
    """(external id, canonical values, errors, vendor fields) of every record of one side."""
    from connectors.services import connector_session
    from mapping.preview import vendor_fields

    system = mapping.crm_system if side == "crm" else mapping.erp_system
    obj = mapping.crm_object if side == "crm" else mapping.erp_object
    out = []
    with connector_session(system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
        for page in connector.changes(obj, None, 100, **connector.read_options(obj, paths)):
            for remote in page.records:
                fields = vendor_fields(remote)
                mapped = mapper.to_canonical(fields)
                out.append((remote.external_id, mapped.values, mapped.errors, fields))
    return out


def _name(values: dict) -> str:
    from integration_hub.records.services import display_name_for

    return display_name_for("", values) or ""


def build_report(*, mapping) -> Report:
    """Read both sides and find what would stop a clean first sync (reads only; writes nothing)."""
    from integration_hub.records.models import RecordLink

    started = time.perf_counter()
    version, mappers, paths, rules = _rules(mapping)
    sections = {key: Section(key, title) for key, title in (
        ("duplicates", "Duplicates within one side"), ("required", "Missing a required field"),
        ("picklist", "Values no picklist map covers"), ("invalid", "Other values the rules reject"),
        ("unlinkable", "Records the match keys cannot link"))}
    counts: dict[str, dict[str, int]] = {}
    pulled: dict[str, list] = {}
    for side in SIDES:
        system = mapping.crm_system if side == "crm" else mapping.erp_system
        records = _pull(mapping, side, mappers[side], paths[side])
        pulled[side] = records
        linked = dict(RecordLink.objects.filter(system=system, entity_type=mapping.entity_type)
                      .values_list("external_id", "record_id"))
        for external_id, values, errors, fields in records:
            for name, reason in errors.items():
                key = "required" if reason == "required" else "picklist" if "picklist" in reason else "invalid"
                sections[key].rows.append(Row(side, system.name, external_id, _name(values), name,
                                              _show(_raw_value(fields, rules.get(name), side)), reason,
                                              linked.get(external_id)))
        if mapping.entity_type in scoring.PROFILES:
            rows = [(i, values) for i, (_, values, _, _) in enumerate(records)]
            result = matching.scan(mapping.entity_type, rows)
            for number, cluster in enumerate(result.clusters, 1):
                best = max((p.score for p in result.pairs if p.left in cluster), default=0.0)
                for index in cluster:
                    external_id, values = records[index][0], records[index][1]
                    sections["duplicates"].rows.append(Row(
                        side, system.name, external_id, _name(values), detail=f"cluster {number} of {len(cluster)} "
                        f"records, score {best:.2f}", record_id=linked.get(external_id)))
        counts[side] = {"records": len(records)}
    _unlinkable(mapping, pulled, sections["unlinkable"])
    for side in SIDES:
        for section in sections.values():
            counts[side][section.key] = sum(1 for r in section.rows if r.side == side)
    return Report(mapping_id=mapping.pk, counts=counts, sections=list(sections.values()),
                  rule_version=version.number, built_at=timezone.now().isoformat(),
                  seconds=round(time.perf_counter() - started, 2))


def _raw_value(fields: dict, rule, side: str) -> Any:
    """What the vendor holds in the field's path(s), as it is (for the person fixing it)."""
    from mapping.paths import get_path

    if rule is None:
        return ""
    found = []
    for path in getattr(rule, f"{side}_paths"):
        try:
            found.append(get_path(fields, path))
        except Exception:  # a path the record does not have
            found.append(None)
    shown = [v for v in found if v not in (None, "")]
    return shown[0] if len(shown) == 1 else (", ".join(map(str, shown)) if shown else "")


def _show(value: Any) -> str:
    return "" if value is None else str(value)[:200]


def _key_value(values: dict, key: str) -> tuple | None:
    parts = key.split("+")
    found = tuple(values.get(p) for p in parts)
    if any(v in (None, "") or isinstance(v, dict | list) for v in found):
        return None
    return found


def _unlinkable(mapping, pulled: dict[str, list], section: Section) -> None:
    """Records of one side that no match key links to a record of the other side."""
    keys = list(mapping.match_keys or [])
    index: dict[str, dict[str, set]] = {side: defaultdict(set) for side in SIDES}
    for side in SIDES:
        for _, values, _, _ in pulled[side]:
            for key in keys:
                value = _key_value(values, key)
                if value is not None:
                    index[side][key].add(value)
    system = {"crm": mapping.crm_system.name, "erp": mapping.erp_system.name}
    for side in SIDES:
        other = "erp" if side == "crm" else "crm"
        for external_id, values, _, _ in pulled[side]:
            tried = [key for key in keys if _key_value(values, key) is not None]
            if any(_key_value(values, key) in index[other][key] for key in tried):
                continue
            detail = (f"no {other.upper()} record has the same {' or '.join(tried)}" if tried
                      else f"has none of the match keys ({', '.join(keys) or 'none set'})")
            section.rows.append(Row(side, system[side], external_id, _name(values), detail=detail))


# A build taking longer than this is taken for dead (its worker killed): asking again starts a new one.
BUILD_TIMEOUT = timedelta(minutes=30)


def readiness_request(*, mapping, user=None):
    """Ask a worker to build a mapping's readiness report; a build already under way is joined, not repeated."""
    from django.db import transaction

    from reconciliation.duplicates import tasks
    from reconciliation.duplicates.models import ReadinessReport, ReadinessStatus

    running = building(mapping=mapping)
    if running is not None:
        return running
    stored = ReadinessReport.objects.create(mapping=mapping, status=ReadinessStatus.BUILDING,
                                           built_by=user if user is not None and user.is_authenticated else None)
    transaction.on_commit(lambda: tasks.build_readiness_report.delay(stored.pk))
    return stored


def readiness_complete(stored) -> None:
    """Build a requested report (the worker's part); a system that cannot be read fails it with the reason."""
    from connectors.base import ConnectorError
    from reconciliation.duplicates.models import ReadinessStatus

    try:
        stored.data, stored.status = build_report(mapping=stored.mapping).as_json(), ReadinessStatus.DONE
    except (ConnectorError, ValueError) as exc:
        stored.status, stored.error = ReadinessStatus.FAILED, str(getattr(exc, "message", exc))[:2000]
    except Exception as exc:  # a bug: the page says the build failed instead of "being built" for half an hour
        stored.status, stored.error = ReadinessStatus.FAILED, f"unexpected error: {type(exc).__name__}: {exc}"[:2000]
        stored.save(update_fields=["status", "error"])
        raise
    stored.save(update_fields=["data", "status", "error"])


def latest_report(*, mapping) -> Report | None:
    from reconciliation.duplicates.models import ReadinessReport, ReadinessStatus

    stored = ReadinessReport.objects.filter(mapping=mapping, status=ReadinessStatus.DONE).first()
    return Report.from_json(stored.data) if stored else None


def building(*, mapping):
    """The build under way for this mapping, if any (one older than BUILD_TIMEOUT is taken for dead)."""
    from reconciliation.duplicates.models import ReadinessReport, ReadinessStatus

    return ReadinessReport.objects.filter(mapping=mapping, status=ReadinessStatus.BUILDING,
                                          created_at__gte=timezone.now() - BUILD_TIMEOUT).first()


def last_failure(*, mapping):
    """The newest build, when it failed (shown with its reason until a build succeeds)."""
    from reconciliation.duplicates.models import ReadinessReport, ReadinessStatus

    newest = ReadinessReport.objects.filter(mapping=mapping).exclude(status=ReadinessStatus.BUILDING).first()
    return newest if newest is not None and newest.status == ReadinessStatus.FAILED else None
