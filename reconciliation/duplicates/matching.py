"""The full scan, as pure functions: prepare -> block -> score -> cluster (no ORM, no I/O).

``scan(entity_type, rows)`` takes ``(id, canonical values)`` rows and returns the scored pairs at or above
the profile's lower threshold (with evidence if asked), grouped into clusters (connected pairs), plus counts.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciliation.duplicates import blocking, scoring


@dataclass(frozen=True)
class ScoredPair:
    left: int  # the smaller id
    right: int
    score: float
    evidence: list[dict[str, Any]] = field(default_factory=list, compare=False)


@dataclass
class ScanResult:
    pairs: list[ScoredPair]
    clusters: list[list[int]]  # ids, each cluster sorted, clusters by best score first
    counts: dict[str, int]
    keys: dict[int, set[str]] = field(default_factory=dict)  # id -> blocking keys (with keep_keys)


def sort_value(p: scoring.Prepared) -> str:
    """What oversized blocks are sorted by: the name's words in alphabetical order, so transposed words and
    typos late in a word still sort next to each other."""
    return " ".join(sorted((p.get("name") or p.get("sku") or "").split()))


def pair_key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def clusters_of(pairs: Iterable[ScoredPair]) -> list[list[int]]:
    """Connected components of the pairs (union-find), best-scored first."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    best: dict[int, float] = {}
    pairs = list(pairs)
    for pair in pairs:
        ra, rb = find(pair.left), find(pair.right)
        if ra != rb:
            parent[ra] = rb
    groups: dict[int, list[int]] = {}
    for node in parent:
        groups.setdefault(find(node), []).append(node)
    for pair in pairs:
        root = find(pair.left)
        best[root] = max(best.get(root, 0.0), pair.score)
    ordered = sorted(groups.items(), key=lambda item: (-best.get(item[0], 0.0), min(item[1])))
    return [sorted(members) for _, members in ordered]


def scan(entity_type: str, rows: Iterable[tuple[int, Mapping[str, Any]]], *,
         profile: scoring.Profile | None = None, threshold: float | None = None,
         exclude: set[tuple[int, int]] | frozenset = frozenset(), with_evidence: bool = False,
         keep_keys: bool = False, progress: Callable[[str, int, int], None] | None = None) -> ScanResult:
    """Score every blocked pair of ``rows`` and keep those at or above ``threshold`` (the profile's lower one)."""
    profile = profile or scoring.profile_for(entity_type)
    threshold = profile.lower if threshold is None else threshold
    ids: list[int] = []
    prepared: list[scoring.Prepared] = []
    for record_id, values in rows:
        ids.append(record_id)
        prepared.append(profile.prepare(values))
    if progress:
        progress("prepared", len(ids), len(ids))
    keys = [blocking.blocking_keys(entity_type, p) for p in prepared]
    sort_values = [sort_value(p) for p in prepared]
    encoded, counts = blocking.candidate_pairs(keys, sort_values)
    size = len(ids)
    total = len(encoded)
    if progress:
        progress("blocked", 0, total)
    kept: list[ScoredPair] = []
    score = scoring.score
    step = max(1, total // 100)
    for done, code in enumerate(encoded, 1):
        i, j = divmod(code, size)
        a, b = pair_key(ids[i], ids[j])
        if exclude and (a, b) in exclude:
            continue
        value = score(profile, prepared[i], prepared[j], threshold)
        if value >= threshold:
            if with_evidence:
                value, rows_ = scoring.evidence(profile, prepared[i], prepared[j])
                if ids[i] > ids[j]:
                    rows_ = [_swap(r) for r in rows_]
                kept.append(ScoredPair(a, b, value, rows_))
            else:
                kept.append(ScoredPair(a, b, value))
        if progress and done % step == 0:
            progress("scored", done, total)
    if progress:
        progress("scored", total, total)
    counts.update(records=size, candidates=len(kept))
    kept.sort(key=lambda p: (-p.score, p.left, p.right))
    return ScanResult(pairs=kept, clusters=clusters_of(kept), counts=counts,
                      keys=dict(zip(ids, keys, strict=True)) if keep_keys else {})


def _swap(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "left": row["right"], "right": row["left"],
            "left_compared": row["right_compared"], "right_compared": row["left_compared"]}
