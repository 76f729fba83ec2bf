"""Money as ``Decimal`` rounded to a currency's minor units (ISO 4217), never a binary float.

The table lists the ISO 4217 currencies whose minor unit is not 2 (the list maintained by SIX, the
ISO 4217 maintenance agency); every other code has 2. Rounding is half-even, the banker's rule.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 minor units other than 2 (current codes).
_ZERO = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV")
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys((*_ZERO, "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
DEFAULT_MINOR_UNITS = 2


def minor_units(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (``JPY`` 0, ``EUR`` 2, ``KWD`` 3)."""
    return _MINOR_UNITS.get(currency.upper(), DEFAULT_MINOR_UNITS)


def as_decimal(value: float | Decimal | str) -> Decimal:
    """A float by its shortest round-tripping decimal (``0.92``, not ``0.92000000000000003996…``)."""
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)) if isinstance(value, float) else value)


def round_money(value: Decimal, currency: str) -> Decimal:
    """``value`` rounded half-even to the minor unit of ``currency``."""
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)
