"""The investment simulation converts with each date's historical FX rate, never today's."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

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


def _cents(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.01"))


def test_each_date_uses_its_own_historical_rate() -> None:
    result = _simulate()
    start = 0
    end = int(np.searchsorted(DATES, np.datetime64("2019-12-31"), side="right")) - 1
    growth = INDEX[end] / INDEX[start]
    assert result.start_value == Decimal("10000.00")
    cent = Decimal("0.01")
    assert abs(result.start_value_usd - _cents(10_000.0 / FX[start])) <= cent
    assert abs(result.end_value_usd - _cents(10_000.0 / FX[start] * growth)) <= cent
    assert abs(result.end_value - _cents(10_000.0 / FX[start] * growth * FX[end])) <= cent
    assert result.roi == pytest.approx(growth * FX[end] / FX[start] - 1, rel=1e-12)
    assert result.roi_usd == pytest.approx(growth - 1, rel=1e-12)
    days = slice(start, end + 1)
    np.testing.assert_allclose(result.fx_rates, FX[days], rtol=0)
    expected = 10_000.0 * INDEX[days] / INDEX[start] * FX[days] / FX[start]
    np.testing.assert_allclose([float(v) for v in result.values], expected, rtol=0, atol=0.005 + 1e-9)
    # The earlier version's bug: with today's rate on both ends the currency ROI collapses to the USD ROI.
    assert abs(result.roi - result.roi_usd) > 1e-3


def test_money_is_decimal_in_the_currencys_minor_units() -> None:
    eur = _simulate(amount=1000.0, fx_rates=np.full(DATES.size, 0.92))
    assert eur.start_value == Decimal("1000.00") and str(eur.start_value) == "1000.00"  # not 999.9999999999999
    assert eur.to_dict()["start_value"] == "1000.00" and eur.to_dict()["amount"] == "1000.00"
    assert eur.start_value_usd == Decimal("1086.96")  # 1000 / 0.92, to the cent
    assert all(v.as_tuple().exponent == -2 for v in eur.values)
    jpy = _simulate(amount="150000", currency="JPY", fx_rates=np.linspace(110.0, 150.0, DATES.size))
    assert jpy.start_value == Decimal(150000) and all(v.as_tuple().exponent == 0 for v in jpy.values)
    assert jpy.to_dict()["end_value"].isdigit()
    kwd = _simulate(amount=Decimal("250.125"), currency="KWD", fx_rates=np.full(DATES.size, 0.307))
    assert kwd.start_value == Decimal("250.125") and all(v.as_tuple().exponent == -3 for v in kwd.values)
    with pytest.raises(SimulationError, match="more decimals than JPY"):
        _simulate(amount="100.5", currency="JPY", fx_rates=np.full(DATES.size, 140.0))


def test_an_end_date_after_the_data_moves_back_to_the_last_index_date() -> None:
    result = _simulate(end_date=dt.date(2030, 1, 1))
    assert result.end_date == dt.date.fromisoformat(str(DATES[-1]))
    assert result.end_value == _simulate(end_date=None).end_value


def test_todays_rate_does_not_leak_into_a_past_period() -> None:
    result = _simulate()
    wild_today = _simulate(fx_rates=np.where(np.datetime64("2019-12-31") < FX_DATES, 50.0, FX))
    assert result.end_value == wild_today.end_value and result.roi == wild_today.roi
    up_to_today = _simulate(end_date=None)
    assert up_to_today.end_date == dt.date.fromisoformat(str(DATES[-1]))
    assert abs(up_to_today.end_value - up_to_today.end_value_usd * 5) <= Decimal("0.03")


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
        ({"end_date": dt.date(2019, 1, 1)}, "end_date must not be before"),
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
