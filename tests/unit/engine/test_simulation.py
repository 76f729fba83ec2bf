"""The investment simulation converts with each date's historical FX rate, never today's."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from autoindex.errors import ValidationFailed
from autoindex.index.engine.simulation import SimulationError, SimulationResult, simulate_investment

from tests.unit.engine.data import business_days

DATES = business_days("2019-03-01", 300)
INDEX = 100 * np.cumprod(1 + np.random.default_rng(0).normal(0.0004, 0.01, DATES.size))
# USD/EUR drifts from 0.88 to 0.95 over the period; "today" (the last quote) is wildly different.
FX_DATES = DATES.copy()
FX = np.linspace(0.88, 0.95, DATES.size)
FX[-1] = 5.0


def _simulate(**overrides: object) -> SimulationResult:
    arguments: dict[str, object] = {
        "amount": 10_000.0,
        "currency": "EUR",
        "start_date": dt.date(2019, 3, 1),
        "end_date": dt.date(2019, 12, 31),
        "index_dates": DATES,
        "index_values": INDEX,
        "fx_dates": FX_DATES,
        "fx_rates": FX,
    }
    arguments.update(overrides)
    return simulate_investment(**arguments)  # type: ignore[arg-type]


def test_each_date_uses_its_own_historical_rate() -> None:
    result = _simulate()
    start = 0
    end = int(np.searchsorted(DATES, np.datetime64("2019-12-31"), side="right")) - 1
    growth = INDEX[end] / INDEX[start]
    assert result.start_value == pytest.approx(10_000.0, rel=1e-12)
    assert result.start_value_usd == pytest.approx(10_000.0 / FX[start], rel=1e-12)
    assert result.end_value_usd == pytest.approx(10_000.0 / FX[start] * growth, rel=1e-12)
    assert result.end_value == pytest.approx(10_000.0 / FX[start] * growth * FX[end], rel=1e-12)
    assert result.roi == pytest.approx(growth * FX[end] / FX[start] - 1, rel=1e-12)
    assert result.roi_usd == pytest.approx(growth - 1, rel=1e-12)
    days = slice(start, end + 1)
    np.testing.assert_allclose(result.fx_rates, FX[days], rtol=0)
    np.testing.assert_allclose(result.values, 10_000.0 * INDEX[days] / INDEX[start] * FX[days] / FX[start], rtol=1e-12)
    # The earlier version's bug: with today's rate on both ends the currency ROI collapses to the USD ROI.
    assert abs(result.roi - result.roi_usd) > 1e-3


def test_todays_rate_does_not_leak_into_a_past_period() -> None:
    result = _simulate()
    wild_today = _simulate(fx_rates=np.where(np.datetime64("2019-12-31") < FX_DATES, 50.0, FX))
    assert result.end_value == wild_today.end_value and result.roi == wild_today.roi
    up_to_today = _simulate(end_date=None)
    assert up_to_today.end_date == dt.date.fromisoformat(str(DATES[-1]))
    assert up_to_today.end_value == pytest.approx(up_to_today.end_value_usd * 5.0, rel=1e-12)


def test_usd_needs_no_fx_and_dates_snap_to_trading_days() -> None:
    result = _simulate(currency="usd", fx_dates=None, fx_rates=None, start_date=dt.date(2019, 3, 2))
    assert result.currency == "USD" and result.start_date == dt.date(2019, 3, 4)  # Saturday -> Monday
    assert result.end_date == dt.date(2019, 12, 31)
    assert result.roi == result.roi_usd
    weekend_end = _simulate(end_date=dt.date(2019, 12, 29))  # Sunday -> Friday
    assert weekend_end.end_date == dt.date(2019, 12, 27)
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_missing_quote_may_stand_in_for_a_few_days_only() -> None:
    holes = FX.copy()
    holes[10:12] = np.nan  # two trading days: the last quote before stands in
    result = _simulate(fx_rates=holes)
    assert result.fx_rates[10] == FX[9] and result.fx_rates[11] == FX[9]
    holes[20:30] = np.nan  # two weeks: no rate for those dates
    with pytest.raises(SimulationError, match="no USD/EUR exchange rate on 2019-04-"):
        _simulate(fx_rates=holes)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start_date": dt.date(2019, 2, 1)}, "start_date must be between"),
        ({"end_date": dt.date(2030, 1, 1)}, "end_date must be between"),
        ({"start_date": dt.date(2019, 6, 1), "end_date": dt.date(2019, 5, 1)}, "no trading day"),
        ({"amount": 0.0}, "amount"),
        ({"amount": float("nan")}, "amount"),
        ({"currency": "EURO"}, "three-letter"),
        ({"fx_dates": None, "fx_rates": None}, "no USD/EUR exchange rates"),
        ({"fx_dates": FX_DATES[50:], "fx_rates": FX[50:]}, "no USD/EUR exchange rate on 2019-03-01"),
    ],
)
def test_unanswerable_requests_are_clear_422s(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SimulationError, match=message) as caught:
        _simulate(**overrides)
    assert isinstance(caught.value, ValidationFailed) and caught.value.status == 422
