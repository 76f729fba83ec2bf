"""The total-return index against a plain share-counting loop (to 1e-9), and its incremental form."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import numpy.typing as npt
import pytest
from autoindex.index.engine.index import compute_index
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.engine.total_return import (
    TotalReturnMismatch,
    TotalReturnState,
    extend_total_return,
    total_return_index,
)

from tests.unit.engine.data import make_market
from tests.unit.engine.total_return_reference import reference_total_return

PARAMS = StrategyParams(momentum_lookback_days=20, volatility_lookback_days=15, transaction_cost_bps=10)
TOLERANCE = 1e-9


def _dividends(prices: npt.NDArray[np.float64], seed: int) -> npt.NDArray[np.float64]:
    """About one distribution per asset a month, 0.2 % to 1 % of the close; some on days without a close."""
    rng = np.random.default_rng(seed)
    paid = np.where(rng.random(prices.shape) < 1 / 21, rng.uniform(0.002, 0.01, prices.shape), 0.0)
    reference = np.nan_to_num(prices, nan=50.0)
    out: npt.NDArray[np.float64] = paid * reference
    return out


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_total_return_matches_a_share_counting_loop(seed: int) -> None:
    market = make_market(seed)
    paid = _dividends(market.prices, seed)
    index = compute_index(market.dates, market.prices, PARAMS, assets=market.assets, market_caps=market.caps)
    result = total_return_index(market.dates, market.prices, paid, index.rebalances, transaction_cost_bps=10)
    expected = reference_total_return(
        market.day_list, market.rows(market.prices), market.rows(paid), index, PARAMS.transaction_cost_bps
    )
    got = {dt.date.fromisoformat(str(d)): float(v) for d, v in zip(result.dates, result.values, strict=True)}
    assert got.keys() == expected.keys()
    assert max(abs(got[d] / expected[d] - 1) for d in got) < TOLERANCE
    assert got[min(got)] == 100.0 and list(result.dates) == list(index.dates)


def test_without_dividends_total_return_is_the_price_index() -> None:
    market = make_market(5)
    index = compute_index(market.dates, market.prices, PARAMS, assets=market.assets, market_caps=market.caps)
    none = np.zeros_like(market.prices)
    result = total_return_index(market.dates, market.prices, none, index.rebalances, transaction_cost_bps=10)
    assert np.allclose(result.values, index.values, rtol=1e-12, atol=0)


def test_a_monthly_payer_earns_its_distributions_on_top_of_its_price() -> None:
    """One asset, flat price 100, 0.5 per month: the total return is the price return plus reinvested coupons."""
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-12-31"))
    days = days[np.is_busday(days)]
    prices = np.full((days.size, 1), 100.0)
    paid = np.zeros_like(prices)
    months = days.astype("datetime64[M]")
    firsts = np.flatnonzero(np.concatenate(([False], months[1:] != months[:-1])))  # each month's first day
    paid[firsts, 0] = 0.5
    params = StrategyParams(momentum_lookback_days=5, volatility_lookback_days=5)
    index = compute_index(days, prices, params, assets=("TLT",))
    result = total_return_index(days, prices, paid, index.rebalances, transaction_cost_bps=0)
    price_return = index.values[-1] / index.values[0] - 1
    total_return = result.values[-1] / result.values[0] - 1
    assert price_return == 0.0
    payments = int((paid[days.size - result.values.size + 1 :] > 0).sum())  # after the formation's close
    assert total_return == pytest.approx(1.005**payments - 1, rel=1e-12)
    assert total_return > 0.05


def test_extending_in_chunks_equals_the_full_computation() -> None:
    market = make_market(17)
    paid = _dividends(market.prices, 17)
    index = compute_index(market.dates, market.prices, PARAMS, assets=market.assets, market_caps=market.caps)
    full = total_return_index(market.dates, market.prices, paid, index.rebalances, transaction_cost_bps=10)
    state = TotalReturnState.initial(len(market.assets))
    values: list[float] = []
    for start, stop in itertools.pairwise([0, 37, 38, 90, 141, len(market.dates)]):
        part = extend_total_return(
            state,
            market.dates[start:stop],
            market.prices[start:stop],
            paid[start:stop],
            index.rebalances,
            transaction_cost_bps=10,
        )
        state = TotalReturnState.from_dict(part.state.to_dict())  # through storage, as the compute job does
        values.extend(part.values.tolist())
    assert np.allclose(values, full.values, rtol=1e-12, atol=0)


def test_old_dates_and_foreign_states_are_refused() -> None:
    market = make_market(2)
    paid = np.zeros_like(market.prices)
    index = compute_index(market.dates, market.prices, PARAMS, assets=market.assets, market_caps=market.caps)
    done = total_return_index(market.dates, market.prices, paid, index.rebalances, transaction_cost_bps=10)
    with pytest.raises(TotalReturnMismatch):
        extend_total_return(
            done.state, market.dates[-3:], market.prices[-3:], paid[-3:], index.rebalances, transaction_cost_bps=10
        )
    with pytest.raises(TotalReturnMismatch):
        TotalReturnState.from_dict({**done.state.to_dict(), "format": 99})
