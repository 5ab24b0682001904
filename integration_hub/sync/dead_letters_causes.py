"""A dead letter's cause: the vendor's error with the values taken out, so a person fixes every write one refusal
stopped at once (`Invalid Field Value "101" for the following field: company` and `... "207" ...` are one cause).

The database groups the dead writes by their exact message first; the messages are normalised here, so the work
grows with the number of different messages, not with the number of writes that share them.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from connectors.models import ConnectedSystem

MAX_CAUSE_CHARS = 300

# A field or property named in the message stays (it says what to fix); its value goes.
_NAMED = re.compile(r"""\b(property|field|column|sublist|subrecord)(\s*[:=]?\s*)(["'])([A-Za-z_][\w.\[\]:-]*)\3""",
                    re.I)
_OBJECT = re.compile(r"\{[^{}]*\}")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HEX_ID = re.compile(r"\b[0-9a-f]{8,}(?:-[0-9a-f]{4,})*\b", re.I)
_NUMBER = re.compile(r"(?<![\w.])(?<!HTTP )[-+]?\d+(?:[.,]\d+)*(?!\w)")
_SPACES = re.compile(r"\s+")
_PLACEHOLDER = 0xE000  # Unicode's private use area: not in a vendor's words


def cause_of(message: str) -> str:
    """The message with ids, values, numbers and addresses taken out (an HTTP status and field names stay)."""
    text = _problem_lists(message or "")
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match.group(0))
        return chr(_PLACEHOLDER + len(kept) - 1)  # a character no later pattern touches

    text = _NAMED.sub(keep, text)
    previous = None
    while previous != text:  # innermost objects first: {"a": {"b": 1}} becomes one {…}
        previous, text = text, _OBJECT.sub("{…}", text)
    text = _QUOTED.sub('"…"', text)
    text = _EMAIL.sub("…", text)
    text = _HEX_ID.sub("…", text)
    text = _NUMBER.sub("#", text)
    text = text.translate({_PLACEHOLDER + i: name for i, name in enumerate(kept)})
    return _SPACES.sub(" ", text).strip()[:MAX_CAUSE_CHARS] or "(no message)"


def _problem_lists(message: str) -> str:
    """A JSON list of per-property problems inside a message (HubSpot's "Property values were not valid: [...]")
    becomes its problems' own messages, each normalised: the same bad property is one cause whatever its value."""
    start = message.find("[{")
    if start < 0:
        return message
    try:
        problems = json.loads(message[start:])
    except ValueError:
        return message
    if not isinstance(problems, list) or not all(isinstance(p, dict) for p in problems):
        return message
    texts = sorted({cause_of(str(p.get("message") or p.get("error") or json.dumps(p, sort_keys=True)))
                    for p in problems})
    return message[:start] + "; ".join(texts)


def cause_key(system_id: int, vendor_object: str, cause: str) -> str:
    """A short stable id for a cause of one system's object (what the page's filter and the API name)."""
    return hashlib.sha256(f"{system_id}\x00{vendor_object}\x00{cause}".encode()).hexdigest()[:16]


@dataclass
class Cause:
    """Dead writes to one system's object refused for one reason."""

    key: str
    system: ConnectedSystem
    vendor_object: str
    text: str
    count: int = 0
    example: str = ""  # one message as the vendor wrote it
    messages: list[str] = field(default_factory=list)  # every exact message it stands for


def causes(queryset: QuerySet) -> list[Cause]:
    """The writes of `queryset` grouped by cause, most writes first."""
    found: dict[str, Cause] = {}
    rows = queryset.order_by().values_list("system_id", "vendor_object", "last_error").annotate(n=Count("id"))
    systems = ConnectedSystem.objects.in_bulk({system_id for system_id, *_ in rows})
    for system_id, vendor_object, message, n in rows:
        text = cause_of(message)
        key = cause_key(system_id, vendor_object, text)
        cause = found.get(key)
        if cause is None:
            cause = found[key] = Cause(key, systems[system_id], vendor_object, text, example=message)
        cause.count += n
        cause.messages.append(message)
    return sorted(found.values(), key=lambda c: (-c.count, c.system.name, c.vendor_object, c.text))


def of_cause(queryset: QuerySet, key: str) -> QuerySet:
    """The writes of `queryset` whose cause is `key` (none when no write has it any more)."""
    for cause in causes(queryset):
        if cause.key == key:
            return queryset.filter(system_id=cause.system.pk, vendor_object=cause.vendor_object,
                                   last_error__in=cause.messages)
    return queryset.none()
