"""The one guard in front of every JSON input: the API's parser, webhooks, JSON typed into forms.

It refuses, with a sentence that says why, what the database or the parser cannot take safely: a body
larger than API_MAX_BODY_BYTES (checked before anything is parsed), nesting deeper than JSON_MAX_DEPTH
(checked before parsing too: Python's parser recurses), a NUL character in any string or key (PostgreSQL
cannot store one), NaN, Infinity or a number too large for a float (not JSON; jsonb refuses them), and bytes
that are not UTF-8.
"""
from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from django import forms
from django.conf import settings
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_DEPTH = 32

# A JSON string (skipped whole, escapes included) or one bracket: what the depth scan looks at.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


_NOT_PARSED = object()


class JSONRefused(ValueError):
    """Input the guard refuses; str(exc) is the reason, a sentence for whoever sent it."""


def max_body_bytes() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)


def max_depth() -> int:
    return getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)


def describe_size(size: int) -> str:
    """1048576 -> "1 MB", 65536 -> "64 KB"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def _too_large(what: str, limit: int) -> JSONRefused:
    return JSONRefused(f"The {what} is larger than {describe_size(limit)}, the most the hub accepts.")


def check_content_length(meta: dict, *, what: str = "request body", limit: int | None = None) -> None:
    """Refuse a body whose declared length is over the limit, before a byte of it is read."""
    limit = max_body_bytes() if limit is None else limit
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        raise JSONRefused("The request's Content-Length is not a number.") from None
    if declared > limit:
        raise _too_large(what, limit)


def read_limited(stream, meta: dict, *, what: str = "request body", limit: int | None = None) -> bytes:
    """The body, read up to one byte past the limit: a body that lies about its length is still refused."""
    limit = max_body_bytes() if limit is None else limit
    check_content_length(meta, what=what, limit=limit)
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise _too_large(what, limit)
    return body


def check_depth(text: str, *, what: str = "JSON", limit: int | None = None) -> None:
    """Refuse nesting deeper than the limit, counting only brackets outside strings; stops at the first excess."""
    limit = max_depth() if limit is None else limit
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > limit:
                raise JSONRefused(f"The {what} is nested deeper than {limit} levels.")
        elif char in "]}":
            depth -= 1


def _where(path: list[str]) -> str:
    return f" (at {'.'.join(path)})" if path else ""


def check_value(value: Any, *, what: str = "JSON") -> None:
    """Refuse NUL characters in any string or key and numbers JSON cannot carry, anywhere in a parsed value."""
    pending: list[tuple[Any, list[str]]] = [(value, [])]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise JSONRefused(f"The {what} contains a NUL character{_where(path)}.")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JSONRefused(f"The {what} contains a number too large to store{_where(path)}.")
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in str(key):
                    raise JSONRefused(f"The {what} contains a NUL character in a key{_where(path)}.")
                pending.append((child, [*path, str(key)]))
        elif isinstance(item, list | tuple):
            pending.extend((child, [*path, str(index)]) for index, child in enumerate(item))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def loads(data: bytes | str, *, what: str = "request body", limit: int | None = None) -> Any:
    """json.loads behind the guard: size, UTF-8, depth, then parse, then NULs and numbers."""
    limit = max_body_bytes() if limit is None else limit
    if len(data) > limit:
        raise _too_large(what, limit)
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise JSONRefused(f"The {what} is not valid UTF-8.") from None
    check_depth(data, what=what)
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise JSONRefused(f"The {what} is not valid JSON ({exc}).") from None
    check_value(value, what=what)
    return value


def check_text(value: str, *, what: str) -> None:
    """A plain text input: refused when it holds a NUL character (nothing can store one)."""
    if "\x00" in value:
        raise JSONRefused(f"The {what} contains a NUL character.")


def check_urlencoded(body: bytes, *, charset: str | None = None) -> None:
    """A URL-encoded form must decode as its charset says (UTF-8 unless named): Django would otherwise turn the
    bytes it cannot decode into U+FFFD and store them as if typed."""
    charset = (charset or settings.DEFAULT_CHARSET).lower()
    if charset.replace("-", "").replace("_", "") != "utf8":
        return
    try:
        unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise JSONRefused("The form is not valid UTF-8.") from None


def check_form(data, *, what: str = "field") -> None:
    """Every key and value of a form (a QueryDict): no NUL; values typed as JSON containers within the depth.

    The API's serializers parse JSON typed into the browsable API's form fields themselves, unguarded."""
    items: Iterable[tuple[str, list]] = data.lists() if hasattr(data, "lists") else data.items()
    for key, values in items:
        check_text(str(key), what=f"name of a {what}")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str):
                check_text(value, what=f"{what} {key!r}")
                if value.lstrip()[:1] in ("[", "{"):
                    check_depth(value, what=f"{what} {key!r}")


# --- the API's parsers ---------------------------------------------------------------------------

class GuardedJSONParser(parsers.JSONParser):
    """DRF's JSON parser behind the guard; DRF reads the stream itself, past DATA_UPLOAD_MAX_MEMORY_SIZE.

    A body HostileInputMiddleware guarded already (every API request's) is taken as it parsed it."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        guarded = getattr(getattr(request, "_request", None), "guarded_json", _NOT_PARSED)
        if guarded is not _NOT_PARSED:
            return guarded
        meta = request.META if request is not None else {}
        try:
            return loads(read_limited(stream, meta))
        except JSONRefused as exc:
            raise ParseError(str(exc)) from None


class GuardedFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            body = read_limited(stream, request.META if request is not None else {})
            check_urlencoded(body, charset=(parser_context or {}).get("encoding"))
            data = super().parse(io.BytesIO(body), media_type, parser_context)
            check_form(data)
        except JSONRefused as exc:
            raise ParseError(str(exc)) from None
        return data


class GuardedMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            check_content_length(request.META if request is not None else {})
            parsed = super().parse(stream, media_type, parser_context)
            check_form(parsed.data)
        except JSONRefused as exc:
            raise ParseError(str(exc)) from None
        return parsed


class GuardedJSONSerializerField(serializers.JSONField):
    """DRF's JSONField for the API's model serializers: JSON typed into a form field (the browsable API) is parsed
    by the guard rather than by a bare json.loads (which takes NaN, which the database refuses)."""

    def to_internal_value(self, data):
        if not (self.binary or getattr(data, "is_json_string", False)):
            return super().to_internal_value(data)
        try:
            return loads(data.decode() if isinstance(data, bytes) else data, what="value")
        except JSONRefused as exc:
            raise serializers.ValidationError(str(exc)) from None


# --- forms ---------------------------------------------------------------------------------------

class GuardedJSONFormField(forms.JSONField):
    """A form's JSON field (the admin's JSON model fields) parsed behind the guard."""

    def to_python(self, value):
        already_parsed = isinstance(value, list | dict | int | float | forms.fields.JSONString)
        if self.disabled or value in self.empty_values or already_parsed:
            return super().to_python(value)
        try:
            converted = loads(value, what="value")
        except JSONRefused as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None
        return forms.fields.JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return loads(data, what="value")
        except JSONRefused:
            return forms.fields.InvalidJSONInput(data)
