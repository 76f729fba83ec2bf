"""The pipeline with the real Twelve Data client over HTTP against the local fake (127.0.0.1 only)."""

from __future__ import annotations

import itertools
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.ingest import ingest_batch
from autoindex.market.models import Asset, AssetDividend, DailyPrice, RefreshRun
from autoindex.market.providers.budget import RedisCreditBudget
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex.market.refresh import request_refresh
from autoindex.settings import get_settings
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from redis import Redis
from sqlalchemy import select, update

from tests.conftest import REDIS_URL, clear_process_caches
from tests.pipeline_fixtures import RecordingDispatcher, asked_adjust, clocked_fake, credits_charged, weekdays_before

KEY = "pipeline-fake-key-7c1d"


@pytest.fixture
def fake(market: pytest.MonkeyPatch) -> Iterator[FakeTwelveData]:
    with FakeTwelveData(credits_per_minute=8, credits_per_day=800, api_key=KEY, window_s=2.0) as server:
        market.setenv("MARKET_DATA_PROVIDER", "twelvedata")
        market.setenv("TWELVEDATA_BASE_URL", server.url)
        market.setenv("TWELVEDATA_API_KEY", KEY)
        market.setenv("TWELVEDATA_RETRY_BACKOFF_S", "0.01")
        market.setenv("PROVIDER_KEY_PREFIX", f"prov-{uuid.uuid4().hex[:8]}")
        market.setenv("DB_POOL_SIZE", "5")
        # One /time_series call per batch, as these tests count credits; the dividend tests turn "derived" on.
        market.setenv("TWELVEDATA_DIVIDENDS", "off")
        clear_process_caches()
        yield server
    clear_process_caches()


def _run(run_id: uuid.UUID) -> RefreshRun:
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, run_id)
        assert run is not None
        return run


def test_bad_provider_values_are_reported_and_never_stored(
    fake: FakeTwelveData, dispatcher: RecordingDispatcher
) -> None:
    # Given the provider sends two impossible AAPL bars inside the refreshed range
    probe = TwelveDataProvider.from_settings(get_settings()).daily_bars(["AAPL"], date(2000, 1, 1), date.today())
    days = [bar.date for bar in probe["AAPL"].bars[-10:-7]]  # type: ignore[union-attr]
    fake.set_faults(bad_bars={"AAPL": {days[0].isoformat(): "high_below_low", days[1].isoformat(): "non_positive"}})
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(120)
    run = _run(ticket.run.id)
    # Then the run is partial with the reasons, and neither bar is in the table while its neighbours are
    assert run.status == "partial" and run.rows_rejected == 2
    assert "2 rows rejected" in run.errors["AAPL"]
    with UnitOfWork(read_only=True) as uow:
        aapl = uow.session.scalars(select(Asset.id).where(Asset.symbol == "AAPL")).one()
        stored = set(uow.session.scalars(select(DailyPrice.date).where(DailyPrice.asset_id == aapl)))
    assert days[0] not in stored and days[1] not in stored and days[2] in stored
    assert fake.status_count(429) == 0


SIXTEEN = {"AAPL", "MSFT", "GOOGL", "AMZN", "META", "TSLA", "NVDA", "SPY", "GLD", "SLV", "USO", "TLT", "IEF", "SPX",
           "USD/EUR", "USD/GBP"}  # fmt: skip


def test_four_concurrent_ingests_use_the_whole_budget_and_never_get_a_429(
    fake: FakeTwelveData, market: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 16 symbols in batches of 2 (16 credits) and a plan of 8 credits per 2-second "minute"
    with UnitOfWork() as uow:
        uow.session.execute(update(Asset).values(is_active=Asset.symbol.in_(SIXTEEN)))
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda q, payloads: queued.extend(payloads))
    monkeypatch.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert len(queued) == 8
    work: queue.Queue[dict[str, Any]] = queue.Queue()
    for message in queued:
        work.put(message)
    prefix = f"pipe-{uuid.uuid4().hex[:8]}"
    errors: list[BaseException] = []

    def make_provider() -> TwelveDataProvider:
        budget = RedisCreditBudget(
            Redis.from_url(REDIS_URL), minute_limit=8, day_limit=800, key_prefix=prefix, window_ms=2000, guard_ms=300
        )
        return TwelveDataProvider.from_settings(get_settings(), budget=budget)

    def worker(provider: TwelveDataProvider) -> None:
        while True:
            try:
                message = work.get_nowait()
            except queue.Empty:
                return
            try:
                ingest_batch(run_id=uuid.UUID(message["run_id"]), seq=message["seq"], provider=provider,
                             final_attempt=False)  # fmt: skip
            except BaseException as exc:
                errors.append(exc)

    # When four ingests run at once, starting just after a window turns (a start inside the last
    # guard_ms of a window would rightly push some first calls into the next one and spread 16
    # credits over three windows, which says nothing about the budget)
    providers = [make_provider() for _ in range(4)]
    threads = [threading.Thread(target=worker, args=(provider,)) for provider in providers]
    time.sleep(2.0 - time.time() % 2.0 + 0.05)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then every batch landed, the provider never answered 429, and each window's credits were all spent:
    # 16 for the bars, and 13 for the unadjusted closes the backfill reads splits from (stocks and ETFs;
    # SPX and the FX pairs do not split)
    assert errors == []
    run = _run(ticket.run.id)
    assert (run.status, run.batches_done, run.credits_used) == ("succeeded", 8, 16 + 13)
    assert fake.status_count(429) == 0
    per_window: Counter[int] = Counter()
    for request in fake.requests:
        if request.path == "/time_series":
            per_window[int(request.at // 2.0)] += len(request.query["symbol"][0].split(","))
    assert sum(per_window.values()) == 29 and max(per_window.values()) <= 8
    assert sorted(per_window.values(), reverse=True)[:2] == [8, 8]


def _closes(symbol: str) -> list[tuple[date, float]]:
    with UnitOfWork(read_only=True) as uow:
        asset = uow.session.scalars(select(Asset.id).where(Asset.symbol == symbol)).one()
        rows = uow.session.execute(
            select(DailyPrice.date, DailyPrice.close).where(DailyPrice.asset_id == asset).order_by(DailyPrice.date)
        )
        return [(day, float(close)) for day, close in rows]


@pytest.fixture
def shifting_fake(market: pytest.MonkeyPatch) -> Iterator[tuple[FakeTwelveData, list[float]]]:
    """The fake on a clock the test can move: ``offset[0]`` seconds added to the real time."""
    with clocked_fake(market, KEY) as (server, offset):
        yield server, offset


def test_a_split_between_two_refreshes_rebases_the_history_instead_of_a_fake_loss(
    shifting_fake: tuple[FakeTwelveData, list[float]], dispatcher: RecordingDispatcher
) -> None:
    fake, offset = shifting_fake
    today = datetime.now(UTC).date()
    split_day = weekdays_before(today, 3)
    fake.set_faults(splits=[f"AAPL:{split_day.isoformat()}:10"])
    # Given a refresh a week ago, before the 10-for-1 split: AAPL traded (and is stored) at ten times its later price
    offset[0] = -7 * 86_400.0
    week_ago = datetime.now(UTC) - timedelta(days=7)
    first = request_refresh(
        uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None, now=week_ago
    )
    assert dispatcher.drain(120) and _run(first.run.id).status == "succeeded"
    before = _closes("AAPL")
    assert before and before[-1][0] < split_day
    msft_before = _closes("MSFT")
    # When today's refresh asks again for the newest stored bars and sees them ten times lower
    offset[0] = 0.0
    asked_before = len(fake.requests)
    second = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(120)
    run = _run(second.run.id)
    # Then AAPL's whole history was re-fetched and replaced, and the revision is on the run
    assert run.status == "succeeded", (run.errors, dispatcher.dead_letters, _batches(second.run.id))
    assert [r["symbol"] for r in run.revisions] == ["AAPL"]
    (revision,) = run.revisions
    assert revision["factor"] == pytest.approx(10.0, rel=1e-6) and revision["first_changed"] == before[0][0].isoformat()
    # And the run's credits are what the fake counted: one call per planned symbol (adjust=all for the payers,
    # adjust=splits for SPX and USD/EUR), the split-adjusted call AAPL's fallen overlap asked for, and the
    # re-fetch of its history in both bases and unadjusted, the closes its splits are read from
    # (tests/integration/pipeline/test_splits.py)
    planned = sum(len(b) for b in _batch_symbols(second.run.id))
    assert run.credits_used == planned + 1 + 2 + 1 == credits_charged(fake.requests[asked_before:])
    assert asked_adjust(fake.requests[asked_before:])["AAPL"] == ["all", "splits", "all", "splits", "none"]
    after = _closes("AAPL")
    by_day = dict(after)
    for day, old in before:
        assert by_day[day] == pytest.approx(old / 10, rel=1e-6)  # re-based, not a -90 % day
    moves = [b / a - 1 for (_, a), (_, b) in itertools.pairwise(after)]
    assert min(moves) > -0.5
    # And a symbol without a corporate action kept its rows untouched (no re-write, no revision)
    assert _closes("MSFT")[: len(msft_before)] == msft_before
    # And the next refresh finds nothing revised
    third = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(120) and _run(third.run.id).revisions == []


def _batches(run_id: uuid.UUID) -> list[tuple[str, int, str | None]]:
    from autoindex.market.models import RefreshBatch

    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.scalars(select(RefreshBatch).where(RefreshBatch.run_id == run_id))
        return [(b.status, b.attempts, b.error) for b in rows]


def _batch_symbols(run_id: uuid.UUID) -> list[list[str]]:
    from autoindex.market.models import RefreshBatch

    with UnitOfWork(read_only=True) as uow:
        return [b.symbols for b in uow.session.scalars(select(RefreshBatch).where(RefreshBatch.run_id == run_id))]


def _dividends() -> dict[tuple[str, date], tuple[Decimal, datetime]]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.symbol, AssetDividend.ex_date, AssetDividend.amount, AssetDividend.ingested_at).join(
                Asset, Asset.id == AssetDividend.asset_id
            )
        )
        return {(symbol, day): (amount, at) for symbol, day, amount, at in rows}


def test_dividends_are_read_off_the_adjusted_closes_and_written_once(
    shifting_fake: tuple[FakeTwelveData, list[float]], dispatcher: RecordingDispatcher
) -> None:
    fake, offset = shifting_fake
    today = datetime.now(UTC).date()
    early, late = weekdays_before(today, 12), weekdays_before(today, 2)
    fake.set_faults(dividends=[f"AAPL:{early.isoformat()}:0.24", f"MSFT:{late.isoformat()}:0.83"])
    # Given a refresh a week ago: AAPL's dividend had gone ex, MSFT's had not
    offset[0] = -7 * 86_400.0
    week_ago = datetime.now(UTC) - timedelta(days=7)
    first = request_refresh(
        uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None, now=week_ago
    )
    assert dispatcher.drain(120)
    run = _run(first.run.id)
    # Then the cash per share is what was paid, and the first fill read it off two bases of closes for the payers
    # only: SPX and USD/EUR pay nothing and were asked once
    assert run.status == "succeeded" and run.dividends_written == 1
    assert {k: v[0] for k, v in _dividends().items()} == {("AAPL", early): Decimal("0.2400")}
    # (and, this being their backfill, one more for each stock's unadjusted closes, the splits' source)
    assert asked_adjust(fake.requests) == {s: ["all", "splits", "none"] for s in ("AAPL", "MSFT")} | {
        s: ["splits"] for s in ("SPX", "USD/EUR")
    }
    assert run.credits_used == 3 + 3 + 1 + 1 == credits_charged(fake.requests)
    stored = _dividends()
    # When today's refresh re-reads the overlap and finds MSFT's dividend (a week of new bars: its ex-date is
    # not known from one call, so MSFT is asked with adjust=splits too; AAPL is read off one call)
    offset[0] = 0.0
    asked_before = len(fake.requests)
    second = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(120)
    # Then only the new one is written; AAPL's is not stamped again (that would look like a revision)
    assert _run(second.run.id).dividends_written == 1
    assert _run(second.run.id).credits_used == 4 + 1 == credits_charged(fake.requests[asked_before:])
    now_stored = _dividends()
    assert now_stored[("MSFT", late)][0] == Decimal("0.8300")
    assert now_stored[("AAPL", early)] == stored[("AAPL", early)]
