""" "What if I had invested AMOUNT in CURRENCY on START": values with the historical FX rate of each date.

The index is valued in US dollars; a rate is the ``USD/XXX`` quote (units of the currency per dollar).
The method, the FX convention and how dates and missing quotes are handled:
``docs/index-method.md`` ("Simulation").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

import numpy as np
import numpy.typing as npt

from autoindex.errors import ValidationFailed
from autoindex.index.engine._arrays import DateArray, FloatArray, as_dates, check_dates, to_date
from autoindex.index.engine.money import as_decimal, minor_units, round_money

BASE_CURRENCY = "USD"
DEFAULT_MAX_FX_AGE_DAYS = 5

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class SimulationError(ValidationFailed):
    """The simulation request cannot be answered from the data (a 422 for the client)."""


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Outcome of a simulated investment, in the chosen currency and in US dollars.

    Money (``amount``, the values) is ``Decimal`` rounded to the currency's minor units (US dollar
    values to cents). ``values``, ``values_usd`` and ``fx_rates`` have one entry per index date from
    ``start_date`` to ``end_date``; ``roi`` and ``roi_usd`` are simple returns over the period,
    computed before rounding.
    """

    currency: str
    amount: Decimal
    start_date: dt.date
    end_date: dt.date
    start_value: Decimal
    end_value: Decimal
    roi: float
    start_value_usd: Decimal
    end_value_usd: Decimal
    roi_usd: float
    dates: DateArray
    values: tuple[Decimal, ...]
    values_usd: tuple[Decimal, ...]
    fx_rates: FloatArray

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form: money as decimal strings, the daily series as a list of items."""
        return {
            "currency": self.currency,
            "amount": str(self.amount),
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "start_value": str(self.start_value),
            "end_value": str(self.end_value),
            "roi": self.roi,
            "start_value_usd": str(self.start_value_usd),
            "end_value_usd": str(self.end_value_usd),
            "roi_usd": self.roi_usd,
            "series": [
                {"date": str(day), "value": str(v), "value_usd": str(u), "fx_rate": float(f)}
                for day, v, u, f in zip(self.dates, self.values, self.values_usd, self.fx_rates, strict=True)
            ],
        }


def simulate_investment(
    *,
    amount: float | Decimal | str,
    currency: str,
    start_date: dt.date,
    end_date: dt.date | None = None,
    index_dates: DateArray | Sequence[dt.date],
    index_values: npt.ArrayLike,
    fx_dates: DateArray | Sequence[dt.date] | None = None,
    fx_rates: npt.ArrayLike | None = None,
    max_fx_age_days: int = DEFAULT_MAX_FX_AGE_DAYS,
) -> SimulationResult:
    """Simulate an investment of ``amount`` ``currency`` in the index from ``start_date`` to ``end_date``.

    Parameters
    ----------
    amount
        Positive amount, in ``currency``, with no more decimals than its minor units.
    currency
        ISO 4217 code. ``USD`` needs no FX series.
    start_date, end_date
        The period; ``end_date`` defaults to the last index date, and one after it moves back to it.
    index_dates, index_values
        The index series (US dollar based).
    fx_dates, fx_rates
        Daily ``USD/currency`` quotes (units of ``currency`` per US dollar), NaN where missing.
    max_fx_age_days
        Oldest quote, in calendar days, that may stand for a date without one.

    Returns
    -------
    SimulationResult

    Raises
    ------
    SimulationError
        Bad amount or currency, dates outside the index data, or no usable FX rate for a date.
    """
    code = currency.upper()
    if not _CURRENCY.match(code):
        raise SimulationError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    invested = _amount(amount, code)
    days = check_dates(np.asarray(index_dates), "index_dates")
    levels = np.asarray(index_values, dtype=np.float64)
    if days.size == 0 or levels.shape != days.shape:
        raise SimulationError("no index data to simulate on")
    first, last = _window(days, start_date, end_date)
    window_days, window_levels = days[first : last + 1], levels[first : last + 1]

    rates = (
        np.ones(window_days.size)
        if code == BASE_CURRENCY
        else _historical_rates(code, window_days, fx_dates, fx_rates, max_fx_age_days)
    )
    with localcontext() as context:
        context.prec = 34
        # In Decimal from the stored figures: growth = I_t / I_0 and the currency's move r_t / r_0, so
        # the start value is the amount exactly (no 999.9999999999999 for 1000).
        level_0, rate_0 = as_decimal(float(window_levels[0])), as_decimal(float(rates[0]))
        growth = [as_decimal(float(v)) / level_0 for v in window_levels]
        moves = [as_decimal(float(r)) / rate_0 for r in rates]
        exact = [invested * g * m for g, m in zip(growth, moves, strict=True)]
        exact_usd = [invested / rate_0 * g for g in growth]
        values = tuple(round_money(v, code) for v in exact)
        values_usd = tuple(round_money(v, BASE_CURRENCY) for v in exact_usd)
        roi, roi_usd = float(exact[-1] / exact[0] - 1), float(growth[-1] - 1)
    return SimulationResult(
        currency=code,
        amount=invested,
        start_date=to_date(window_days[0]),
        end_date=to_date(window_days[-1]),
        start_value=values[0],
        end_value=values[-1],
        roi=roi,
        start_value_usd=values_usd[0],
        end_value_usd=values_usd[-1],
        roi_usd=roi_usd,
        dates=window_days,
        values=values,
        values_usd=values_usd,
        fx_rates=rates,
    )


def _amount(amount: float | Decimal | str, code: str) -> Decimal:
    try:
        value = as_decimal(amount)
    except (InvalidOperation, ValueError):
        raise SimulationError("amount must be a positive number") from None
    if not (value.is_finite() and value > 0):
        raise SimulationError("amount must be a positive number")
    if round_money(value, code) != value:
        raise SimulationError(f"amount has more decimals than {code} has minor units ({minor_units(code)})")
    return round_money(value, code)


def _window(days: DateArray, start_date: dt.date, end_date: dt.date | None) -> tuple[int, int]:
    first_day, last_day = to_date(days[0]), to_date(days[-1])
    # An end after the data moves back to the last index date, as a start moves forward to a trading day.
    end = last_day if end_date is None else min(end_date, last_day)
    if not first_day <= start_date <= last_day:
        raise SimulationError(f"start_date must be between {first_day} and {last_day} (the index data)")
    if end < first_day:
        raise SimulationError(f"end_date must not be before {first_day} (the start of the index data)")
    first = int(np.searchsorted(days, np.datetime64(start_date, "D"), side="left"))
    last = int(np.searchsorted(days, np.datetime64(end, "D"), side="right")) - 1
    if last < first:
        raise SimulationError("no trading day between start_date and end_date")
    return first, last


def _historical_rates(
    code: str,
    days: DateArray,
    fx_dates: DateArray | Sequence[dt.date] | None,
    fx_rates: npt.ArrayLike | None,
    max_age: int,
) -> FloatArray:
    if fx_dates is None or fx_rates is None:
        raise SimulationError(f"no USD/{code} exchange rates are available")
    quote_days = check_dates(as_dates(fx_dates), "fx_dates")
    quotes = np.asarray(fx_rates, dtype=np.float64)
    if quotes.shape != quote_days.shape:
        raise ValueError("fx_rates must have one rate per fx date")
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(quotes) & (quotes > 0.0)
    quote_days, quotes = quote_days[usable], quotes[usable]
    if quote_days.size == 0:
        raise SimulationError(f"no USD/{code} exchange rates are available")
    # The latest quote on or before each date: never one from after it.
    position = np.searchsorted(quote_days, days, side="right") - 1
    found = position >= 0
    age = np.where(found, (days - quote_days[np.maximum(position, 0)]).astype(np.int64), max_age + 1)
    stale = age > max_age
    if stale.any():
        missing = to_date(days[int(np.argmax(stale))])
        raise SimulationError(
            f"no USD/{code} exchange rate on {missing} or in the {max_age} days before it; "
            "the simulation needs the historical rate of every date"
        )
    rates: FloatArray = quotes[position]
    return rates
