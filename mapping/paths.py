"""Vendor field paths ("city", "currency.refName", "addressBook.defaultShipping=true.addressBookAddress.zip").

A path is dot-separated; a part made of digits indexes a list (and also works as a key of an object); a part
``key=value`` selects the first object in a list whose ``key`` reads as ``value`` (case-insensitive; a reference
object by its name or id), so a path can name "the default shipping address" or "the Wholesale price level"
rather than a position.
``compile_path`` turns a path into a getter that never raises on missing or mistyped parts (it returns None)
and a setter that builds the intermediate objects and lists it needs.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from mapping.types import MappingError

Getter = Callable[[Any], Any]
Setter = Callable[[dict, Any], None]

MAX_PATH_LENGTH = 300
MAX_INDEX = 999  # a setter pads lists up to the index; a path like "items.99999999" must not allocate gigabytes
_PART = re.compile(r"[A-Za-z0-9_$@:-]+")
_SELECTOR = re.compile(r"([A-Za-z0-9_$@:-]+)=([A-Za-z0-9_$@:. -]*)")


class PathError(MappingError):
    """A path is malformed, or a setter met a value in the way (text where an object is needed)."""


def path_problems(path: Any) -> list[str]:
    """Why ``path`` is not a usable field path (empty list when it is)."""
    if not isinstance(path, str):
        return [f"a field path must be text, not {type(path).__name__}"]
    if not path:
        return ["the field path is empty"]
    if len(path) > MAX_PATH_LENGTH:
        return [f"the field path is longer than {MAX_PATH_LENGTH} characters"]
    problems = []
    parts = _split(path)
    for position, part in enumerate(parts):
        if "=" in part:
            if not _SELECTOR.fullmatch(part):
                problems.append(f"the field path {path!r} has a selector that is not key=value: {part!r}")
            elif position == len(parts) - 1:
                problems.append(f"the field path {path!r} ends with a selector; name the field inside it")
            continue
        if not part:
            problems.append(f"the field path {path!r} has an empty part")
        elif not _PART.fullmatch(part):
            problems.append(f"the field path {path!r} has a part with characters a field name cannot have: {part!r}")
        elif part.isdigit() and int(part) > MAX_INDEX:
            problems.append(f"the field path {path!r} has a list index above {MAX_INDEX}: {part}")
    return problems


def _split(path: str) -> list[str]:
    """Split on dots, except the dots inside a selector's value ("version=1.2")."""
    parts: list[str] = []
    for piece in path.split("."):
        if parts and "=" in parts[-1] and "=" not in piece and parts[-1].split("=", 1)[1] and piece.isdigit():
            parts[-1] += "." + piece
        else:
            parts.append(piece)
    return parts


def selected(items: Any, key: str, value: str) -> Any:
    """The first object in a list whose ``key`` reads as ``value`` (True reads as "true"; a reference such as
    {"id": "2", "refName": "Wholesale"} reads as its name or its id)."""
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict):
            found = item.get(key)
            if isinstance(found, dict):
                if any(part is not None and str(part).lower() == value
                       for part in (found.get("refName"), found.get("id"))):
                    return item
            elif found is not None and str(found).lower() == value:
                return item
    return None


def _selector_value(text: str) -> Any:
    return {"true": True, "false": False}.get(text.lower(), text)


def _make_getter(parts: tuple[tuple[str, int | None], ...]) -> Getter:
    """Straight-line code for this path (no loop, no per-part call): it runs once per field per record.

    The generated source only embeds part names that passed ``_PART`` (as repr literals) and integers.
    """
    lines = ["def get(node):"]
    for key, index in parts:
        if "=" in key:
            name, value = key.split("=", 1)
            lines.append(f"    node = selected(node, {name!r}, {value.lower()!r})")
        elif index is None:
            lines += ["    if not isinstance(node, dict): return None", f"    node = node.get({key!r})"]
        else:
            lines += [f"    if isinstance(node, list): node = node[{index}] if len(node) > {index} else None",
                      f"    elif isinstance(node, dict): node = node.get({key!r})",
                      "    else: return None"]
    lines.append("    return node")
    namespace: dict[str, Any] = {"selected": selected}
    exec("\n".join(lines), namespace)  # safe: generated from validated parts only
    return namespace["get"]


def _blocked(path: str, parts: tuple[tuple[str, int | None], ...], position: int, node: Any) -> PathError:
    where = ".".join(key for key, _ in parts[:position]) or "the record"
    return PathError(f"cannot set {path!r}: {where!r} holds {type(node).__name__}, not an object or list")


def _make_setter(path: str, parts: tuple[tuple[str, int | None], ...]) -> Setter:
    """Straight-line code that walks the path, creating missing objects (or lists, before an index), then sets."""
    lines = ["def set_value(node, value):"]
    last = len(parts) - 1
    for position, (key, index) in enumerate(parts):
        following = parts[position + 1] if position != last else None
        make = "" if following is None else ("[]" if following[1] is not None or "=" in following[0] else "{}")
        if "=" in key:  # never last (path_problems refuses that)
            name, value = key.split("=", 1)
            lines += ["    if isinstance(node, list):",
                      f"        child = selected(node, {name!r}, {value.lower()!r})",
                      f"        if child is None: child = {{{name!r}: selector_value({value!r})}}; node.append(child)",
                      f"    else: raise blocked(path, parts, {position}, node)",
                      "    node = child"]
            continue
        lines.append("    if isinstance(node, dict):")
        if position == last:
            lines.append(f"        node[{key!r}] = value")
        else:
            lines += [f"        child = node.get({key!r})",
                      f"        if child is None: child = node[{key!r}] = {make}"]
        if index is not None:
            lines += ["    elif isinstance(node, list):",
                      f"        if len(node) <= {index}: node.extend([None] * ({index} + 1 - len(node)))"]
            if position == last:
                lines.append(f"        node[{index}] = value")
            else:
                lines += [f"        child = node[{index}]",
                          f"        if child is None: child = node[{index}] = {make}"]
        lines.append(f"    else: raise blocked(path, parts, {position}, node)")
        if position != last:
            lines.append("    node = child")
    namespace: dict[str, Any] = {"blocked": _blocked, "path": path, "parts": parts, "selected": selected,
                                 "selector_value": _selector_value}
    exec("\n".join(lines), namespace)  # safe: generated from validated parts only
    return namespace["set_value"]


@lru_cache(maxsize=4096)
def _compile_path(path: str) -> tuple[Getter, Setter]:
    problems = path_problems(path)
    if problems:
        raise PathError("; ".join(problems))
    parts = tuple((part, int(part) if part.isdigit() else None) for part in _split(path))
    return _make_getter(parts), _make_setter(path, parts)


def compile_path(path: str) -> tuple[Getter, Setter]:
    """(getter, setter) for a field path; PathError if the path is malformed."""
    if not isinstance(path, str):
        raise PathError(path_problems(path)[0])
    return _compile_path(path)


def path_parts(path: str) -> tuple[tuple[str, int | None], ...]:
    """A path's parts as the getter walks them: (part, list index or None); PathError if malformed."""
    compile_path(path)  # validates
    return tuple((part, int(part) if part.isdigit() else None) for part in _split(path))


def get_path(record: Any, path: str) -> Any:
    """The value at ``path`` in ``record``, or None."""
    return compile_path(path)[0](record)


def set_path(record: dict, path: str, value: Any) -> None:
    """Set the value at ``path``, creating what is missing."""
    compile_path(path)[1](record, value)


def root(path: str) -> str:
    """The top-level field a path starts from ("currency" for "currency.refName")."""
    return path.split(".", 1)[0]


def _list_selector(path: str) -> tuple[str, str, str] | None:
    """(list, key, value) of a path that selects a line of a top-level list ("addressBook.defaultShipping=true...")."""
    parts = _split(path)
    if len(parts) > 2 and "=" in parts[1] and _SELECTOR.fullmatch(parts[1]):
        key, value = parts[1].split("=", 1)
        return parts[0], key, value.lower()
    return None


def unshare_selected_lines(lists: dict[str, Any], writing: list[str], others: list[str]) -> None:
    """Before writing ``writing`` paths into ``lists`` (copies of the vendor's sublists), give each written
    selector a line of its own where one line is selected by several flags (NetSuite's one address line that
    is both the default shipping and the default billing address): the written flag moves to a copy of the
    line, so writing the shipping street never rewrites the billing street the other selector reads.
    Only true/false flags are split (a flag can be handed over); the copy drops the line's own id."""
    written = {sel for sel in map(_list_selector, writing) if sel}
    kept = {sel for sel in map(_list_selector, others) if sel} - written
    for list_name, key, value in sorted(written):
        items = lists.get(list_name)
        line = selected(items, key, value)
        if line is None or value not in ("true", "false"):
            continue
        sharing = [(k, v) for name, k, v in kept if name == list_name and v in ("true", "false")
                   and selected([line], k, v) is line]
        if not sharing:
            continue
        copy = {k: v for k, v in line.items() if k not in ("id", "internalId", "line")}
        copy = _deep(copy)
        line[key] = value != "true"  # the original line keeps the other flags, and gives this one up
        for other_key, other_value in sharing:
            copy[other_key] = other_value != "true"
        items.append(copy)


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value
