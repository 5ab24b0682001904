"""What the apps above the records core add to a golden record, registered from their AppConfig.ready().

The records core may not import the layers above it, yet its timeline, its page, its masking, its match keys
and its admin depend on what they own (sync events, conflicts, merges, the published rules). Each of those apps
registers a function here instead, and the records core calls whatever is registered; an app not installed
simply adds nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integration_hub.records.models import Record
    from integration_hub.records.selectors import TimelineEntry

TimelineSource = Callable[["Record"], Iterable["TimelineEntry"]]
PageSection = Callable[["Record", Any], dict[str, Any]]  # (record, user) -> extra record page context
FieldSource = Callable[[str], Iterable[str]]  # entity type -> field names, or match keys


@dataclass
class Registry:
    timeline_sources: list[TimelineSource] = field(default_factory=list)
    page_sections: list[PageSection] = field(default_factory=list)
    sensitive_field_sources: list[FieldSource] = field(default_factory=list)
    match_key_sources: list[FieldSource] = field(default_factory=list)
    finance_field_sources: list[FieldSource] = field(default_factory=list)


registry = Registry()


def _add(sources: list, source: Callable) -> None:
    if source not in sources:  # ready() may run twice (a test re-populating the app registry)
        sources.append(source)


def add_timeline_source(source: TimelineSource) -> None:
    """Lines of the record's timeline; they are sorted in with its history, newest first."""
    _add(registry.timeline_sources, source)


def add_page_section(section: PageSection) -> None:
    """Extra context for the record page (the template shows it)."""
    _add(registry.page_sections, section)


def add_sensitive_fields(source: FieldSource) -> None:
    """Fields of an entity masked for Viewers."""
    _add(registry.sensitive_field_sources, source)


def add_match_keys(source: FieldSource) -> None:
    """Match keys an entity's records are indexed by."""
    _add(registry.match_key_sources, source)


def add_finance_fields(source: FieldSource) -> None:
    """Fields of an entity that Finance governs: only a Finance approver may edit them in the admin."""
    _add(registry.finance_field_sources, source)


def timeline_entries(record: Record) -> list[TimelineEntry]:
    return [entry for source in registry.timeline_sources for entry in source(record)]


def page_context(record: Record, user) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for section in registry.page_sections:
        context.update(section(record, user))
    return context


def sensitive_fields(entity_type: str) -> set[str]:
    return {name for source in registry.sensitive_field_sources for name in source(entity_type)}


def match_keys(entity_type: str) -> list[str]:
    """In the order given, each once; anything but a non-empty string is not a key."""
    keys: list[str] = []
    for source in registry.match_key_sources:
        for key in source(entity_type):
            if isinstance(key, str) and key and key not in keys:
                keys.append(key)
    return keys


def finance_fields(entity_type: str) -> set[str]:
    return {name for source in registry.finance_field_sources for name in source(entity_type)}
