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
from typing import Any

import numpy as np
import numpy.typing as npt

from autoindex.errors import ValidationFailed
from autoindex.index.engine._arrays import DateArray, FloatArray, as_dates, check_dates, to_date

BASE_CURRENCY = "USD"
DEFAULT_MAX_FX_AGE_DAYS = 5

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class SimulationError(ValidationFailed):
    """The simulation request cannot be answered from the data (a 422 for the client)."""


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Outcome of a simulated investment, in the chosen currency and in US dollars.

    ``values``, ``values_usd`` and ``fx_rates`` have one entry per index date from ``start_date`` to
    ``end_date``; ``roi`` and ``roi_usd`` are simple returns over the period.
    """

    currency: str
    amount: float
    start_date: dt.date
    end_date: dt.date
    start_value: float
    end_value: float
    roi: float
    start_value_usd: float
    end_value_usd: float
    roi_usd: float
    dates: DateArray
    values: FloatArray
    values_usd: FloatArray
    fx_rates: FloatArray

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form with the daily series as a list of items."""
        return {
            "currency": self.currency,
            "amount": self.amount,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "start_value": self.start_value,
            "end_value": self.end_value,
            "roi": self.roi,
            "start_value_usd": self.start_value_usd,
            "end_value_usd": self.end_value_usd,
            "roi_usd": self.roi_usd,
            "series": [
                {"date": str(day), "value": float(v), "value_usd": float(u), "fx_rate": float(f)}
                for day, v, u, f in zip(self.dates, self.values, self.values_usd, self.fx_rates, strict=True)
            ],
        }


def simulate_investment(
    *,
    amount: float,
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
        Positive amount, in ``currency``.
    currency
        ISO 4217 code. ``USD`` needs no FX series.
    start_date, end_date
        The period; ``end_date`` defaults to the last index date.
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
    if not (np.isfinite(amount) and amount > 0.0):
        raise SimulationError("amount must be a positive number")
    code = currency.upper()
    if not _CURRENCY.match(code):
        raise SimulationError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
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
    invested_usd = amount / rates[0]
    values_usd = invested_usd * window_levels / window_levels[0]
    values = values_usd * rates
    return SimulationResult(
        currency=code,
        amount=float(amount),
        start_date=to_date(window_days[0]),
        end_date=to_date(window_days[-1]),
        start_value=float(values[0]),
        end_value=float(values[-1]),
        roi=float(values[-1] / values[0] - 1.0),
        start_value_usd=float(values_usd[0]),
        end_value_usd=float(values_usd[-1]),
        roi_usd=float(values_usd[-1] / values_usd[0] - 1.0),
        dates=window_days,
        values=values,
        values_usd=values_usd,
        fx_rates=rates,
    )


def _window(days: DateArray, start_date: dt.date, end_date: dt.date | None) -> tuple[int, int]:
    first_day, last_day = to_date(days[0]), to_date(days[-1])
    end = last_day if end_date is None else end_date
    if not first_day <= start_date <= last_day:
        raise SimulationError(f"start_date must be between {first_day} and {last_day} (the index data)")
    if not first_day <= end <= last_day:
        raise SimulationError(f"end_date must be between {first_day} and {last_day} (the index data)")
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
