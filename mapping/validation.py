"""Validation of canonical values against a field rule's settings, and checks of those settings at publish time.

Rules: ``required`` (bool), ``max_length`` (int, characters), ``pattern`` (regex, full match), ``choices``
(list of options, choice fields), ``min`` / ``max`` (number fields and money amounts), ``required_for_create``
(bool: the sync creates the record in another system only with this field there, e.g. an order's customer; a
record may be read and kept without it).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from re import _parser
from typing import Any

from mapping.types import FieldType, MappingError, TransformError, canonicalise, parse_decimal, show

RULE_KEYS = ("required", "max_length", "pattern", "choices", "min", "max", "required_for_create")
LENGTH_TYPES = frozenset({FieldType.TEXT, FieldType.CHOICE, FieldType.REFERENCE})
RANGE_TYPES = frozenset({FieldType.NUMBER, FieldType.MONEY})
MAX_PATTERN_INPUT = 10_000  # a pattern is never run on more text than this: backtracking cost grows with input
MAX_PATTERN_LENGTH = 500

Validator = Callable[[Any], "str | None"]


@lru_cache(maxsize=1024)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled regex (cached: rules are few, values are many)."""
    return re.compile(pattern)


def _ambiguous_repeat(items: Any) -> bool:
    """True if a repeated group both starts and ends with a repeat, like (a+)+ or (\\w+\\s?)*.

    Such a group can split the same text across its iterations in exponentially many ways, so a value that
    almost matches makes the regex engine hang. Groups with a fixed edge, like (\\.[a-z]+)*, are fine.
    """
    from re import _constants as c  # the parser's opcodes; stable since Python 3.11

    def body_of(seq: Any) -> list:
        body = list(seq)
        while len(body) == 1 and body[0][0] is c.SUBPATTERN:
            body = list(body[0][1][-1])
        return body

    def is_repeat(item: Any, more_than_once: bool) -> bool:
        return item[0] in (c.MAX_REPEAT, c.MIN_REPEAT) and (not more_than_once or item[1][1] > 1)

    for op, arg in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            body = body_of(arg[2])
            if arg[1] > 1 and body and is_repeat(body[0], True) and is_repeat(body[-1], False):
                return True
            if _ambiguous_repeat(arg[2]):
                return True
        elif op is c.SUBPATTERN and _ambiguous_repeat(arg[-1]):
            return True
        elif op is c.BRANCH and any(_ambiguous_repeat(branch) for branch in arg[1]):
            return True
    return False


def _catastrophic(pattern: str) -> bool:
    try:
        return _ambiguous_repeat(_parser.parse(pattern))
    except Exception:  # the private parser moved: skip the heuristic rather than refuse every pattern
        return False


def _number(value: Any) -> Decimal | None:
    try:
        return parse_decimal(value)
    except MappingError:
        return None


def check_rules(field_type: FieldType | str, rules: Any) -> list[str]:
    """Every problem with a field's validation settings (empty list when they are usable)."""
    try:
        field_type = FieldType(field_type)
    except ValueError:
        return [f"unknown field type {field_type!r}"]
    if rules is None:
        return []
    if not isinstance(rules, dict):
        return ["validation must be an object of rule -> setting"]
    problems = [f"unknown validation rule {key!r} (known: {', '.join(RULE_KEYS)})" for key in rules
                if key not in RULE_KEYS]
    for key in ("required", "required_for_create"):
        if key in rules and not isinstance(rules[key], bool):
            problems.append(f"{key} must be true or false")
    if "max_length" in rules:
        limit = rules["max_length"]
        if field_type not in LENGTH_TYPES:
            problems.append(f"max_length does not apply to {field_type} fields")
        elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            problems.append(f"max_length must be a whole number of at least 1 (got {show(limit)})")
    if "pattern" in rules:
        problems += _pattern_problems(field_type, rules["pattern"])
    if "choices" in rules:
        problems += _choices_problems(field_type, rules["choices"])
    bounds = {}
    for key in ("min", "max"):
        if key in rules:
            if field_type not in RANGE_TYPES:
                problems.append(f"{key} does not apply to {field_type} fields")
                continue
            bound = _number(rules[key]) if not isinstance(rules[key], bool) else None
            if bound is None:
                problems.append(f"{key} must be a number (got {show(rules[key])})")
            else:
                bounds[key] = bound
    if len(bounds) == 2 and bounds["min"] > bounds["max"]:
        problems.append(f"min {rules['min']} is greater than max {rules['max']}")
    return problems


def _pattern_problems(field_type: FieldType, pattern: Any) -> list[str]:
    if field_type not in LENGTH_TYPES:
        return [f"pattern does not apply to {field_type} fields"]
    if not isinstance(pattern, str) or not pattern:
        return ["pattern must be a non-empty regular expression"]
    if len(pattern) > MAX_PATTERN_LENGTH:
        return [f"pattern is longer than {MAX_PATTERN_LENGTH} characters"]
    try:
        compiled_pattern(pattern)
    except re.error as error:
        return [f"pattern does not compile: {error}"]
    if _catastrophic(pattern):
        return ["pattern repeats a group that itself repeats (like (a+)+), which can hang on some values"]
    return []


def _choices_problems(field_type: FieldType, choices: Any) -> list[str]:
    if field_type != FieldType.CHOICE:
        return [f"choices only apply to choice fields, not {field_type}"]
    if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
        return ["choices must be a non-empty list of options"]
    duplicates = sorted({choice for choice in choices if choices.count(choice) > 1})
    return [f"choices lists {', '.join(map(repr, duplicates))} more than once"] if duplicates else []


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _checks(field_type: FieldType, rules: dict, sensitive: bool) -> list[Callable[[Any], str | None]]:
    """One check per rule (besides required), each taking a non-empty canonical value."""
    checks: list[Callable[[Any], str | None]] = []
    if "max_length" in rules:
        limit = rules["max_length"]
        checks.append(lambda value: f"longer than {limit} characters ({len(value)})" if len(value) > limit else None)
    if "pattern" in rules:
        regex = compiled_pattern(rules["pattern"])
        pattern = rules["pattern"]

        def matches(value: str) -> str | None:
            if len(value) > MAX_PATTERN_INPUT:
                return f"too long to check against the pattern ({len(value)} characters)"
            if regex.fullmatch(value):
                return None
            return f"does not match the pattern {pattern}" if sensitive else f"{show(value)} does not match {pattern}"
        checks.append(matches)
    if "choices" in rules:
        options = frozenset(rules["choices"])
        listed = ", ".join(rules["choices"])
        checks.append(lambda value: None if value in options else
                      f"{'the value' if sensitive else show(value)} is not one of: {listed}")
    if "min" in rules or "max" in rules:
        low = parse_decimal(rules["min"]) if "min" in rules else None
        high = parse_decimal(rules["max"]) if "max" in rules else None
        low_text, high_text = str(rules.get("min")), str(rules.get("max"))
        money = field_type == FieldType.MONEY

        def in_range(value: Any) -> str | None:
            number = Decimal(value["amount"] if money else value)
            if low is not None and number < low:
                return f"below minimum {low_text}"
            if high is not None and number > high:
                return f"above maximum {high_text}"
            return None
        checks.append(in_range)
    return checks


def compile_validator(field_type: FieldType | str, rules: dict | None, *,
                      sensitive: bool = False) -> Validator | None:
    """A function canonical value -> error text (None when valid), or None when there is nothing to check.

    For the hot path: the value must already be in canonical form (the pipeline makes sure of it);
    ``sensitive`` keeps the value out of the messages. Several errors are joined with "; ".
    """
    field_type = FieldType(field_type)
    rules = rules or {}
    checks = _checks(field_type, rules, sensitive)
    required = bool(rules.get("required"))
    if not checks and not required:
        return None
    if set(rules) <= {"required", "max_length", "required_for_create"}:  # the most common: one call, not two
        limit = rules.get("max_length")

        def validate_length(value: Any) -> str | None:
            if value is None or value == "" or value == []:
                return "required" if required else None
            if limit is not None and len(value) > limit:
                return f"longer than {limit} characters ({len(value)})"
            return None
        return validate_length
    if len(checks) == 1:
        only = checks[0]

        def validate_one(value: Any) -> str | None:
            if value is None or value == "" or value == []:
                return "required" if required else None
            return only(value)
        return validate_one

    def validate_all(value: Any) -> str | None:
        if value is None or value == "" or value == []:
            return "required" if required else None
        errors = None
        for check in checks:
            error = check(value)
            if error is not None:
                errors = [error] if errors is None else [*errors, error]
        return None if errors is None else "; ".join(errors)
    return validate_all


def validate(value: Any, field_type: FieldType | str, rules: dict | None) -> list[str]:
    """Every reason a canonical value breaks its field's rules, its form included (empty list when valid)."""
    field_type = FieldType(field_type)
    rules = rules or {}
    if _is_empty(value):
        return ["required"] if rules.get("required") else []
    try:
        value = canonicalise(value, field_type)
    except TransformError as error:
        return [str(error)]
    return [error for error in (check(value) for check in _checks(field_type, rules, False)) if error]
