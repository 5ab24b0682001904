"""Money: a Decimal amount in a currency, kept in record values as {"amount": "12.50", "currency": "EUR"}.

The stored amount is spelled the way the sync's canonical form spells it, so equal amounts are equal text: at
least two decimal places, more only when they are significant ("12" -> "12.00", "12.500" -> "12.50",
"0.125" -> "0.125"), no exponent, and zero is "0.00" (never "-0.00"). Checking that a currency is a real ISO
4217 code, and refusing amounts with too many digits, is the mapping's job (mapping.types).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

# Wide enough that spelling any amount Money accepts never rounds.
_CONTEXT = Context(prec=250, Emax=999, Emin=-999)
_CENT = Decimal("0.01")
_MAX_DIGITS = 100  # far beyond any amount a system holds: such a value is not read as money at all


def amount_text(amount: Decimal) -> str:
    """The stored spelling of an amount: at least two decimal places, more only when they are significant."""
    if not amount:
        return "0.00"
    amount = _CONTEXT.normalize(amount)
    if amount.as_tuple().exponent > -2:
        amount = _CONTEXT.quantize(amount, _CENT)
    return format(amount, "f")


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = ""

    @classmethod
    def of(cls, value: Any) -> Money | None:
        """The money a stored value holds ({"amount": ..., "currency": ...}, nothing else); None for any other
        value, or an amount that is not a finite number."""
        if type(value) is not dict or len(value) != 2 or "amount" not in value or "currency" not in value:
            return None
        amount = value["amount"]
        if isinstance(amount, bool) or not isinstance(amount, str | int | float | Decimal):
            return None
        try:
            number = Decimal(str(amount))  # a float through str(): its shortest text, not its binary noise
        except InvalidOperation:
            return None
        if not number.is_finite() or len(number.as_tuple().digits) > _MAX_DIGITS \
                or abs(number.adjusted()) > _MAX_DIGITS:
            return None
        return cls(number, str(value["currency"] or ""))

    @staticmethod
    def split_text(text: str, currency: str = "") -> tuple[str, str]:
        """(amount, currency) as a person writes money: "1,200.50 EUR", "EUR 1200.50", or an amount alone,
        which is in ``currency``. Thousands separators are dropped; neither part is checked."""
        parts = text.replace(",", "").split()
        if len(parts) == 2 and parts[1].isalpha():
            return parts[0], parts[1]
        if len(parts) == 2 and parts[0].isalpha():
            return parts[1], parts[0]
        return text.replace(",", ""), currency

    def stored(self) -> dict[str, str]:
        """The value kept in a record: {"amount": "12.50", "currency": "EUR"}."""
        return {"amount": amount_text(self.amount), "currency": self.currency}

    def __str__(self) -> str:
        """As people read it: "12.50 EUR" ("12.50" without a currency)."""
        return f"{amount_text(self.amount)} {self.currency}".rstrip()
