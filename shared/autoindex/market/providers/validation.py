"""Turn one provider row (numbers as strings) into a validated :class:`Bar`, or say why it is rejected."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from autoindex.market.providers.protocol import Bar, RejectedRow

_PRICE_FIELDS = ("open", "high", "low", "close")


class _Invalid(ValueError):
    pass


def to_decimal(value: object) -> Decimal | None:
    """A provider number as ``Decimal``: JSON strings (``"148.73500"``) and numbers alike; None stays None.

    Raises
    ------
    ValueError
        The value is not a finite number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int | float | str):
        try:
            # str() first: Decimal(0.1) would carry the binary float's 55 digits.
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("not a number") from None
        if not number.is_finite():
            raise ValueError("not a finite number")
        return number
    raise ValueError(f"unexpected {type(value).__name__}")


def parse_day(value: object) -> date:
    """A daily bar's ``YYYY-MM-DD`` date; an intraday ``YYYY-MM-DD HH:MM:SS`` is refused.

    Raises
    ------
    ValueError
        The value is not a plain date.
    """
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("datetime is not a YYYY-MM-DD date")
    return date.fromisoformat(value)


def _price(raw: Mapping[str, object], name: str) -> Decimal:
    try:
        value = to_decimal(raw.get(name))
    except ValueError as exc:
        raise _Invalid(f"{name} {exc}") from None
    if value is None:
        raise _Invalid(f"{name} is missing")
    if value <= 0:
        raise _Invalid(f"{name} is not positive")
    return value


def _volume(raw: Mapping[str, object]) -> int | None:
    try:
        value = to_decimal(raw.get("volume"))
    except ValueError as exc:
        raise _Invalid(f"volume {exc}") from None
    if value is None:
        return None
    if value < 0:
        raise _Invalid("volume is negative")
    return int(value)  # crypto volumes can be fractional; shares are whole


def _check_consistent(o: Decimal, h: Decimal, low: Decimal, c: Decimal) -> None:
    if h < low:
        raise _Invalid("high is below low")
    if not low <= o <= h:
        raise _Invalid("open is outside [low, high]")
    if not low <= c <= h:
        raise _Invalid("close is outside [low, high]")


def _raw_strings(raw: Mapping[str, object]) -> dict[str, str | None]:
    return {str(k): None if v is None else str(v)[:64] for k, v in list(raw.items())[:12]}


def validate_bar(symbol: str, raw: Mapping[str, object]) -> Bar | RejectedRow:
    """Validate one daily row.

    Parameters
    ----------
    symbol
        The symbol the row belongs to (for the rejection report).
    raw
        ``{"datetime", "open", "high", "low", "close", "volume"?}`` with numbers as strings or numbers.

    Returns
    -------
    Bar | RejectedRow
        The bar when every price is a positive finite number, ``high >= low`` and open and close
        lie within ``[low, high]``; otherwise the row and the first reason it failed.
    """
    try:
        day = parse_day(raw.get("datetime"))
    except ValueError as exc:
        return RejectedRow(symbol=symbol, date=None, reason=str(exc), raw=_raw_strings(raw))
    try:
        o, h, low, c = (_price(raw, name) for name in _PRICE_FIELDS)
        _check_consistent(o, h, low, c)
        volume = _volume(raw)
    except _Invalid as exc:
        return RejectedRow(symbol=symbol, date=day, reason=str(exc), raw=_raw_strings(raw))
    return Bar(date=day, open=o, high=h, low=low, close=c, volume=volume)
