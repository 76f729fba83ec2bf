"""Period windows (inception, YTD, 1y, 3y) and rolling series: their bounds and edge cases."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from autoindex.index.engine.metrics import risk_metrics
from autoindex.index.engine.periods import PERIODS, period_metrics, period_start, rolling_metrics

from tests.unit.engine.data import business_days


def _between(start: str, end: str) -> np.ndarray:
    days = business_days(start, 2000)
    return days[days <= np.datetime64(end)]


def _values(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.cumprod(1 + rng.normal(0.0003, 0.01, n))


def test_window_bases() -> None:
    dates = _between("2020-06-01", "2024-03-15")
    assert period_start(dates, "inception") == 0
    expected = {"ytd": "2023-12-29", "1y": "2023-03-15", "3y": "2021-03-15"}
    for period, base in expected.items():
        start = period_start(dates, period)
        assert start is not None and str(dates[start]) == base, period


def test_window_base_is_the_last_date_on_or_before_the_boundary() -> None:
    dates = _between("2021-01-04", "2024-02-29")  # leap day: one year back is 2023-02-28
    start = period_start(dates, "1y")
    assert start is not None and str(dates[start]) == "2023-02-28"
    weekend_end = _between("2021-01-04", "2024-03-18")  # 2023-03-18 was a Saturday
    start = period_start(weekend_end, "1y")
    assert start is not None and str(weekend_end[start]) == "2023-03-17"


def test_short_histories() -> None:
    young = _between("2023-06-01", "2024-03-15")
    assert period_start(young, "1y") is None and period_start(young, "3y") is None
    this_year = _between("2024-01-10", "2024-03-15")
    assert period_start(this_year, "ytd") == 0  # started within the year: YTD is since inception
    with pytest.raises(ValueError, match="unknown period"):
        period_start(young, "5y")


def test_period_metrics_are_the_metrics_of_each_window() -> None:
    dates = _between("2021-09-01", "2024-03-15")
    values, bench = _values(dates.size, 1), _values(dates.size, 2)
    windows = period_metrics(dates, values, bench, risk_free_rate=0.03)
    assert list(windows) == list(PERIODS) and windows["3y"] is None
    one_year = windows["1y"]
    assert one_year is not None and one_year.start_date == dt.date(2023, 3, 15)
    start = period_start(dates, "1y")
    assert one_year == risk_metrics(dates[start:], values[start:], bench[start:], risk_free_rate=0.03)
    inception = windows["inception"]
    assert inception is not None and inception.observations == dates.size - 1


def test_rolling_edges() -> None:
    dates = business_days("2024-01-01", 20)
    values = _values(20)
    short = rolling_metrics(dates, values, window=30)
    assert short.dates.size == 0 and short.sharpe_ratio.size == 0
    rolling = rolling_metrics(dates, values, window=10)
    assert rolling.dates.size == 10 and np.isnan(rolling.beta).all()  # no benchmark: no beta
    payload = rolling.to_dict()
    assert payload["window"] == 10 and payload["items"][0]["beta"] is None
    json.dumps(payload, allow_nan=False)
    with pytest.raises(ValueError, match="at least 2"):
        rolling_metrics(dates, values, window=1)
