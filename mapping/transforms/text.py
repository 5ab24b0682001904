"""Text transforms: trim, change case, join several vendor fields into one, take one part of a text."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from mapping.paths import compile_path
from mapping.transforms.base import PLAIN_TEXT, TEXTUAL, Compiled, Transform, _same_text, _text
from mapping.types import MAX_TEXT_LENGTH, FieldType, canonical_text, show


class Trim(Transform):
    """Strip surrounding whitespace (and optionally collapse inner runs to one space)."""

    name, label, reversible = "trim", "Trim whitespace", False
    applies_to = TEXTUAL
    params_help = {"collapse": "true to turn inner runs of whitespace into one space"}

    def problems(self, params: dict) -> list[str]:
        collapse = params.get("collapse", False)
        return [] if isinstance(collapse, bool) else ["trim's collapse must be true or false"]

    def build(self, params: dict, path: Any) -> Compiled:
        if params.get("collapse"):
            def forward(value: Any, _record: Mapping) -> str:
                if type(value) is str:
                    value = " ".join(value.split())
                    if len(value) <= MAX_TEXT_LENGTH and "\x00" not in value:
                        return value
                return canonical_text(" ".join(_text(value).split()))
        else:
            def forward(value: Any, _record: Mapping) -> str:
                if type(value) is str:
                    value = value.strip()
                    if len(value) <= MAX_TEXT_LENGTH and "\x00" not in value:
                        return value
                return canonical_text(_text(value).strip())
        # The output passed canonical_text's checks, so text and choice fields need no second pass.
        return Compiled(forward, _same_text, canonical=PLAIN_TEXT)


class Case(Transform):
    """Upper-, lower- or title-case text when reading; writes the canonical text as it is."""

    name, label, reversible = "case", "Change case", False
    applies_to = frozenset({FieldType.TEXT, FieldType.CHOICE})
    params_help = {"mode": "upper, lower or title"}
    MODES: ClassVar[dict[str, Callable[[str], str]]] = {"upper": str.upper, "lower": str.lower, "title": str.title}

    def problems(self, params: dict) -> list[str]:
        mode = params.get("mode")
        return [] if mode in self.MODES else [f"case mode must be one of: upper, lower, title (got {show(mode)})"]

    def build(self, params: dict, path: Any) -> Compiled:
        change = self.MODES[params["mode"]]
        return Compiled(lambda value, _record: canonical_text(change(_text(value))), _same_text,
                        canonical=PLAIN_TEXT)


class Concat(Transform):
    """Join several vendor fields into one text (parts trimmed, empty parts skipped); writing splits it again.

    Split rule: text is cut at the separator (any whitespace when it is " "). With split="last" (the default, for
    names) each of the last n-1 parts gets one token and the first part gets the rest ("Mary Ann" + "Smith");
    split="first" gives one token to each of the first n-1 parts and the rest to the last. When there are fewer
    tokens than parts, the tokens fill the first parts and the others are written empty.
    """

    name, label, reversible = "concat", "Join several fields", True
    applies_to = frozenset({FieldType.TEXT})
    params_help = {"separator": "text between parts (default one space)",
                   "split": "last (default) or first: which end gets one token per part when writing",
                   "parts": "number of parts when used without the pipeline (default 2)"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        separator = params.get("separator", " ")
        if not isinstance(separator, str) or not separator:
            reasons.append("concat separator must be non-empty text")
        if params.get("split", "last") not in ("last", "first"):
            reasons.append("concat split must be 'last' or 'first'")
        parts = params.get("parts", 2)
        if isinstance(parts, bool) or not isinstance(parts, int) or not 2 <= parts <= 10:
            reasons.append("concat parts must be a whole number from 2 to 10")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        separator = params.get("separator", " ")
        from_end = params.get("split", "last") == "last"
        count = len(path) if isinstance(path, list) else params.get("parts", 2)

        def forward(values: Any, _record: Mapping) -> str:
            if not isinstance(values, list | tuple):
                values = [values]
            parts = []
            for value in values:
                if value is None:
                    continue
                text = _text(value).strip()
                if text:
                    parts.append(text)
            return separator.join(parts)

        def reverse(value: Any, _out: dict) -> list[str | None]:
            text = _text(value)
            tokens = text.split() if separator == " " else [token for token in text.split(separator) if token]
            if len(tokens) <= count:
                return tokens + [None] * (count - len(tokens))
            if from_end:
                cut = len(tokens) - count + 1
                return [separator.join(tokens[:cut]), *tokens[cut:]]
            return [*tokens[:count - 1], separator.join(tokens[count - 1:])]

        return Compiled(forward, reverse)


class SplitPart(Transform):
    """One part of a multi-line vendor text (address line 1 of "line1\\nline2"); writing puts it back in place."""

    name, label, reversible = "split_part", "Take one part of a text", False
    applies_to = frozenset({FieldType.TEXT})
    params_help = {"separator": "text between parts (default a line break)", "index": "which part, from 0"}

    def problems(self, params: dict) -> list[str]:
        reasons = []
        separator = params.get("separator", "\n")
        if not isinstance(separator, str) or not separator:
            reasons.append("split_part separator must be non-empty text")
        index = params.get("index", 0)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 50:
            reasons.append("split_part index must be a whole number from 0 to 50")
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        separator = params.get("separator", "\n")
        index = params.get("index", 0)
        getter = compile_path(path)[0] if isinstance(path, str) else None

        def split(text: str) -> list[str]:
            if separator == "\n":
                text = text.replace("\r\n", "\n")
            return text.split(separator)

        def forward(value: Any, _record: Mapping) -> str | None:
            parts = split(_text(value))
            return parts[index] if index < len(parts) else None

        def reverse(value: Any, out: dict) -> str:
            current = getter(out) if getter is not None else None
            parts = split(current) if isinstance(current, str) else []
            parts.extend([""] * (index + 1 - len(parts)))
            parts[index] = _text(value)
            while len(parts) > 1 and not parts[-1]:
                parts.pop()
            return separator.join(parts)

        return Compiled(forward, reverse, empty_as="")
