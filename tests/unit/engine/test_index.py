"""The index against the plain loop reference, and the behaviours the method promises."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from autoindex.index.engine.index import BASE_VALUE, IndexResult, compute_index
from autoindex.index.engine.strategy import StrategyParams

from tests.unit.engine.data import Market, make_market
from tests.unit.engine.reference import ReferenceResult, reference_index

# Short look-backs so that 160 synthetic days hold many rebalances; each set stresses other rules.
PARAMS = {
    "weekly": StrategyParams(momentum_lookback_days=20, volatility_lookback_days=15),
    "daily-capped-costly": StrategyParams(
        momentum_lookback_days=10,
        volatility_lookback_days=25,
        rebalance_frequency="daily",
        max_weight_per_asset=0.3,
        transaction_cost_bps=20,
    ),
    "monthly-threshold": StrategyParams(
        momentum_lookback_days=30,
        volatility_lookback_days=10,
        rebalance_frequency="monthly",
        momentum_drop_threshold=0.05,
        max_ffill_days=0,
    ),
    "erc-skip-momentum-cap": StrategyParams(
        momentum_lookback_days=15,
        momentum_skip_days=5,
        momentum_max_weight=0.3,
        volatility_lookback_days=20,
        risk_parity_method="erc",
        momentum_weight=0.5,
        market_cap_weight=0.0,
        risk_parity_weight=0.5,
    ),
    "monthly-drift-absolute": StrategyParams(
        momentum_lookback_days=20,
        volatility_lookback_days=15,
        rebalance_frequency="monthly",
        drift_band=0.02,
        drift_cooldown_days=3,
    ),
    "monthly-drift-relative-erc": StrategyParams(
        momentum_lookback_days=20,
        volatility_lookback_days=15,
        rebalance_frequency="monthly",
        risk_parity_method="erc",
        drift_band=0.1,
        drift_band_type="relative",
        drift_cooldown_days=5,
    ),
    "momentum-only-tight-cap": StrategyParams(
        momentum_weight=1.0,
        market_cap_weight=0.0,
        risk_parity_weight=0.0,
        momentum_lookback_days=15,
        volatility_lookback_days=15,
        max_weight_per_asset=0.25,
        max_missing_share=0.3,
        outlier_sigma=2.0,
        return_clip=0.1,
    ),
}


def _compare(result: IndexResult, ref: ReferenceResult) -> None:
    assert [str(d) for d in result.dates] == [d.isoformat() for d in ref.dates]
    np.testing.assert_allclose(result.values, ref.values, rtol=1e-9, atol=0)
    assert [r.date for r in result.rebalances] == ref.rebalance_dates
    np.testing.assert_allclose([r.weights for r in result.rebalances], ref.rebalance_weights, rtol=0, atol=1e-9)
    assert [r.decision.market_cap_fallback.tolist() for r in result.rebalances] == ref.cap_fallback
    assert list(result.skipped_rebalances) == ref.skipped
    assert [r.trigger for r in result.rebalances] == ref.triggers


@pytest.mark.parametrize("name", list(PARAMS))
@pytest.mark.parametrize("seed", [1, 2])
def test_index_matches_plain_reference_to_1e9(name: str, seed: int) -> None:
    # Compared: values (relative 1e-9), rebalance dates, weights (absolute 1e-9), fallback flags, skips.
    market = make_market(seed)
    params = PARAMS[name]
    result = compute_index(market.dates, market.prices, params, assets=market.assets, market_caps=market.caps)
    ref = reference_index(market.day_list, market.rows(market.prices), params, market.rows(market.caps))
    assert len(ref.values) > 100 and len(ref.rebalance_dates) >= 5
    _compare(result, ref)


def test_index_starts_at_100_on_the_formation_date() -> None:
    market = make_market(3)
    params = PARAMS["weekly"]
    result = compute_index(market.dates, market.prices, params, assets=market.assets, market_caps=market.caps)
    first = result.rebalances[0]
    assert first.initial and first.cost == 0.0 and first.turnover == 0.0
    assert first.date == dt.date.fromisoformat(str(result.dates[0]))
    assert result.values[0] == BASE_VALUE
    # Warm-up: the first date whose 20-day window misses at most 10 % of returns. Before row 19 the window
    # reaches before the data (missing), and row 0 has no return: 20 - 19 + 1 = 2 missing of 20.
    assert result.dates[0] == market.dates[19]
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0, atol=1e-12)


def test_assets_enter_and_leave_cleanly() -> None:
    market = make_market(4)
    params = PARAMS["weekly"]
    result = compute_index(market.dates, market.prices, params, assets=market.assets, market_caps=market.caps)
    listing, delisting = len(market.dates) // 3, 2 * len(market.dates) // 3  # rows of first / first missing close
    rows = [int(np.searchsorted(market.dates, np.datetime64(r.date))) for r in result.rebalances]
    late = [r.weights[1] for r in result.rebalances]
    gone = [r.weights[2] for r in result.rebalances]
    # The late listing is out until its window has enough returns, then in at every rebalance.
    assert all(w == 0.0 for row, w in zip(rows, late, strict=True) if row <= listing + 1)
    assert all(w > 0.0 for row, w in zip(rows, late, strict=True) if row > listing + params.window_days)
    joined = next(row for row, w in zip(rows, late, strict=True) if w > 0.0)
    assert listing + 1 < joined <= listing + params.window_days + 7
    # The delisted asset is in while it trades, out once its last close is older than the fill limit.
    assert all(w > 0.0 for row, w in zip(rows, gone, strict=True) if row < delisting)
    assert all(w == 0.0 for row, w in zip(rows, gone, strict=True) if row > delisting + params.max_ffill_days)
    # Between the delisting and the next rebalance the stale holding is carried flat (return 0).
    after = (result.dates >= market.dates[delisting - 1]) & (result.dates <= market.dates[delisting + 1])
    held = result.weights[after, 2] * result.values[after]
    assert held.size == 3 and held[0] > 0 and np.allclose(held, held[0], rtol=1e-12)


def test_market_cap_fallback_is_reported_not_silent() -> None:
    market = make_market(5, awkward=False)
    params = PARAMS["weekly"]
    none = compute_index(market.dates, market.prices, params, assets=market.assets)
    assert none.market_cap_fallback
    assert none.market_cap_note is not None and all(name in none.market_cap_note for name in market.assets)
    assert all(r.decision.market_cap_fallback.all() for r in none.rebalances)
    assert all("equal weights stood in" in " ".join(r.notes) for r in none.rebalances)
    np.testing.assert_allclose(none.rebalances[-1].decision.market_cap, 1 / len(market.assets))

    real = compute_index(market.dates, market.prices, params, assets=market.assets, market_caps=market.caps)
    assert not real.market_cap_fallback and real.market_cap_note is None
    last = real.rebalances[-1]
    caps_before = market.caps[np.searchsorted(market.dates, np.datetime64(last.date)) - 1]
    np.testing.assert_allclose(last.decision.market_cap, caps_before / caps_before.sum(), rtol=1e-12)

    partial_caps = market.caps.copy()
    partial_caps[:, 0] = np.nan
    partial = compute_index(market.dates, market.prices, params, assets=market.assets, market_caps=partial_caps)
    assert partial.market_cap_fallback and partial.market_cap_note is not None
    assert "S0" in partial.market_cap_note and "S1" not in partial.market_cap_note
    assert partial.rebalances[-1].decision.market_cap[0] == pytest.approx(1 / len(market.assets))

    unused = params.model_copy(update={"market_cap_weight": 0.0, "risk_parity_weight": 0.6})
    assert not compute_index(market.dates, market.prices, unused, assets=market.assets).market_cap_fallback


def test_rebalance_costs_follow_turnover() -> None:
    market = make_market(6)
    costly = PARAMS["daily-capped-costly"]
    result = compute_index(market.dates, market.prices, costly, assets=market.assets, market_caps=market.caps)
    for rebalance in result.rebalances[1:]:
        assert rebalance.cost == pytest.approx(20 / 10_000 * rebalance.turnover, rel=1e-12)
        assert rebalance.value_after == pytest.approx(rebalance.value_before * (1 - rebalance.cost), rel=1e-12)
        assert rebalance.weights.max() <= 0.3 * (1 + 1e-9)
    free = compute_index(
        market.dates,
        market.prices,
        costly.model_copy(update={"transaction_cost_bps": 0.0}),
        assets=market.assets,
        market_caps=market.caps,
    )
    assert free.values[-1] > result.values[-1]


def test_scheduled_rebalance_without_eligible_assets_is_skipped() -> None:
    market = make_market(7, awkward=False)
    prices = market.prices.copy()
    prices[100:104, :] = np.nan  # a data outage longer than the forward-fill limit
    outage = Market(market.dates, prices, market.caps, market.assets)
    params = PARAMS["daily-capped-costly"]
    result = compute_index(outage.dates, outage.prices, params, assets=outage.assets, market_caps=outage.caps)
    assert len(result.skipped_rebalances) >= 2
    ref = reference_index(outage.day_list, outage.rows(outage.prices), params, outage.rows(outage.caps))
    _compare(result, ref)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prices": np.ones((3, 2))}, "shape"),
        ({"dates": np.array(["2024-01-03", "2024-01-02", "2024-01-04"], dtype="datetime64[D]")}, "increasing"),
        ({"assets": ("A", "A", "B")}, "distinct"),
    ],
)
def test_bad_inputs_are_refused(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "dates": np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]"),
        "prices": np.ones((3, 3)),
        "assets": ("A", "B", "C"),
    }
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        compute_index(arguments["dates"], arguments["prices"], StrategyParams(), assets=arguments["assets"])  # type: ignore[arg-type]


def test_holdings_earn_the_actual_jump_not_the_cleaned_one() -> None:
    """A +30 % day in a holding adds its full weight x 30 % to the index, though cleaning pulls it back."""
    market = make_market(5, awkward=False)
    prices = market.prices.copy()
    jump = next(t for t in range(120, 130) if market.day_list[t].weekday() == 2)  # a Wednesday: no rebalance
    prices[jump:, 2] *= 1.30
    params = PARAMS["weekly"]
    result = compute_index(market.dates, prices, params, assets=market.assets)
    row = int(np.searchsorted(result.dates, market.dates[jump]))
    assert not any(r.date == dt.date.fromisoformat(str(market.dates[jump])) for r in result.rebalances)
    held_before = result.weights[row - 1] * result.values[row - 1]
    actual = prices[jump] / prices[jump - 1]
    assert result.values[row] == pytest.approx(float((held_before * actual).sum()), rel=1e-12)
    # The signals still see the cleaned (pulled-back) return: the jump is an outlier to them.
    from autoindex.index.engine.cleaning import clean_prices

    assert clean_prices(prices, params).returns[jump, 2] < 0.2


def test_a_frozen_feed_no_longer_takes_a_third_of_the_index() -> None:
    market = make_market(6, awkward=False)
    prices = market.prices.copy()
    frozen_from = 100
    prices[frozen_from:, 0] = prices[frozen_from - 1, 0]  # the feed repeats its last close
    params = StrategyParams()
    result = compute_index(market.dates[:160], prices[:160], params, assets=market.assets)
    after = [r for r in result.rebalances if r.date > market.day_list[frozen_from + params.stale_feed_days]]
    assert after, "a rebalance after the feed froze"
    for rebalance in after:
        assert rebalance.weights[0] == 0.0 and rebalance.decision.stale.tolist()[0]
        assert any("stale price feed" in note and "S0" in note for note in rebalance.notes)
    # While the feed had moved recently, the asset was held as usual.
    before = [r for r in result.rebalances if r.date <= market.day_list[frozen_from]]
    assert before and all(r.weights[0] > 0.0 for r in before)


@pytest.mark.parametrize("name", ["weekly", "monthly-drift-absolute"])
def test_requested_rebalances_match_the_reference(name: str) -> None:
    market = make_market(7)
    params = PARAMS[name]
    days = market.day_list
    # A Saturday (executes on Monday, a scheduled date anyway for weekly), mid-week days, one in warm-up.
    requested = [days[5], days[40] + dt.timedelta(days=1), days[77], days[78], days[123]]
    result = compute_index(
        market.dates, market.prices, params, assets=market.assets, market_caps=market.caps, requested=requested
    )
    ref = reference_index(days, market.rows(market.prices), params, market.rows(market.caps), requested)
    _compare(result, ref)
    triggers = {r.date: r.trigger for r in result.rebalances}
    assert triggers.get(days[77]) in ("request", "schedule") and triggers.get(days[123]) in ("request", "schedule")
    assert "request" in triggers.values()


def test_drift_band_rebalances_record_their_trigger() -> None:
    market = make_market(8)
    params = PARAMS["monthly-drift-absolute"]
    result = compute_index(market.dates, market.prices, params, assets=market.assets, market_caps=market.caps)
    drifted = [r for r in result.rebalances if r.trigger == "drift"]
    assert drifted and any(r.trigger == "schedule" for r in result.rebalances)
    rows = {d: i for i, d in enumerate(market.day_list)}
    for rebalance in drifted:
        row = int(np.searchsorted(result.dates, np.datetime64(rebalance.date)))
        previous = [r for r in result.rebalances if r.date < rebalance.date][-1]
        # The band was broken at the close before, and the cooldown had passed.
        assert np.max(np.abs(result.weights[row - 1] - previous.weights)) > params.drift_band
        assert rows[rebalance.date] - rows[previous.date] >= params.drift_cooldown_days
