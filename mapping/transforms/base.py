"""What every transform is: a named, parameterised conversion compiled once per rule into two closures.

A transform is compiled once per rule (``Transform.compile(params)``) into two closures, so the sync's hot path
never re-reads params. Forward closures take ``(value, record)`` (record = the vendor's fields, for transforms
that read a sibling field); reverse closures take ``(value, out)`` (out = the vendor fields being built).
Empty values (None) never reach a closure: the pipeline and the convenience methods pass them through.

``reversible`` means writing back restores the vendor's value: to_vendor(to_canonical(v)) is v (in the vendor's
normal form, e.g. a picklist's preferred value) and to_canonical(to_vendor(c)) is c. Irreversible transforms
(trim, case, split_part, phone_e164) still write: they send the canonical value.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mapping.types import FieldType, TransformError, kind

Forward = Callable[[Any, Mapping], Any]
Reverse = Callable[[Any, dict], Any]
TEXTUAL = frozenset({FieldType.TEXT, FieldType.CHOICE, FieldType.REFERENCE})
ANY_TYPE = frozenset(FieldType)
PLAIN_TEXT = frozenset({FieldType.TEXT, FieldType.CHOICE})


@dataclass(frozen=True, slots=True)
class Compiled:
    """A transform bound to its params; ``after_write`` writes sibling fields (money's currency) on success."""

    to_canonical: Forward
    to_vendor: Reverse
    after_write: Callable[[Any, dict], None] | None = None
    sibling_paths: tuple[str, ...] = ()
    empty_as: Any = None  # when set, writing an empty value goes through to_vendor as this (split_part: "")
    canonical: frozenset[FieldType] = frozenset()  # field types its output is already canonical for: no 2nd pass
    # to_canonical's answer depends on the vendor value alone (no sibling field, no clock) and is worth
    # remembering (a lookup or a parse dearer than a dict look-up): the pipeline may reuse it for the same text.
    pure: bool = False


def _same_text(value: Any, _out: Any) -> str:
    """Write canonical text as it is (the pipeline skips this step: its values are text already)."""
    if type(value) is str:
        return value
    raise TransformError(f"expected text but got {kind(value)}: {{value}}", value)


def _text(value: Any, what: str = "text") -> str:
    """The value if it is a str, else a clear TransformError."""
    if type(value) is str:
        return value
    raise TransformError(f"expected {what} but got {kind(value)}: {{value}}", value)


def _key(value: Any) -> str:
    """Lookup key for a vendor value in a params map (JSON object keys are text)."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise TransformError(f"expected a single value but got {kind(value)}: {{value}}", value)


def _reverse_map(mapping: Mapping[str, Any], preferred: Mapping[str, Any]) -> tuple[dict, dict[str, list[str]]]:
    """canonical -> vendor, plus the canonical values that several vendor values map to with no preference."""
    sources: dict[str, list[str]] = {}
    for vendor, canonical in mapping.items():
        if canonical is not None:
            sources.setdefault(canonical, []).append(vendor)
    reverse, ambiguous = {}, {}
    for canonical, vendors in sources.items():
        if canonical in preferred:
            reverse[canonical] = preferred[canonical]
        elif len(vendors) == 1:
            reverse[canonical] = vendors[0]
        else:
            ambiguous[canonical] = vendors
    return reverse, ambiguous


class Transform:
    """A named, parameterised conversion; subclasses implement ``problems`` and ``build``."""

    name: ClassVar[str]
    label: ClassVar[str]
    applies_to: ClassVar[frozenset[FieldType]]
    reversible: ClassVar[bool]
    params_help: ClassVar[dict[str, str]] = {}

    def problems(self, params: dict) -> list[str]:
        """Problems with params alone (no field context)."""
        return []

    def field_problems(self, params: dict, field_type: FieldType, choices: list[str] | None,
                       vendor_options: list[str] | None, side: str) -> list[str]:
        """Problems that need the field's type, choices or the vendor's options."""
        return []

    def build(self, params: dict, path: str | list[str] | None) -> Compiled:
        raise NotImplementedError

    def check_params(self, params: Any, field_type: FieldType | str, *, choices: Iterable[str] | None = None,
                     vendor_options: Iterable[Any] | None = None, side: str = "vendor") -> list[str]:
        """Every reason these params cannot work on a field of this type (empty list when they can)."""
        reasons = []
        try:
            field_type = FieldType(field_type)
        except ValueError:
            return [f"unknown field type {field_type!r}"]
        if field_type not in self.applies_to:
            allowed = ", ".join(sorted(self.applies_to))
            reasons.append(f"{self.name} does not apply to {field_type} fields (only to: {allowed})")
        if not isinstance(params, dict):
            return reasons + [f"{self.name} params must be an object, not {kind(params)}"]
        unknown = sorted(str(key) for key in params if key not in self.params_help)
        if unknown:
            known = ", ".join(self.params_help) or "none"
            reasons.append(f"{self.name} has no param {', '.join(map(repr, unknown))} (known: {known})")
        reasons += self.problems(params)
        if not reasons or self.name == "picklist":  # a picklist's gaps are worth reporting beside its other problems
            reasons += self.field_problems(params, field_type, list(choices) if choices is not None else None,
                                           list(vendor_options) if vendor_options is not None else None, side)
        return reasons

    def compile(self, params: dict | None = None, *, path: str | list[str] | None = None) -> Compiled:
        """Bind params (and the vendor path, for transforms that need it); TransformError on bad params."""
        params = params or {}
        if not isinstance(params, dict):
            raise TransformError(f"{self.name} params must be an object, not {kind(params)}")
        problems = self.problems(params)
        if problems:
            raise TransformError(f"{self.name}: " + "; ".join(problems))
        return self.build(params, path)

    def to_canonical(self, value: Any, params: dict | None = None, record: Mapping | None = None) -> Any:
        """Vendor value -> canonical value (record: the vendor fields, for transforms reading a sibling)."""
        if value is None:
            return None
        return self.compile(params).to_canonical(value, record if record is not None else {})

    def to_vendor(self, value: Any, params: dict | None = None, out: dict | None = None) -> Any:
        """Canonical value -> vendor value (out: vendor fields being built, receives sibling writes)."""
        if value is None:
            return None
        compiled = self.compile(params)
        target = out if out is not None else {}
        result = compiled.to_vendor(value, target)
        if compiled.after_write is not None:
            compiled.after_write(value, target)
        return result

    def __repr__(self) -> str:
        return f"<Transform {self.name}>"
