"""Impact preview: what a draft would change on each side before anyone publishes it."""
from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from connectors.services import connector_session
from integration_hub.records.matching import key_digest
from integration_hub.records.models import Record, RecordLink
from mapping.compiled import compile_mapping
from mapping.models import RuleSetVersion, SystemOfRecord
from mapping.paths import compile_path
from mapping.pipeline import compile_rules
from mapping.reader import Reader
from mapping.rule_checks import rule_spec

SAMPLE_SIZE = 20
CHUNK = 2000


def _flows_into(side: str, owner: str) -> bool:
    """Whether a field with this owner is written to ``side`` (the owner's side is only read)."""
    return owner == SystemOfRecord.SHARED or owner != side


def _side_report() -> dict[str, Any]:
    return {"linked": 0, "would_change": 0, "fields": Counter(), "samples": [],
            "invalid": 0, "invalid_fields": Counter(), "invalid_samples": []}


def version_preview(*, version: RuleSetVersion, scan_systems: bool = True) -> dict[str, Any]:
    """Run the version's rules over the golden records and each side's last known values, and
    (``scan_systems``) over both systems' current records.

    Per system: how many records the rules would change and which fields, a sample of
    before → after, and which records would fail the rules' validation. Stored on the version.
    """
    mapping = version.mapping
    rules = list(version.rules.all())
    specs = [rule_spec(rule) for rule in rules]
    owners = {rule.field: rule.system_of_record for rule in rules}
    sides = {
        "crm": (mapping.crm_system_id, compile_rules(specs, "crm"), "crm_path"),
        "erp": (mapping.erp_system_id, compile_rules(specs, "erp"), "erp_path"),
    }
    getters = {
        side: {spec.field: [compile_path(p)[0] for p in (getattr(spec, attr) if isinstance(getattr(spec, attr), list)
                                                         else [getattr(spec, attr)]) if p]
               for spec in specs}
        for side, (_, _, attr) in sides.items()
    }
    report = {"crm": _side_report(), "erp": _side_report()}
    totals = {"records": 0, "unlinked": 0}
    links = Prefetch("links", queryset=RecordLink.objects.filter(
        system_id__in=[mapping.crm_system_id, mapping.erp_system_id]).only(
        "record_id", "system_id", "external_id", "remote_values"))
    records = Record.objects.filter(entity_type=mapping.entity_type).prefetch_related(links)
    for record in records.iterator(chunk_size=CHUNK):
        totals["records"] += 1
        by_system = {link.system_id: link for link in record.links.all()}
        if not by_system:
            totals["unlinked"] += 1
        for side, (system_id, mapper, _) in sides.items():
            link = by_system.get(system_id)
            if link is None:
                continue
            _preview_one(report[side], record, link, mapper, getters[side], owners, side)
    for side_report in report.values():
        side_report["fields"] = dict(side_report["fields"].most_common())
        side_report["invalid_fields"] = dict(side_report["invalid_fields"].most_common())
    result = {"version": version.number, "computed_at": timezone.now().isoformat(), **totals, "systems": report}
    if scan_systems:
        result["live"] = live_preview(version=version)
    RuleSetVersion.objects.filter(pk=version.pk).update(preview=result, previewed_at=timezone.now())
    return result


def _count_invalid(out: dict, errors: dict[str, str], **where: Any) -> None:
    """Count a record whose values fail the rules, by field, keeping a sample with the first reason."""
    if not errors:
        return
    out["invalid"] += 1
    for field in errors:
        out["invalid_fields"][field] += 1
    if len(out["invalid_samples"]) < SAMPLE_SIZE:
        field, reason = next(iter(errors.items()))
        out["invalid_samples"].append({**where, "field": field, "reason": reason})


def _preview_one(out: dict, record: Record, link: RecordLink, mapper, getters: dict, owners: dict, side: str) -> None:
    out["linked"] += 1
    current = link.remote_values or {}
    # Would this side's own values pass the rules?
    read = mapper.to_canonical(current)
    _count_invalid(out, read.errors, record=record.pk, name=str(record))
    # What would the hub write to this side?
    incoming = {f: v for f, v in record.values.items() if f in owners and v is not None
                and _flows_into(side, owners[f])}
    written = mapper.to_vendor(incoming)
    changed = False
    for field in incoming:
        if field in written.errors:
            continue
        for getter in getters.get(field, ()):
            before, after = getter(current), getter(written.values)
            if after is not None and before != after:
                changed = True
                out["fields"][field] += 1
                if len(out["samples"]) < SAMPLE_SIZE:
                    out["samples"].append({"record": record.pk, "name": str(record), "field": field,
                                           "before": before, "after": after})
                break
    if changed:
        out["would_change"] += 1


# --- The live pass: the draft over each system's current records --------------------------------

SCAN_LIMIT = 20_000  # records read per side; the report says when it stopped short


def _scan(reader: Reader, limit: int) -> dict[str, Any]:
    """Read one side's records through its connector and read them with the draft, as the sync would."""
    system = reader.system
    out = {"scanned": 0, "truncated": False, "invalid": 0, "invalid_fields": Counter(), "invalid_samples": [],
           "records": {}, "error": ""}
    try:
        with connector_session(system, timeout=30) as connector:
            for page in reader.changes(connector, None, 100):
                for problem in page.errors:
                    out["invalid"] += 1
                    if len(out["invalid_samples"]) < SAMPLE_SIZE:
                        out["invalid_samples"].append({"id": problem.external_id, "field": "(record)",
                                                       "reason": problem.message})
                reads = reader.read(page.records)
                for remote in page.records:
                    out["scanned"] += 1
                    read = reads[remote.external_id]
                    _count_invalid(out, read.errors, id=remote.external_id)
                    out["records"][remote.external_id] = read.values
                if out["scanned"] >= limit:
                    out["truncated"] = True
                    break
    except Exception as exc:  # a preview reports what it could not read rather than failing the page
        out["error"] = f"{system.name}: {getattr(exc, 'message', exc)}"
    out["invalid_fields"] = dict(out["invalid_fields"].most_common())
    return out


def _pairs(mapping, crm: dict[str, dict], erp: dict[str, dict]) -> list[tuple[str, str]]:
    """Pair records by the hub's links first, then by the mapping's match keys in order, compared as the sync
    compares them (records.matching.key_digest: exact values), so the preview pairs only what the sync will link."""
    pairs: list[tuple[str, str]] = []
    taken_crm: set[str] = set()
    taken_erp: set[str] = set()
    linked = RecordLink.objects.filter(record__entity_type=mapping.entity_type,
                                       system_id__in=[mapping.crm_system_id, mapping.erp_system_id])
    by_record: dict[int, dict[int, str]] = {}
    for record_id, system_id, external_id in linked.values_list("record_id", "system_id", "external_id"):
        by_record.setdefault(record_id, {})[system_id] = external_id
    for ids in by_record.values():
        c, e = ids.get(mapping.crm_system_id), ids.get(mapping.erp_system_id)
        if c in crm and e in erp:
            pairs.append((c, e))
            taken_crm.add(c)
            taken_erp.add(e)
    for key in mapping.match_keys:
        index: dict[str, str] = {}
        for external_id, values in erp.items():
            if external_id not in taken_erp and (value := key_digest(key, values)) is not None:
                index.setdefault(value, external_id)
        for external_id, values in crm.items():
            if external_id in taken_crm or (value := key_digest(key, values)) is None:
                continue
            partner = index.pop(value, None)
            if partner and partner not in taken_erp:
                pairs.append((external_id, partner))
                taken_crm.add(external_id)
                taken_erp.add(partner)
    return pairs


def live_preview(*, version: RuleSetVersion, limit: int = SCAN_LIMIT) -> dict[str, Any]:
    """What the draft would do to the records in both systems today: invalid records, and for
    pairs (linked or matched by the match keys) which owned fields would change on which side."""
    mapping = version.mapping
    compiled = compile_mapping(mapping, version)
    rules = list(version.rules.all())
    specs = [rule_spec(rule) for rule in rules]
    # A draft changes how a value is read, not which record a link points at: references are not compared.
    owners = {rule.field: rule.system_of_record for rule in rules if rule.field_type != "reference"}
    scans = {side: _scan(Reader.from_compiled(compiled, side), limit) for side in ("crm", "erp")}
    crm, erp = scans["crm"].pop("records"), scans["erp"].pop("records")
    pairs = _pairs(mapping, crm, erp)
    changes = {"crm": _side_report(), "erp": _side_report()}
    shared_differences: Counter = Counter()
    written_to = {(spec.field, side) for spec in specs for side in ("crm", "erp") if getattr(spec, f"{side}_path")}
    for crm_id, erp_id in pairs:
        values = {"crm": crm[crm_id], "erp": erp[erp_id]}
        touched = {"crm": False, "erp": False}
        for field, owner in owners.items():
            c, e = values["crm"].get(field), values["erp"].get(field)
            if c == e:
                continue
            if owner == SystemOfRecord.SHARED:
                shared_differences[field] += 1  # settled at sync time by the conflict policy
                continue
            target = "erp" if owner == "crm" else "crm"
            source_value = values[owner].get(field)
            if source_value is None or (field, target) not in written_to:
                continue
            report = changes[target]
            report["fields"][field] += 1
            touched[target] = True
            if len(report["samples"]) < SAMPLE_SIZE:
                report["samples"].append({"id": crm_id if target == "crm" else erp_id, "crm_id": crm_id,
                                          "erp_id": erp_id, "field": field,
                                          "before": values[target].get(field), "after": source_value})
        for side, hit in touched.items():
            if hit:
                changes[side]["would_change"] += 1
    for report in changes.values():
        report["linked"] = len(pairs)
        report["fields"] = dict(report["fields"].most_common())
        for unused in ("invalid", "invalid_fields", "invalid_samples"):
            report.pop(unused)
    return {"scans": scans, "pairs": len(pairs), "only_crm": len(crm) - len(pairs), "only_erp": len(erp) - len(pairs),
            "changes": changes, "shared_differences": dict(shared_differences.most_common())}
