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
from django.db import transaction
from django.utils import timezone

from connectors.base import ConnectorError
from connectors.services import connector_session
from integration_hub.records.matching import key_digest
from integration_hub.records.models import RecordLink
from integration_hub.records.services import display_name_for
from mapping.compiled import SIDES, CompiledMapping, compile_mapping
from mapping.paths import get_path
from mapping.reader import Reader, ReadValues
from reconciliation.duplicates import matching, scoring
from reconciliation.duplicates.models import ReadinessReport, ReadinessStatus


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


def _compiled(mapping) -> CompiledMapping:
    """The mapping's published rules, else its newest draft's."""
    version = mapping.published_version or mapping.versions.order_by("-number").first()
    if version is None:
        raise ValueError(f"{mapping} has no rules yet.")
    return compile_mapping(mapping, version)


def _pull(reader: Reader) -> list[tuple[str, ReadValues]]:
    """(external id, what the record says) for every record of one side, read as the sync reads it."""
    out = []
    with connector_session(reader.system, **settings.SYNC_CONNECTOR_OPTIONS) as connector:
        for page in reader.changes(connector, None, 100):
            reads = reader.read(page.records)
            out += [(remote.external_id, reads[remote.external_id]) for remote in page.records]
    return out


def _name(values: dict) -> str:
    return display_name_for("", values) or ""


def build_report(*, mapping) -> Report:
    """Read both sides and find what would stop a clean first sync (reads only; writes nothing)."""
    started = time.perf_counter()
    compiled = _compiled(mapping)
    rules = {rule.field: rule for rule in compiled.version.rules.all()}
    sections = {key: Section(key, title) for key, title in (
        ("duplicates", "Duplicates within one side"), ("required", "Missing a required field"),
        ("picklist", "Values no picklist map covers"), ("invalid", "Other values the rules reject"),
        ("unlinkable", "Records the match keys cannot link"))}
    counts: dict[str, dict[str, int]] = {}
    pulled: dict[str, list] = {}
    for side in SIDES:
        system = compiled.system(side)
        records = _pull(Reader.from_compiled(compiled, side))
        pulled[side] = records
        linked = dict(RecordLink.objects.filter(system=system, entity_type=mapping.entity_type)
                      .values_list("external_id", "record_id"))
        for external_id, read in records:
            for name, reason in read.errors.items():
                key = "required" if reason == "required" else "picklist" if "picklist" in reason else "invalid"
                sections[key].rows.append(Row(side, system.name, external_id, _name(read.values), name,
                                              _show(_raw_value(read.fields, rules.get(name), side)), reason,
                                              linked.get(external_id)))
        if mapping.entity_type in scoring.PROFILES:
            rows = [(i, read.values) for i, (_, read) in enumerate(records)]
            result = matching.scan(mapping.entity_type, rows)
            for number, cluster in enumerate(result.clusters, 1):
                best = max((p.score for p in result.pairs if p.left in cluster), default=0.0)
                for index in cluster:
                    external_id, values = records[index][0], records[index][1].values
                    sections["duplicates"].rows.append(Row(
                        side, system.name, external_id, _name(values), detail=f"cluster {number} of {len(cluster)} "
                        f"records, score {best:.2f}", record_id=linked.get(external_id)))
        counts[side] = {"records": len(records)}
    _unlinkable(mapping, pulled, sections["unlinkable"])
    for side in SIDES:
        for section in sections.values():
            counts[side][section.key] = sum(1 for r in section.rows if r.side == side)
    return Report(mapping_id=mapping.pk, counts=counts, sections=list(sections.values()),
                  rule_version=compiled.version.number, built_at=timezone.now().isoformat(),
                  seconds=round(time.perf_counter() - started, 2))


def _raw_value(fields: dict, rule, side: str) -> Any:
    """What the vendor holds in the field's path(s), as it is (for the person fixing it)."""
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


def _unlinkable(mapping, pulled: dict[str, list], section: Section) -> None:
    """Records of one side that no match key links to a record of the other side."""
    keys = list(mapping.match_keys or [])
    index: dict[str, dict[str, set]] = {side: defaultdict(set) for side in SIDES}
    for side in SIDES:
        for _, read in pulled[side]:
            for key in keys:
                value = key_digest(key, read.values)  # exact values, as the sync matches
                if value is not None:
                    index[side][key].add(value)
    system = {"crm": mapping.crm_system.name, "erp": mapping.erp_system.name}
    for side in SIDES:
        other = "erp" if side == "crm" else "crm"
        for external_id, read in pulled[side]:
            values = read.values
            tried = [key for key in keys if key_digest(key, values) is not None]
            if any(key_digest(key, values) in index[other][key] for key in tried):
                continue
            detail = (f"no {other.upper()} record has the same {' or '.join(tried)}" if tried
                      else f"has none of the match keys ({', '.join(keys) or 'none set'})")
            section.rows.append(Row(side, system[side], external_id, _name(values), detail=detail))


# A build taking longer than this is taken for dead (its worker killed): asking again starts a new one.
BUILD_TIMEOUT = timedelta(minutes=30)


def readiness_request(*, mapping, user=None):
    """Ask a worker to build a mapping's readiness report; a build already under way is joined, not repeated."""
    from reconciliation.duplicates import tasks  # tasks imports this module

    running = building(mapping=mapping)
    if running is not None:
        return running
    stored = ReadinessReport.objects.create(mapping=mapping, status=ReadinessStatus.BUILDING,
                                           built_by=user if user is not None and user.is_authenticated else None)
    transaction.on_commit(lambda: tasks.build_readiness_report.delay(stored.pk))
    return stored


def readiness_complete(stored) -> None:
    """Build a requested report (the worker's part); a system that cannot be read fails it with the reason."""
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
    stored = ReadinessReport.objects.filter(mapping=mapping, status=ReadinessStatus.DONE).first()
    return Report.from_json(stored.data) if stored else None


def building(*, mapping):
    """The build under way for this mapping, if any (one older than BUILD_TIMEOUT is taken for dead)."""
    return ReadinessReport.objects.filter(mapping=mapping, status=ReadinessStatus.BUILDING,
                                          created_at__gte=timezone.now() - BUILD_TIMEOUT).first()


def last_failure(*, mapping):
    """The newest build, when it failed (shown with its reason until a build succeeds)."""
    newest = ReadinessReport.objects.filter(mapping=mapping).exclude(status=ReadinessStatus.BUILDING).first()
    return newest if newest is not None and newest.status == ReadinessStatus.FAILED else None
