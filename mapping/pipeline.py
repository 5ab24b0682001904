"""Compiled mapping of whole records between one side's vendor fields and canonical values (ORM-free, hot path).

Reading a field: get the vendor value at its path (a list of values for several paths), treat "" as empty,
apply the side's transforms in order, bring the result to the field type's canonical form, validate.
Writing a field: canonical form, validate, the transforms' reverse in reverse order, set the vendor path(s).
A field that fails lands in ``errors`` with its reason and stays out of ``values``; the rest of the record maps.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mapping.paths import compile_path, path_parts, path_problems, root, selected
from mapping.transforms import TRANSFORMS, Compiled, get_transform
from mapping.transforms.base import _same_text
from mapping.types import (
    CANONICALISERS,
    MAX_TEXT_LENGTH,
    FieldType,
    KeptAsTyped,
    MappingError,
    TransformError,
    canonical_text,
    show,
)
from mapping.validation import RANGE_TYPES, check_rules, compile_validator

SIDES = {"crm": "CRM", "erp": "ERP"}
_ABSENT = object()
TEXT_TYPES = frozenset({FieldType.TEXT, FieldType.CHOICE, FieldType.REFERENCE})


@dataclass
class RuleSpec:
    """One canonical field's mapping, as plain data (built from a FieldRule by the Django layer)."""

    field: str
    field_type: FieldType
    crm_path: str | list[str]
    erp_path: str | list[str]
    crm_transforms: list[dict] = field(default_factory=list)
    erp_transforms: list[dict] = field(default_factory=list)
    validation: dict = field(default_factory=dict)
    sensitive: bool = False

    def path(self, side: str) -> str | list[str]:
        """The vendor path(s) on ``side``; "" (or an empty list) when the field is not mapped there."""
        return self.crm_path if side == "crm" else self.erp_path

    def transforms(self, side: str) -> list[dict]:
        """The transform steps on ``side``, in reading order."""
        return self.crm_transforms if side == "crm" else self.erp_transforms


@dataclass(slots=True)
class MappingResult:
    """Mapped values, the reason for each field that could not be mapped, and for each value kept as typed."""

    values: dict[str, Any]
    errors: dict[str, str]
    flags: dict[str, str] = field(default_factory=dict)  # field -> why its value flowed as typed (KeptAsTyped)

    @property
    def ok(self) -> bool:
        """True when every field mapped."""
        return not self.errors


def _paths(spec: RuleSpec, side: str) -> list[str]:
    path = spec.path(side)
    if not path:
        return []
    return list(path) if isinstance(path, list | tuple) else [path]


def _failure(error: Exception, sensitive: bool) -> str:
    """The reason to record for a field that failed."""
    if isinstance(error, TransformError):
        return error.redacted() if sensitive else str(error)
    if isinstance(error, MappingError):
        return str(error)
    # A transform must only raise TransformError; anything else is a bug, but one record must not stop a batch.
    detail = "" if sensitive else f": {error}"
    return f"unexpected error while mapping ({type(error).__name__}{detail})"


def _reader(paths: list[str], steps: list[Compiled], field_type: FieldType,
            canon: Callable[[Any], Any]) -> Callable[[Mapping], Any]:
    """vendor record -> canonical value (None when empty); raises on a value it cannot convert.

    Specialised by shape (no transform, one, several) because this runs once per field per record.
    """
    forward = tuple(step.to_canonical for step in steps)
    if len(paths) > 1:
        getters = tuple(compile_path(path)[0] for path in paths)

        def get(record: Mapping) -> list[Any]:
            return [getter(record) for getter in getters]
    else:
        get = compile_path(paths[0])[0]

    if not forward:
        def read_plain(record: Mapping) -> Any:
            value = get(record)
            if value is None or value == "":
                return None
            return canon(value)
        return read_plain

    trusted = field_type in steps[-1].canonical  # the last transform already produced the canonical form
    if len(forward) == 1:
        only = forward[0]
        if trusted:
            def read_trusted(record: Mapping) -> Any:
                value = get(record)
                if value is None or value == "":
                    return None
                value = only(value, record)
                return None if value == "" else value
            return read_trusted

        def read_one(record: Mapping) -> Any:
            value = get(record)
            if value is None or value == "":
                return None
            value = only(value, record)
            if value is None or value == "":
                return None
            return canon(value)
        return read_one

    def read_chain(record: Mapping) -> Any:
        value = get(record)
        if value is None or value == "":
            return None
        for step in forward:
            value = step(value, record)
            if value is None or value == "":
                return None
        return value if trusted else canon(value)
    return read_chain


def _writer(paths: list[str], steps: list[Compiled], field_type: FieldType) -> Callable[[Any, dict], None]:
    """(canonical value or None, vendor fields being built) -> None; sets the path(s), raises on failure."""
    # Canonical values of these types are text already, so "write the text as it is" steps have nothing to do.
    reverse = tuple(step.to_vendor for step in reversed(steps)
                    if not (step.to_vendor is _same_text and field_type in TEXT_TYPES))
    after = tuple(step.after_write for step in steps if step.after_write is not None)
    # split_part rebuilds the whole text from its siblings, so an empty line must still go through it.
    empty_as = next((step.empty_as for step in steps if step.empty_as is not None), None)
    setters = tuple(compile_path(path)[1] for path in paths)
    several = len(setters) > 1
    set_one = setters[0]

    def write(canonical: Any, out: dict) -> None:
        if canonical is None:
            if empty_as is None:
                for setter in setters:
                    setter(out, None)
                return
            value = empty_as
        else:
            value = canonical
        for step in reverse:
            value = step(value, out)
        if several:
            if not isinstance(value, list | tuple) or len(value) != len(setters):
                raise TransformError(f"expected {len(setters)} parts to write but got {{value}}", value)
            for setter, part in zip(setters, value, strict=True):
                setter(out, part)
        else:
            set_one(out, value)
        if canonical is not None:
            for write_sibling in after:
                write_sibling(canonical, out)
    return write


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    read: Callable[[Mapping], Any]
    write: Callable[[Any, dict], None]
    validate: Callable[[Any], str | None] | None
    canon: Callable[[Any], Any]
    sensitive: bool
    paths: tuple[str, ...] = ()
    steps: tuple[Compiled, ...] = ()
    trusted: bool = False  # the last step's output is canonical for the field's type already


MEMO_SIZE = 8192  # vendor texts remembered per field whose transforms are pure (see Compiled.pure)
_FAILED = object()


def _getter_expression(parts: tuple[tuple[str, int | None], ...], prefixes: dict[tuple, str],
                       lines: list[str]) -> str:
    """The local variable holding the value at a path of ``fields`` (a dict), assigning the variables of its
    prefixes not assigned yet, each step as ``_make_getter`` takes it (never raises; None once a step misses).
    Fields that share a prefix -- four fields of one NetSuite address line -- walk it once."""
    node = "fields"
    for position in range(len(parts)):
        prefix = parts[:position + 1]
        name = prefixes.get(prefix)
        if name is None:
            key, index = parts[position]
            if "=" in key:
                selector, wanted = key.split("=", 1)
                expression = f"selected({node}, {selector!r}, {wanted.lower()!r})"
            elif index is None:
                expression = (f"{node}.get({key!r})" if node == "fields"
                              else f"({node}.get({key!r}) if isinstance({node}, dict) else None)")
            else:
                expression = (f"(({node}[{index}] if len({node}) > {index} else None) if isinstance({node}, list) "
                              f"else ({node}.get({key!r}) if isinstance({node}, dict) else None))")
            name = prefixes[prefix] = f"p{len(prefixes)}"
            lines.append(f"    {name} = {expression}")
        node = name
    return node


def _convert_lines(position: int, item: _Field, indent: str) -> list[str]:
    """Statements turning the non-empty vendor value ``v`` into the canonical value (as ``_reader`` does)."""
    steps = item.steps
    if not steps:
        if item.canon is canonical_text:  # its checks in line; anything else (or a failure) through the call
            return [f"{indent}if type(v) is not str or len(v) > MAX_TEXT_LENGTH or '\\x00' in v: "
                    f"v = canon{position}(v)"]
        return [f"{indent}v = canon{position}(v)"]
    lines = []
    for number in range(len(steps)):
        lines.append(f"{indent}v = step{position}_{number}(v, fields)")
        if number < len(steps) - 1 or not item.trusted:
            lines.append(f"{indent}if v is None or v == '': v = None")
            lines.append(f"{indent}else:")
            indent += "    "
        else:
            lines.append(f"{indent}if v == '': v = None")
    if not item.trusted:
        lines.append(f"{indent}v = canon{position}(v)")
    return lines


def _dict_reader(fields: list[_Field]) -> Callable[[dict], tuple[dict, dict]]:
    """One function reading every field of a vendor record that is a dict: the same values and errors as the
    per-field readers, with the paths walked inline (shared prefixes once), the transforms called in line and
    the answers of pure transforms remembered per text (at most MEMO_SIZE texts a field)."""
    namespace: dict[str, Any] = {"selected": selected, "failure": _failure, "FAILED": _FAILED, "Kept": KeptAsTyped,
                                 "MEMO_SIZE": MEMO_SIZE, "MAX_TEXT_LENGTH": MAX_TEXT_LENGTH}
    top: list[str] = []
    body: list[str] = []
    prefixes: dict[tuple, str] = {}
    for position, item in enumerate(fields):
        namespace[f"canon{position}"] = item.canon
        namespace[f"validate{position}"] = item.validate
        for number, step in enumerate(item.steps):
            namespace[f"step{position}_{number}"] = step.to_canonical
        if len(item.paths) == 1:
            source = _getter_expression(path_parts(item.paths[0]), prefixes, top)
            lines = [f"        v = {source}", "        if v is None or v == '': v = None"]
            convert = _convert_lines(position, item, "            ")
            if item.steps and all(step.pure for step in item.steps):
                namespace[f"memo{position}"] = {}
                lines += ["        elif type(v) is str:",
                          f"            found = memo{position}.get(v, FAILED)",
                          "            if found is FAILED:",
                          "                text = v",
                          *["    " + line for line in convert],
                          f"                if len(memo{position}) < MEMO_SIZE and (v is None or type(v) is str "
                          "or type(v) is bool):",
                          f"                    memo{position}[text] = v",
                          "            else:",
                          "                v = found",
                          "        else:",
                          *convert]
            else:
                lines += ["        else:", *convert]
        else:
            namespace[f"read{position}"] = item.read
            lines = [f"        v = read{position}(fields)"]
        name = repr(item.name)
        body += ["    try:", *lines,
                 "    except Kept as kept:",
                 f"        values[{name}] = kept.kept",
                 f"        flags[{name}] = failure(kept, {item.sensitive!r})",
                 "    except Exception as error:",
                 f"        errors[{name}] = failure(error, {item.sensitive!r})",
                 "    else:"]
        if item.validate is not None:
            body += [f"        problem = validate{position}(v)",
                     f"        if problem is not None: errors[{name}] = problem",
                     f"        else: values[{name}] = v"]
        else:
            body.append(f"        values[{name}] = v")
    source = ["def read_all(fields):", *top, "    values = {}", "    errors = {}", "    flags = {}", *body,
              "    return values, errors, flags"]
    exec("\n".join(source), namespace)  # safe: names are repr literals, params namespace entries, paths validated
    return namespace["read_all"]


class SideMapper:
    """A rule set compiled for one side: vendor fields <-> canonical values, record by record."""

    def __init__(self, side: str, fields: list[_Field], siblings: dict[str, frozenset[str]]) -> None:
        self.side = side
        self._fields = tuple(fields)
        self._by_name = {item.name: item for item in fields}
        self._siblings = siblings
        self.fields = tuple(item.name for item in fields)
        # Plain tuples: unpacking them in the loops is cheaper than attribute look-ups, once per field per record.
        self._readers = tuple((item.name, item.read, item.validate, item.sensitive) for item in fields)
        self._writers = tuple((item.name, item.canon, item.validate, item.write, item.sensitive) for item in fields)
        self._read_dict = _dict_reader(list(fields))

    def to_canonical(self, fields: Mapping) -> MappingResult:
        """Vendor fields -> canonical values by field name, plus the reason for each field that failed."""
        if type(fields) is dict:
            return MappingResult(*self._read_dict(fields))
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        flags: dict[str, str] = {}
        if not isinstance(fields, Mapping):
            return MappingResult({}, {item.name: f"the record's fields are {show(fields)}, not an object"
                                      for item in self._fields})
        for name, read, validate, sensitive in self._readers:
            try:
                value = read(fields)
            except KeptAsTyped as kept:
                values[name], flags[name] = kept.kept, _failure(kept, sensitive)
                continue
            except Exception as error:  # see _failure
                errors[name] = _failure(error, sensitive)
                continue
            if validate is not None:
                problem = validate(value)
                if problem is not None:
                    errors[name] = problem
                    continue
            values[name] = value
        return MappingResult(values, errors, flags)

    def vendor_value(self, fields: Mapping, name: str) -> Any:
        """The vendor value a field reads, as sent (a list of values for several paths); None for a sensitive
        field (its value is never shown) or one this side does not map."""
        item = self._by_name.get(name)
        if item is None or item.sensitive or not isinstance(fields, Mapping):
            return None
        values = [compile_path(path)[0](fields) for path in item.paths]
        return values[0] if len(values) == 1 else values

    def to_vendor(self, values: Mapping[str, Any], only: Iterable[str] | None = None, *,
                  into: dict[str, Any] | None = None) -> MappingResult:
        """Canonical values -> this side's vendor fields (only the named fields, if given, and fields they share
        a vendor path with); fields absent from ``values`` are not written, None clears a field.

        ``into`` writes over a copy of what the vendor holds (e.g. a whole sublist, which vendors replace on
        write), so lines and sub-fields the rules do not touch are kept."""
        out: dict[str, Any] = into if into is not None else {}
        errors: dict[str, str] = {}
        chosen = self._writers if only is None else self._chosen(only)
        for name, canon, validate, write, sensitive in chosen:
            value = values.get(name, _ABSENT)
            if value is _ABSENT:
                continue
            try:
                value = None if value is None or value == "" else canon(value)
                if validate is not None:
                    problem = validate(value)
                    if problem is not None:
                        errors[name] = problem
                        continue
                write(value, out)
            except Exception as error:  # see _failure
                errors[name] = _failure(error, sensitive)
        return MappingResult(out, errors)

    def _chosen(self, only: Iterable[str]) -> tuple[_Field, ...]:
        wanted = set(only) if not isinstance(only, str) else {only}
        for name in list(wanted):
            wanted |= self._siblings.get(name, frozenset())
        return tuple(writer for writer in self._writers if writer[0] in wanted)

    def __repr__(self) -> str:
        return f"<SideMapper {self.side}: {', '.join(self.fields)}>"


def compile_rules(specs: Iterable[RuleSpec], side: str) -> SideMapper:
    """Compile rules for ``side`` ("crm" or "erp"); MappingError naming the field if a rule cannot compile.

    Fields with no path on this side are left out. Run ``check_specs`` at publish time for every reason at once.
    """
    if side not in SIDES:
        raise MappingError(f"side must be 'crm' or 'erp', not {show(side)}")
    fields: list[_Field] = []
    by_path: dict[str, set[str]] = {}
    for spec in specs:
        paths = _paths(spec, side)
        if not paths:
            continue
        try:
            field_type = FieldType(spec.field_type)
            steps = [get_transform(step["name"]).compile(step.get("params") or {}, path=spec.path(side))
                     for step in spec.transforms(side)]
            canon = CANONICALISERS[field_type]
            item = _Field(
                name=spec.field,
                read=_reader(paths, steps, field_type, canon),
                write=_writer(paths, steps, field_type),
                validate=compile_validator(field_type, spec.validation, sensitive=spec.sensitive),
                canon=canon,
                sensitive=spec.sensitive,
                paths=tuple(paths),
                steps=tuple(steps),
                trusted=bool(steps) and field_type in steps[-1].canonical,
            )
        except (MappingError, ValueError, TypeError, KeyError) as error:
            raise MappingError(f"{spec.field}: {SIDES[side]} side cannot compile: {error}") from error
        fields.append(item)
        for path in paths:
            by_path.setdefault(root(path), set()).add(spec.field)
    siblings: dict[str, frozenset[str]] = {}
    for names in by_path.values():
        if len(names) > 1:
            for name in names:
                siblings[name] = siblings.get(name, frozenset()) | frozenset(names - {name})
    return SideMapper(side, fields, siblings)


# --- publish-time checks ------------------------------------------------------------------------------------

def _side_problems(spec: RuleSpec, field_type: FieldType, side: str, available: set[str] | None,
                   options: Mapping[str, Iterable[Any]] | None) -> list[str]:
    """Reasons one field's mapping on one side cannot work."""
    label = SIDES[side]
    paths = _paths(spec, side)
    if not paths:
        return []
    problems = []
    for path in paths:
        found = path_problems(path)
        problems += [f"{label} side: {problem}" for problem in found]
        if not found and available is not None and path not in available and root(path) not in available:
            problems.append(f"{label} path {path!r} is not a field of the {label} system")
    steps = spec.transforms(side)
    if not isinstance(steps, list) or not all(isinstance(step, dict) and isinstance(step.get("name"), str)
                                              for step in steps):
        return problems + [f"{label} side: transforms must be a list of {{\"name\": ..., \"params\": ...}}"]
    names = [step["name"] for step in steps]
    choices = spec.validation.get("choices") if isinstance(spec.validation, dict) else None
    vendor_options = (options or {}).get(paths[0]) if len(paths) == 1 else None
    for position, step in enumerate(steps):
        transform = TRANSFORMS.get(step["name"])
        if transform is None:
            known = ", ".join(sorted(TRANSFORMS))
            problems.append(f"{label} side: unknown transform {step['name']!r} (known: {known})")
            continue
        params = step.get("params") or {}
        # Only the first step sees the raw vendor value, so only it can be checked against the vendor's options.
        problems += [f"{label} side: {reason}" for reason in transform.check_params(
            params, field_type, choices=choices if isinstance(choices, list) else None,
            vendor_options=vendor_options if position == 0 else None, side=label)]
        if transform.name == "money" and isinstance(params, dict) and isinstance(params.get("currency_field"), str):
            field_path = params["currency_field"]
            if available is not None and not path_problems(field_path) and field_path not in available \
                    and root(field_path) not in available:
                problems.append(f"{label} path {field_path!r} (money currency_field) is not a field of the "
                                f"{label} system")
    if len(paths) > 1 and (not names or names[0] != "concat"):
        problems.append(f"{label} side: several paths need a concat transform first to join them")
    if len(paths) == 1 and "concat" in names:
        problems.append(f"{label} side: concat needs several paths (a list of {label} fields)")
    if field_type == FieldType.MONEY:
        if "money" not in names:
            problems.append(f"money field has no currency source on the {label} side "
                            "(add a money transform with currency or currency_field)")
        elif names[-1] != "money":
            problems.append(f"{label} side: money must be the last transform (it makes the amount and currency)")
    return problems


def spec_problems(spec: RuleSpec, available_crm_fields: set[str] | None = None,
                  available_erp_fields: set[str] | None = None, *,
                  crm_options: Mapping[str, Iterable[Any]] | None = None,
                  erp_options: Mapping[str, Iterable[Any]] | None = None) -> list[str]:
    """Every reason one rule cannot be published, without the field-name prefix check_specs adds."""
    try:
        field_type = FieldType(spec.field_type)
    except ValueError:
        return [f"unknown field type {spec.field_type!r} (known: {', '.join(FieldType)})"]
    problems = []
    if not isinstance(spec.field, str) or not spec.field.isidentifier():
        problems.append(f"field name {show(spec.field)} must be letters, digits and underscores")
    problems += check_rules(field_type, spec.validation)
    problems += _side_problems(spec, field_type, "crm", available_crm_fields, crm_options)
    problems += _side_problems(spec, field_type, "erp", available_erp_fields, erp_options)
    if field_type in RANGE_TYPES and isinstance(spec.validation, dict) and spec.validation.get("choices"):
        problems.append("choices do not apply to number or money fields")
    return problems


def check_specs(specs: Iterable[RuleSpec], available_crm_fields: set[str] | None = None,
                available_erp_fields: set[str] | None = None, *,
                crm_options: Mapping[str, Iterable[Any]] | None = None,
                erp_options: Mapping[str, Iterable[Any]] | None = None) -> list[str]:
    """Every reason a rule set cannot be published, each prefixed with its field ("credit_limit: ...").

    ``available_*_fields``: the fields each system has (top-level names or full paths; unchecked when None).
    ``*_options``: the vendor's picklist options by path, to find values a picklist map does not cover.
    """
    specs = list(specs)
    problems: list[str] = []
    seen: set[str] = set()
    writers: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for spec in specs:
        if spec.field in seen:
            problems.append(f"{spec.field}: the field is defined more than once")
        seen.add(spec.field)
        problems += [f"{spec.field}: {problem}" for problem in spec_problems(
            spec, available_crm_fields, available_erp_fields, crm_options=crm_options, erp_options=erp_options)]
        for side in SIDES:
            shares = any(isinstance(step, dict) and step.get("name") == "split_part"
                         for step in (spec.transforms(side) or []))
            for path in _paths(spec, side):
                if isinstance(path, str):
                    writers.setdefault((side, path), []).append((spec.field, shares))
    for (side, path), fields in writers.items():
        names = sorted({name for name, _ in fields})
        if len(names) > 1 and not all(shares for _, shares in fields):
            problems.append(f"{', '.join(names)}: {SIDES[side]} path {path!r} is written by more than one field "
                            "(only split_part fields may share a path)")
    return problems
