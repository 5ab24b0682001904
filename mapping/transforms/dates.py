"""Dates and times: vendor date text, epoch milliseconds or strftime patterns <-> canonical dates and UTC times."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mapping.transforms.base import ANY_TYPE, Compiled, Transform, _text
from mapping.types import (
    FieldType,
    TransformError,
    canonical_date,
    format_datetime,
    kind,
    parse_iso_datetime,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_SAMPLE = datetime(2031, 11, 23, 17, 45, 38)
_FAST_DIRECTIVES = {"d": r"(?P<d>\d\d?)", "m": r"(?P<m>\d\d?)", "Y": r"(?P<Y>\d{4})", "y": r"(?P<y>\d\d)",
                    "H": r"(?P<H>\d\d?)", "M": r"(?P<M>\d\d?)", "S": r"(?P<S>\d\d?)", "f": r"(?P<f>\d{1,6})"}
_DIRECTIVE = re.compile(r"%(.)")


def _fast_parser(fmt: str) -> Callable[[str], datetime | None] | None:
    """A regex-based reader for numeric strftime formats (several times faster than strptime), or None.

    Returns None from the reader when the text does not match: the caller then asks strptime, whose
    answer (a datetime or a ValueError) decides, so both readers accept the same texts.
    """
    pattern, seen, position = [], set(), 0
    for found in _DIRECTIVE.finditer(fmt):
        pattern.append(re.escape(fmt[position:found.start()]))
        directive = found.group(1)
        if directive == "%":
            pattern.append("%")
        elif directive in _FAST_DIRECTIVES and directive not in seen:
            pattern.append(_FAST_DIRECTIVES[directive])
            seen.add(directive)
        else:
            return None
        position = found.end()
    pattern.append(re.escape(fmt[position:]))
    regex = re.compile("".join(pattern))

    def read(text: str) -> datetime | None:
        match = regex.fullmatch(text)
        if match is None:
            return None
        parts = match.groupdict()
        if "Y" in parts:
            year = int(parts["Y"])
        elif "y" in parts:
            short = int(parts["y"])
            year = 2000 + short if short < 69 else 1900 + short  # strptime's pivot
        else:
            year = 1900
        try:
            return datetime(year, int(parts.get("m", 1)), int(parts.get("d", 1)), int(parts.get("H", 0)),
                            int(parts.get("M", 0)), int(parts.get("S", 0)), int((parts.get("f") or "0").ljust(6, "0")))
        except ValueError:
            return None
    return read


_FAST_FORMATS = {"d": "{0.day:02d}", "m": "{0.month:02d}", "Y": "{0.year:04d}", "y": "{1:02d}",
                 "H": "{0.hour:02d}", "M": "{0.minute:02d}", "S": "{0.second:02d}", "f": "{0.microsecond:06d}"}


def _fast_formatter(fmt: str) -> Callable[[datetime], str] | None:
    """str.format-based writer for the same numeric formats the fast reader handles (strftime is slower)."""
    pieces, position = [], 0
    for found in _DIRECTIVE.finditer(fmt):
        pieces.append(fmt[position:found.start()].replace("{", "{{").replace("}", "}}"))
        directive = found.group(1)
        if directive == "%":
            pieces.append("%")
        elif directive in _FAST_FORMATS:
            pieces.append(_FAST_FORMATS[directive])
        else:
            return None
        position = found.end()
    pieces.append(fmt[position:].replace("{", "{{").replace("}", "}}"))
    template = "".join(pieces)
    return lambda moment: template.format(moment, moment.year % 100)


def _strptime_reader(fmt: str, what: str) -> Callable[[Any], datetime]:
    """Text in ``fmt`` -> naive datetime, with a clear TransformError naming the format and an example."""
    fast = _fast_parser(fmt)

    def read(value: Any) -> datetime:
        text = _text(value, what).strip()
        if len(text) <= 100:
            moment = fast(text) if fast is not None else None
            if moment is not None:
                return moment
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                pass
        example = _SAMPLE.strftime(fmt)
        raise TransformError(f"{{value}} is not {what} in the format {fmt} (e.g. {example})", value)
    return read


def _format_problems(name: str, fmt: Any, sample: datetime, reads: Callable[[datetime], Any]) -> list[str]:
    """A strftime format must be text and must read back what it writes for a sample moment."""
    if not isinstance(fmt, str) or not fmt or len(fmt) > 100:
        return [f"{name} format must be 'iso', 'epoch_ms' or a strftime pattern like %d/%m/%Y"]
    try:
        written = sample.strftime(fmt)
        read = datetime.strptime(written, fmt)
    except ValueError as error:
        return [f"{name} format {fmt!r} does not work: {error}"]
    if reads(read) != reads(sample):
        return [f"{name} format {fmt!r} loses information (it writes {written!r}); "
                "it needs the day, month and year" + (" and the time" if name == "datetime_format" else "")]
    return []


def _epoch_ms(value: Any) -> int:
    """Milliseconds since 1970 from a whole number or digit text (HubSpot sends text)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TransformError(f"expected milliseconds since 1970 but got {kind(value)}: {{value}}", value)
    text = value.strip() if isinstance(value, str) else None
    if text is not None and not (text.lstrip("-").isdigit() and text.isascii() and len(text) <= 16):
        raise TransformError("{value} is not a number of milliseconds since 1970", value)
    millis = int(text) if text is not None else value
    if not -62_135_596_800_000 <= millis <= MAX_EPOCH_MS:
        raise TransformError("{value} is outside the years 1-9999", value)
    return millis


def _is_epoch(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _day(value: Any) -> date:
    """The date of a canonical date value."""
    return date.fromisoformat(canonical_date(value))


class DateFormat(Transform):
    """Vendor date text or epoch milliseconds <-> "YYYY-MM-DD" (format: iso, epoch_ms or a strftime pattern)."""

    name, label, reversible = "date_format", "Date format", True
    applies_to = frozenset({FieldType.DATE})
    params_help = {"format": "iso (default), epoch_ms (midnight UTC, as HubSpot) or a strftime pattern like %d/%m/%Y"}

    def problems(self, params: dict) -> list[str]:
        fmt = params.get("format", "iso")
        if fmt in ("iso", "epoch_ms"):
            return []
        return _format_problems(self.name, fmt, _SAMPLE, lambda moment: moment.date())

    def build(self, params: dict, path: Any) -> Compiled:
        fmt = params.get("format", "iso")

        def read_iso(value: Any) -> str:
            if type(value) is str and len(value.strip()) > 10:
                moment = parse_iso_datetime(value)
                if moment.time() != datetime.min.time():
                    raise TransformError("{value} has a time of day; a date field takes only the date", value)
                return moment.date().isoformat()
            return canonical_date(value)

        if fmt == "iso":
            return Compiled(lambda value, _record: read_iso(value), lambda value, _out: canonical_date(value),
                            canonical=ANY_TYPE)

        if fmt == "epoch_ms":
            def forward(value: Any, _record: Mapping) -> str:
                if not _is_epoch(value):
                    return read_iso(value)
                return (EPOCH + timedelta(milliseconds=_epoch_ms(value))).date().isoformat()

            def reverse(value: Any, _out: dict) -> str:
                return str((_day(value) - EPOCH.date()).days * 86_400_000)
            return Compiled(forward, reverse, canonical=ANY_TYPE)

        read = _strptime_reader(fmt, "a date")
        write = _fast_formatter(fmt) or (lambda day: day.strftime(fmt))

        def reverse_format(value: Any, _out: dict) -> str:
            day = _day(value)
            if day.year < 1000:
                raise TransformError(f"{{value}} is before the year 1000 and cannot be written as {fmt}", value)
            return write(day)
        return Compiled(lambda value, _record: read(value).date().isoformat(), reverse_format, canonical=ANY_TYPE)


def _zone_problems(name: str, zone: Any) -> list[str]:
    if not isinstance(zone, str):
        return [f"{name} timezone must be an IANA name like Europe/Berlin"]
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"{name} timezone {zone!r} is not a known time zone (use an IANA name like Europe/Berlin)"]
    return []


def _utc_text(naive: datetime, zone: ZoneInfo | None, shown: Any) -> str:
    """Canonical UTC text of a wall-clock time in ``zone`` (None: it is UTC); a time skipped by a clock change is
    refused, and an ambiguous one (the hour repeated when clocks go back) is read as the first of the two."""
    if zone is None:
        return naive.isoformat() + "Z"
    offset = zone.utcoffset(naive)  # fold=0: the offset before any transition at this wall time
    if offset < zone.utcoffset(naive.replace(fold=1)):  # later offset bigger: the clocks jumped over this time
        raise TransformError(f"{{value}} does not exist in {zone.key} (the clocks went forward)", shown)
    return (naive - offset).isoformat() + "Z"


class DatetimeFormat(Transform):
    """Vendor date-time <-> canonical UTC text; naive vendor times are read in ``timezone`` (default UTC).

    Reading accepts epoch milliseconds and ISO 8601 for both "iso" and "epoch_ms" (HubSpot sends either);
    the format decides what is written: ISO (UTC with Z, or local time with its offset when a timezone is set),
    epoch milliseconds as text (sub-millisecond digits dropped), or a strftime pattern in local time.
    """

    name, label, reversible = "datetime_format", "Date-time format", True
    applies_to = frozenset({FieldType.DATETIME})
    params_help = {"format": "iso (default), epoch_ms, or a strftime pattern like %d/%m/%Y %H:%M:%S",
                   "timezone": "IANA time zone of the vendor's wall-clock times (default UTC)"}

    def problems(self, params: dict) -> list[str]:
        reasons = _zone_problems(self.name, params.get("timezone", "UTC"))
        fmt = params.get("format", "iso")
        if fmt not in ("iso", "epoch_ms"):
            reasons += _format_problems(self.name, fmt, _SAMPLE, lambda moment: moment.replace(tzinfo=None))
        return reasons

    def build(self, params: dict, path: Any) -> Compiled:
        fmt = params.get("format", "iso")
        zone_name = params.get("timezone", "UTC")
        zone = None if zone_name in ("UTC", "Etc/UTC") else ZoneInfo(zone_name)

        def forward(value: Any, _record: Mapping) -> str:
            if _is_epoch(value):
                return format_datetime(EPOCH + timedelta(milliseconds=_epoch_ms(value)))
            moment = parse_iso_datetime(value)
            if moment.tzinfo is None:
                return _utc_text(moment, zone, value)
            return format_datetime(moment)

        def moment_of(value: Any) -> datetime:
            moment = parse_iso_datetime(value)
            if moment.tzinfo is None:
                raise TransformError("{value} is not a UTC date and time", value)
            return moment

        if fmt == "iso":
            def reverse(value: Any, _out: dict) -> str:
                moment = moment_of(value)
                return format_datetime(moment) if zone is None else moment.astimezone(zone).isoformat()
            return Compiled(forward, reverse, canonical=ANY_TYPE)

        if fmt == "epoch_ms":
            def reverse_ms(value: Any, _out: dict) -> str:
                return str((moment_of(value) - EPOCH) // timedelta(milliseconds=1))
            return Compiled(forward, reverse_ms, canonical=ANY_TYPE)

        read = _strptime_reader(fmt, "a date and time")
        write = _fast_formatter(fmt) or (lambda moment: moment.strftime(fmt))

        def forward_format(value: Any, _record: Mapping) -> str:
            moment = read(value)
            return _utc_text(moment, zone, value) if moment.tzinfo is None else format_datetime(moment)

        def reverse_format(value: Any, _out: dict) -> str:
            moment = moment_of(value)
            local = moment.astimezone(zone) if zone is not None else moment
            if local.year < 1000:
                raise TransformError(f"{{value}} is before the year 1000 and cannot be written as {fmt}", value)
            return write(local)
        return Compiled(forward_format, reverse_format, canonical=ANY_TYPE)
