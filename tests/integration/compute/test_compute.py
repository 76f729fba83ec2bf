"""The compute job on real PostgreSQL: numbers equal the engine's, extension equals a full recompute,
duplicate and concurrent triggers do no duplicate work, a strategy change recomputes a new version."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.events.ledger import ProcessedEvent
from autoindex.identity.principal import Principal, RequestMeta, scopes_for_role
from autoindex.index import read_cache, strategy
from autoindex.index.compute import ComputeOutcome, run_compute
from autoindex.index.engine.index import compute_index
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.models import ComputeRun, IndexAllocation, IndexEngineState, IndexTotalValue
from autoindex.index.schemas import StrategyChange
from autoindex.market.models import Asset, AssetDividend, AssetShareCount, DailyPrice
from autoindex.market.share_counts import DemoCompanyFacts, refresh_share_counts
from autoindex_dev.envelopes import eventbridge_event
from autoindex_dev.lambda_events import LocalContext
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from tests.integration.compute.seeding import (
    UNIVERSE,
    closes_matrix,
    latest_run,
    publication,
    refresh,
    seeded_market,
    stored_values,
)
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher
from tests.unit.engine.total_return_reference import reference_total_return


@pytest.fixture(scope="module")
def seeded(migrated: Engine) -> Iterator[RecordingDispatcher]:
    with seeded_market() as dispatcher:
        yield dispatcher


@pytest.fixture(autouse=True)
def settled(seeded: RecordingDispatcher) -> None:
    """What an earlier test published (IndexComputed -> cache warming) is delivered before this test starts.

    The dispatcher delivers in the background: on a loaded machine a warming from the test before ran into
    the next one and published a version while that test watched who publishes (seen once in a loaded run).
    """
    assert seeded.drain(120), "the local dispatcher did not settle"


def _engine_values(params: StrategyParams | None = None) -> tuple[list[date], np.ndarray]:
    dates, matrix = closes_matrix()
    result = compute_index(dates, matrix, params or StrategyParams(), assets=UNIVERSE)
    return [d.item() for d in result.dates], result.values


def _drop_state() -> None:
    with UnitOfWork() as uow:
        uow.session.execute(delete(IndexEngineState))


def test_compute_after_a_refresh_equals_the_engine(seeded: RecordingDispatcher) -> None:
    kinds = [kind for kind, _ in seeded.published]
    assert kinds[:2] == ["PricesRefreshed", "IndexComputed"]
    pub = publication()
    assert pub.strategy_version == 1 and pub.data_version > 0
    dates, values = stored_values(1)
    expected_dates, expected = _engine_values()
    assert dates == expected_dates and len(dates) > 40
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=0)
    assert values[0] == 100.0
    with UnitOfWork(read_only=True) as uow:  # allocations: one per rebalance, weights summing to 1
        sums = uow.session.execute(
            select(IndexAllocation.date, func.sum(IndexAllocation.weight)).group_by(IndexAllocation.date)
        ).all()
    assert sums and all(abs(float(total) - 1.0) < 1e-12 for _, total in sums)


def test_new_days_extend_the_stored_state_and_equal_a_full_recompute(seeded: RecordingDispatcher) -> None:
    last = stored_values(1)[0][-1]
    cutoff = last - timedelta(days=7)
    with UnitOfWork() as uow:  # pretend the last week has not been fetched yet, and recompute without it
        uow.session.execute(delete(DailyPrice).where(DailyPrice.date > cutoff))
        uow.session.execute(update(Asset).values(prices_checked_through=None))
        uow.session.execute(delete(IndexEngineState))
    assert run_compute(uow=UnitOfWork(), trigger="cli").mode == "full"
    assert stored_values(1)[0][-1] <= cutoff
    refresh(seeded)  # the missing week arrives; PricesRefreshed runs the job
    run = latest_run()
    assert (run.trigger, run.status, run.mode) == ("PricesRefreshed", "succeeded", "incremental")
    assert 3 <= run.days_added <= 5
    dates, values = stored_values(1)
    expected_dates, expected = _engine_values()
    assert dates == expected_dates and dates[-1] == last
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=0)


def test_a_duplicate_event_does_nothing(seeded: RecordingDispatcher) -> None:
    _drop_state()  # so the first delivery has real work to do
    handler = function_handler("compute")
    event = eventbridge_event("PricesRefreshed", {"run_id": "r", "rows_written": 1}, source="autoindex")
    before = publication().data_version
    first = handler(event, LocalContext(function_name="compute"))
    assert first["status"] == "succeeded" and first["data_version"] == before + 1
    again = handler(event, LocalContext(function_name="compute"))
    assert again["status"] == "duplicate"
    assert publication().data_version == before + 1
    with UnitOfWork(read_only=True) as uow:
        assert uow.session.get(ProcessedEvent, ("compute", event["id"])) is not None


def test_concurrent_triggers_compute_once(seeded: RecordingDispatcher) -> None:
    _drop_state()
    before = publication().data_version
    outcomes: list[ComputeOutcome] = []
    barrier = threading.Barrier(2)

    def trigger() -> None:
        barrier.wait()
        outcomes.append(run_compute(uow=UnitOfWork(), trigger="PricesRefreshed", event_id=str(uuid.uuid4())))

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(o.status for o in outcomes) == ["noop", "succeeded"]
    assert publication().data_version == before + 1


def test_a_strategy_change_computes_a_new_version(seeded: RecordingDispatcher) -> None:
    params = StrategyParams(
        momentum_weight=0.0, market_cap_weight=0.5, risk_parity_weight=0.5, rebalance_frequency="monthly"
    )
    admin = Principal(
        kind="user", user_id=uuid.uuid4(), email="a@example.com", role="admin", scopes=scopes_for_role("admin")
    )
    accepted = strategy.update_config(
        uow=UnitOfWork(),
        principal=admin,
        change=StrategyChange(params=params, reason="monthly, no momentum"),
        meta=RequestMeta(request_id="t", source_ip=None),
    )
    assert seeded.drain(60)
    new = accepted.version
    assert new > 1
    run = latest_run()
    assert (run.id, run.status, run.mode, run.strategy_version) == (accepted.compute_run_id, "succeeded", "full", new)
    assert publication().strategy_version == new
    dates, values = stored_values(new)
    expected_dates, expected = _engine_values(params)
    assert dates == expected_dates
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=0)
    assert len(stored_values(1)[0]) == len(dates)  # version 1's numbers are kept
    assert not np.allclose(stored_values(1)[1], values)


def test_finished_at_is_the_end_of_the_run(seeded: RecordingDispatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    _drop_state()
    from autoindex.index import compute, compute_metrics

    stamps: list[datetime] = []
    real_write = compute_metrics.write_metrics

    def write_metrics_late(*args: Any, **kwargs: Any) -> date | None:
        stamps.append(datetime.now(UTC))  # the run is past its engine work by now
        return real_write(*args, **kwargs)

    monkeypatch.setattr(compute, "write_metrics", write_metrics_late)
    outcome = run_compute(uow=UnitOfWork(), trigger="cli")
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(ComputeRun, outcome.run_id)
        assert run is not None
    assert run.status == "succeeded" and run.finished_at is not None
    assert run.finished_at >= run.created_at
    assert run.finished_at >= stamps[0]


def test_a_run_is_succeeded_only_once_readers_serve_its_version(
    seeded: RecordingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    _drop_state()
    seen_at_publish: list[str] = []
    real_publish = read_cache.publish_version

    def publish_and_look(token: str) -> None:
        # What a client polling the run sees at the moment readers are moved.
        with UnitOfWork(read_only=True) as uow:
            run = uow.session.scalars(select(ComputeRun).order_by(ComputeRun.created_at.desc())).first()
            assert run is not None
            seen_at_publish.append(run.status)
        real_publish(token)

    monkeypatch.setattr(read_cache, "publish_version", publish_and_look)
    outcome = run_compute(uow=UnitOfWork(), trigger="cli")
    assert outcome.status == "succeeded" and outcome.version_token is not None
    assert seen_at_publish == ["publishing"]  # not yet "succeeded" while readers still had the old version
    run = latest_run()
    assert run.status == "succeeded"
    # A read right after "succeeded" serves the new version.
    assert read_cache.state().current_token == outcome.version_token


def test_the_served_index_rebuilds_from_raw_closes_and_target_weights(seeded: RecordingDispatcher) -> None:
    """Holdings earn the assets' actual returns: drift on the stored closes, trade to the stored targets, pay costs."""
    _drop_state()
    assert run_compute(uow=UnitOfWork(), trigger="cli").status == "succeeded"
    dates, values = stored_values(1)
    all_dates, closes = closes_matrix()
    with UnitOfWork(read_only=True) as uow:
        ids = {a.id: a.symbol for a in uow.session.scalars(select(Asset).where(Asset.symbol.in_(UNIVERSE)))}
        rows = uow.session.execute(
            select(IndexAllocation.date, IndexAllocation.asset_id, IndexAllocation.weight).where(
                IndexAllocation.strategy_version == 1
            )
        ).all()
    targets: dict[date, np.ndarray] = {}
    for day, asset_id, weight in rows:
        targets.setdefault(day, np.zeros(len(UNIVERSE)))[UNIVERSE.index(ids[asset_id])] = float(weight)
    cost_rate = StrategyParams().transaction_cost_bps / 10_000
    start = all_dates.index(dates[0])
    holdings, last = 100.0 * targets[dates[0]], closes[start].copy()
    rebuilt = [100.0]
    for day, row in zip(all_dates[start + 1 :], closes[start + 1 :], strict=True):
        valid = np.isfinite(row) & (row > 0)
        holdings = holdings * np.where(valid, row / last, 1.0)
        last = np.where(valid, row, last)
        value = float(holdings.sum())
        if day in targets:
            value *= 1 - cost_rate * float(np.abs(targets[day] - holdings / value).sum())
            holdings = value * targets[day]
        rebuilt.append(value)
    assert len(targets) > 5
    np.testing.assert_allclose(values, rebuilt, rtol=1e-9, atol=0)


def _set_dividends(paid: dict[tuple[str, date], str]) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(delete(AssetDividend))
        ids = {a.symbol: a.id for a in uow.session.scalars(select(Asset).where(Asset.symbol.in_(UNIVERSE)))}
        for (symbol, day), amount in paid.items():
            uow.session.add(AssetDividend(asset_id=ids[symbol], ex_date=day, amount=Decimal(amount), source="demo"))


def _stored_total(version: int) -> tuple[list[date], np.ndarray]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(IndexTotalValue.date, IndexTotalValue.value)
            .where(IndexTotalValue.strategy_version == version)
            .order_by(IndexTotalValue.date)
        ).all()
    return [d for d, _ in rows], np.array([float(v) for _, v in rows])


def test_total_return_is_stored_beside_price_and_equals_a_share_counting_loop(seeded: RecordingDispatcher) -> None:
    dates, matrix = closes_matrix()
    paid = {("AAPL", dates[-30]): "1.25", ("AAPL", dates[-8]): "0.75", ("MSFT", dates[-20]): "2.5"}
    _set_dividends(paid)
    try:
        # Dividends written after the last compute, on dates it covered: a full recompute, not an extension.
        outcome = run_compute(uow=UnitOfWork(), trigger="cli")
        assert outcome.mode == "full" and outcome.strategy_version is not None
        total_dates, total = _stored_total(outcome.strategy_version)
        price_dates, price = stored_values(outcome.strategy_version)
        assert total_dates == price_dates
        with UnitOfWork(read_only=True) as uow:
            params = StrategyParams.model_validate(strategy.active_version(uow.session).params)
        index = compute_index(dates, matrix, params, assets=UNIVERSE)
        cash = [[float(paid.get((s, d), "0")) for s in UNIVERSE] for d in dates]
        expected = reference_total_return(dates, matrix.tolist(), cash, index, params.transaction_cost_bps)
        assert max(abs(v / expected[d] - 1) for d, v in zip(total_dates, total, strict=True)) < 1e-9
        assert total[-1] > price[-1] and total[0] == price[0] == 100.0
    finally:
        _set_dividends({})
        run_compute(uow=UnitOfWork(), trigger="cli", full=True)


def test_a_new_dividend_extends_the_total_return_index_like_a_full_recompute(seeded: RecordingDispatcher) -> None:
    dates, _ = closes_matrix()
    with UnitOfWork() as uow:  # the newest day arrives with a dividend on it
        removed = uow.session.execute(
            delete(DailyPrice).where(DailyPrice.date == dates[-1]).returning(DailyPrice.__table__)
        ).all()
    run_compute(uow=UnitOfWork(), trigger="cli", full=True)
    try:
        with UnitOfWork() as uow:
            uow.session.execute(insert(DailyPrice), [dict(r._mapping) for r in removed])
            aapl = uow.session.scalar(select(Asset.id).where(Asset.symbol == "AAPL"))
            uow.session.add(AssetDividend(asset_id=aapl, ex_date=dates[-1], amount=Decimal("3"), source="demo"))
        outcome = run_compute(uow=UnitOfWork(), trigger="cli")
        assert outcome.mode == "incremental" and outcome.strategy_version is not None
        extended = _stored_total(outcome.strategy_version)
        run_compute(uow=UnitOfWork(), trigger="cli", full=True)
        full = _stored_total(outcome.strategy_version)
        assert extended[0] == full[0]
        np.testing.assert_allclose(extended[1], full[1], rtol=1e-12, atol=0)
    finally:
        _set_dividends({})
        run_compute(uow=UnitOfWork(), trigger="cli", full=True)


def _independent_caps(dates: list[date], closes: np.ndarray) -> np.ndarray:
    """Shares known on each date by the reference's rule (filed on or before it, latest end), times the close."""
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.symbol, AssetShareCount.end_date, AssetShareCount.filed, AssetShareCount.shares).join(
                Asset, Asset.id == AssetShareCount.asset_id
            )
        ).all()
    caps = np.full(closes.shape, np.nan)
    for j, symbol in enumerate(UNIVERSE):
        mine = [(end, filed, shares) for s, end, filed, shares in rows if s == symbol]
        for i, day in enumerate(dates):
            public = [(end, filed, shares) for end, filed, shares in mine if filed <= day]
            if public:
                caps[i, j] = max(public)[2] * closes[i, j]
    return caps


def test_share_counts_make_the_market_cap_leg_real_and_say_where_they_came_from(seeded: RecordingDispatcher) -> None:
    refresh_share_counts(DemoCompanyFacts(datetime.now(UTC).date()))
    try:
        outcome = run_compute(uow=UnitOfWork(), trigger="cli")
        assert outcome.mode == "full" and outcome.strategy_version is not None  # new filings: caps recomputed
        dates, closes = closes_matrix()
        with UnitOfWork(read_only=True) as uow:
            params = StrategyParams.model_validate(strategy.active_version(uow.session).params)
            run = uow.session.get(ComputeRun, outcome.run_id)
            assert run is not None and run.disclosure is not None
            disclosed = run.disclosure
        expected = compute_index(dates, closes, params, assets=UNIVERSE, market_caps=_independent_caps(dates, closes))
        stored_dates, stored = stored_values(outcome.strategy_version)
        assert stored_dates == [d.item() for d in expected.dates]
        np.testing.assert_allclose(stored, expected.values, rtol=1e-9, atol=0)
        assert disclosed["market_cap_leg"] == "market_caps" and disclosed["market_cap_note"] is None
        sources = disclosed["cap_sources"]
        assert {s["source"] for s in sources.values()} == {"edgar"}
        assert all(date.fromisoformat(s["filed"]) < expected.rebalances[-1].date for s in sources.values())
    finally:
        with UnitOfWork() as uow:
            uow.session.execute(delete(AssetShareCount))
        run_compute(uow=UnitOfWork(), trigger="cli", full=True)
