"""Field types, canonical value forms and the converters that produce them (plain Python, no Django).

Canonical forms (JSON-safe; None always means "empty"):

- text       str, at most ``MAX_TEXT_LENGTH`` characters, never containing NUL (PostgreSQL's jsonb cannot hold it)
- number     str of a Decimal in its *normal* form: no exponent, no trailing fractional zeros, no "-0"
             ("12.50" -> "12.5", "1E+2" -> "100", "-0.0" -> "0"), so equal numbers are equal strings
- money      {"amount": str, "currency": "EUR"}: the amount keeps at least two decimal places, more only when they
             are significant ("12" -> "12.00", "12.500" -> "12.50", "0.125" -> "0.125"); currency is an
             upper-case ISO 4217 code
- date       "YYYY-MM-DD"
- datetime   UTC "YYYY-MM-DDTHH:MM:SSZ", with ".ffffff" only when the microseconds are not zero
- boolean    bool
- choice     str, the canonical option
- reference  str, the source side's external id (a NetSuite reference {"id": "12", ...} becomes "12")
- line_items list of dicts of canonical values
"""
from __future__ import annotations

import re
import reprlib
from datetime import UTC, date, datetime
from decimal import Context, Decimal
from enum import StrEnum
from typing import Any

import pycountry

from integration_hub.kernel.money import amount_text


class FieldType(StrEnum):
    """The type of a canonical field; decides its canonical value form."""

    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    REFERENCE = "reference"
    LINE_ITEMS = "line_items"


FIELD_TYPES = tuple(FieldType)
MAX_TEXT_LENGTH = 100_000  # a CRM text area holds 65k; anything longer is garbage, not data
MAX_NUMBER_CHARS = 64  # "12345678901234567890.123456789" fits; a 10 MB "number" is refused before parsing
MAX_INTEGER_DIGITS = 30
MAX_FRACTION_DIGITS = 20
MAX_REFERENCE_LENGTH = 255

# A context wide enough that no arithmetic on accepted numbers (<= 50 digits) ever rounds.
DECIMAL_CONTEXT = Context(prec=100, Emax=999, Emin=-999)
CENT = Decimal("0.01")


class MappingError(ValueError):
    """Base of every error this package raises about data or configuration."""


class TransformError(MappingError):
    """A value could not be converted; the message names the value in words a RevOps admin understands.

    ``message`` may contain ``{value}``, replaced by a short, escaped rendering of ``value``; ``redacted()``
    gives the same message with the value hidden, for sensitive fields.
    """

    def __init__(self, message: str, value: Any = None) -> None:
        self.template = message
        self.value = value
        super().__init__(message.replace("{value}", show(value)) if "{value}" in message else message)

    def redacted(self) -> str:
        """The message without the offending value."""
        return self.template.replace("{value}", "the value")


class KeptAsTyped(TransformError):
    """A value its rule cannot convert that the vendor on the other side takes as text all the same (a phone that
    is no E.164 number): it flows as typed, ``kept``, and is flagged with the reason instead of held."""

    def __init__(self, message: str, value: Any, kept: Any) -> None:
        super().__init__(message, value)
        self.kept = kept


_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlevel = 2
_repr.maxdict = _repr.maxlist = _repr.maxtuple = 4


def show(value: Any) -> str:
    """Short, escaped rendering of a value for messages (control characters escaped, long strings cut)."""
    if isinstance(value, str):
        if len(value) > 60:
            return f"{value[:40]!r}… ({len(value)} characters)"
        return repr(value)
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        return _repr.repr(value)
    except Exception:  # a hostile __repr__ must not turn a clear error into a crash
        return f"a {type(value).__name__}"


def kind(value: Any) -> str:
    """Plain-language name of a value's type ("text", "a number", "a list")."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


# --- numbers -------------------------------------------------------------------------------------------

_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
_CANONICAL_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,29})(?:\.\d{0,19}[1-9])?", re.ASCII)
_CANONICAL_AMOUNT = re.compile(r"-?(?:0|[1-9]\d{0,29})\.\d\d(?:\d{0,17}[1-9])?", re.ASCII)


def parse_decimal(value: Any, what: str = "a number") -> Decimal:
    """A finite Decimal from a vendor number or numeric string; floats go through str() to drop binary noise."""
    if isinstance(value, bool):
        raise TransformError(f"{{value}} is true/false, not {what}", value)
    if isinstance(value, int):
        if value.bit_length() > 100:
            raise TransformError(f"{{value}} is too large for {what}", value)
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        number = Decimal(str(value)) if value == value and value not in (float("inf"), float("-inf")) else None
        if number is None:
            raise TransformError(f"{{value}} is not {what}", value)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_CHARS or not _DECIMAL_TEXT.fullmatch(text):
            raise TransformError(f"{{value}} is not {what}", value)
        number = Decimal(text)
    else:
        raise TransformError(f"expected {what} but got {kind(value)}: {{value}}", value)
    if not number.is_finite():
        raise TransformError(f"{{value}} is not {what}", value)
    if number and (number.adjusted() >= MAX_INTEGER_DIGITS
                   or DECIMAL_CONTEXT.normalize(number).as_tuple().exponent < -MAX_FRACTION_DIGITS):
        raise TransformError(
            f"{{value}} has too many digits for {what} (at most {MAX_INTEGER_DIGITS} before and "
            f"{MAX_FRACTION_DIGITS} after the point)", value)
    return number


def format_number(number: Decimal) -> str:
    """The canonical number string of a finite Decimal."""
    if not number:
        return "0"
    text = format(DECIMAL_CONTEXT.normalize(number), "f")
    return text


def canonical_number(value: Any) -> str:
    """Canonical number string from any accepted vendor or canonical number."""
    if type(value) is str and len(value) <= 51 and _CANONICAL_NUMBER.fullmatch(value) and value != "-0":
        return value  # already canonical: the common case when reading back what the hub wrote
    return format_number(parse_decimal(value))


_PLAIN_DECIMAL = re.compile(r"(-?)0*(\d{1,30})(?:\.(\d{0,20}))?", re.ASCII)


def _plain_amount(text: str) -> str | None:
    """Canonical amount of plain decimal text ("12.5", "-0012", "3.14159") by string surgery, or None."""
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    fraction = (fraction or "").rstrip("0").ljust(2, "0")
    if sign and whole == "0" and fraction.strip("0") == "":
        sign = ""
    return f"{sign}{whole}.{fraction}"


def canonical_amount(value: Any) -> str:
    """Canonical money amount string from any accepted vendor or canonical amount."""
    kind_of = type(value)
    if kind_of is str:
        if len(value) <= 51:
            if _CANONICAL_AMOUNT.fullmatch(value) and value != "-0.00":
                return value
            plain = _plain_amount(value)
            if plain is not None:
                return plain
    elif kind_of is int:
        if -10**30 < value < 10**30:
            return f"{value}.00"
    elif kind_of is float and value == value and abs(value) < 1e15:
        plain = _plain_amount(repr(value))  # repr is the shortest text that reads back as the same float
        if plain is not None:
            return plain
    return amount_text(parse_decimal(value, "an amount"))


# --- currencies -----------------------------------------------------------------------------------------

_currency_codes: frozenset[str] | None = None


def currency_codes() -> frozenset[str]:
    """ISO 4217 currency codes (from pycountry, loaded once)."""
    global _currency_codes
    if _currency_codes is None:
        _currency_codes = frozenset(currency.alpha_3 for currency in pycountry.currencies)
    return _currency_codes


def canonical_currency(value: Any) -> str:
    """Upper-case ISO 4217 code from a code in any case; anything else is refused."""
    if type(value) is not str:
        raise TransformError(f"expected a currency code but got {kind(value)}: {{value}}", value)
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise TransformError("{value} is not a three-letter currency code", value)
    if code not in currency_codes():
        raise TransformError("{value} is not an ISO 4217 currency code", value)
    return code


def canonical_money(value: Any) -> dict[str, str]:
    """Canonical money dict from a {"amount", "currency"} mapping."""
    if type(value) is dict and len(value) == 2:
        amount, currency = value.get("amount"), value.get("currency")
        if type(amount) is str and type(currency) is str and _CANONICAL_AMOUNT.fullmatch(amount) \
                and amount != "-0.00" and currency in currency_codes():
            return value  # already canonical: the usual case on the way out
    if not isinstance(value, dict):
        raise TransformError(
            f"expected an amount with a currency but got {kind(value)}: {{value}} "
            "(add a money transform that names the currency)", value)
    if set(value) != {"amount", "currency"}:
        raise TransformError("money needs exactly 'amount' and 'currency', got {value}", value)
    return {"amount": canonical_amount(value["amount"]), "currency": canonical_currency(value["currency"])}


# --- dates and times ----------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
_ISO_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d{1,6})?)?(?:Z|[+-]\d\d:?\d\d(?::?\d\d)?)?", re.ASCII)


def parse_iso_date(value: Any) -> date:
    """A date from "YYYY-MM-DD" (exactly that form)."""
    if type(value) is not str:
        if type(value) is date:
            return value
        raise TransformError(f"expected a date but got {kind(value)}: {{value}}", value)
    text = value.strip()
    if len(text) != 10 or not _ISO_DATE.fullmatch(text):
        raise TransformError("{value} is not a date in the form YYYY-MM-DD", value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TransformError("{value} is not a real date", value) from None


def canonical_date(value: Any) -> str:
    """Canonical "YYYY-MM-DD" from an ISO date string or a date."""
    return parse_iso_date(value).isoformat()


def parse_iso_datetime(value: Any) -> datetime:
    """A datetime (naive when the text has no offset) from ISO 8601 text, or a datetime as is."""
    if isinstance(value, datetime):
        return value
    if type(value) is not str:
        raise TransformError(f"expected a date and time but got {kind(value)}: {{value}}", value)
    text = value.strip()
    if len(text) > 40 or not _ISO_DATETIME.fullmatch(text):
        raise TransformError("{value} is not an ISO 8601 date and time", value)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise TransformError("{value} is not a real date and time", value) from None


def format_datetime(moment: datetime) -> str:
    """Canonical UTC text of an aware datetime."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat() + "Z"


_CANONICAL_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z", re.ASCII)


def canonical_datetime(value: Any) -> str:
    """Canonical UTC text from ISO text with an offset (or Z) or an aware datetime; naive values are refused."""
    if type(value) is str and len(value) in (20, 27) and _CANONICAL_DATETIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise TransformError("{value} is not a real date and time", value) from None
        if moment.microsecond or len(value) == 20:  # ".000000Z" is written without the fraction
            return value
    moment = parse_iso_datetime(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TransformError(
            "{value} has no time zone (add a datetime_format transform that names the timezone)", value)
    return format_datetime(moment)


# --- the rest -------------------------------------------------------------------------------------------

def canonical_text(value: Any) -> str:
    """Canonical text: strings as they are, whole numbers and decimals as their digits."""
    if type(value) is not str:
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            value = canonical_number(value)
        else:
            raise TransformError(f"expected text but got {kind(value)}: {{value}}", value)
    if len(value) > MAX_TEXT_LENGTH:
        raise TransformError(f"{{value}} is longer than the {MAX_TEXT_LENGTH}-character limit for any text", value)
    if "\x00" in value:
        raise TransformError("{value} contains a NUL character, which cannot be stored", value)
    return value


_BOOLEAN_WORDS = {"true": True, "false": False}


def canonical_boolean(value: Any) -> bool:
    """A bool from a bool or the text "true"/"false" (any case); other forms need the boolean transform."""
    if value is True or value is False:
        return value
    if type(value) is str:
        found = _BOOLEAN_WORDS.get(value.strip().lower())
        if found is not None:
            return found
    raise TransformError("{value} is not true or false (add a boolean transform to read it)", value)


def canonical_reference(value: Any) -> str:
    """External id text from an id, a number, or a vendor reference object like {"id": "12", "refName": ...}."""
    if isinstance(value, dict):
        value = value.get("id")
        if value is None:
            raise TransformError("the reference has no id", None)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if type(value) is not str:
        raise TransformError(f"expected a reference id but got {kind(value)}: {{value}}", value)
    text = value.strip()
    if not text or len(text) > MAX_REFERENCE_LENGTH or not text.isprintable():
        raise TransformError("{value} is not a usable reference id", value)
    return text


def canonical_line_items(value: Any) -> list[dict]:
    """A list of dicts with text keys, as is."""
    if not isinstance(value, list) or not all(
            isinstance(item, dict) and all(type(key) is str for key in item) for item in value):
        raise TransformError(f"expected a list of line items but got {kind(value)}: {{value}}", value)
    return value


CANONICALISERS = {
    FieldType.TEXT: canonical_text,
    FieldType.NUMBER: canonical_number,
    FieldType.MONEY: canonical_money,
    FieldType.DATE: canonical_date,
    FieldType.DATETIME: canonical_datetime,
    FieldType.BOOLEAN: canonical_boolean,
    FieldType.CHOICE: canonical_text,
    FieldType.REFERENCE: canonical_reference,
    FieldType.LINE_ITEMS: canonical_line_items,
}


def canonicalise(value: Any, field_type: FieldType) -> Any:
    """The canonical form of ``value`` for ``field_type`` (None and "" stay empty); TransformError if impossible."""
    if value is None or value == "":
        return None
    return CANONICALISERS[FieldType(field_type)](value)
