"""Splits of real provider data: read off the fake Twelve Data's closes over HTTP, stored per asset, and used to put
EDGAR share counts (filed before the split, never adjusted) on the prices' basis."""

from __future__ import annotations

import itertools
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.index import compute_inputs as inputs
from autoindex.market.edgar_client import EdgarClient
from autoindex.market.models import Asset, AssetSplit, DailyPrice, RefreshBatch, RefreshRun
from autoindex.market.providers.protocol import ProviderCapabilities
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex.market.refresh import request_refresh
from autoindex.market.share_counts import refresh_share_counts
from autoindex.settings import get_settings
from autoindex_dev.fake_edgar import FakeEdgar
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from sqlalchemy import select

from tests.conftest import clear_process_caches, scratch_database
from tests.integration.compute.seeding import reset_index, stored_values
from tests.pipeline_fixtures import RecordingDispatcher, clocked_fake, reset_market, weekdays_before

KEY = "splits-fake-key-51b0"
KEEP = {"AAPL", "MSFT", "SPX", "USD/EUR"}
AAPL_CIK = 320193
AGENT = "AutoIndex tests ops@example.com"
PRE_SPLIT_SHARES = 1_500_000_000  # as filed, before the 10-for-1 split


TODAY = datetime.now(UTC).date()
SPLIT_DAY = weekdays_before(TODAY, 3)


@pytest.fixture
def fake(market: pytest.MonkeyPatch) -> Iterator[tuple[FakeTwelveData, list[float]]]:
    """The fake on a clock the test can move (``offset[0]`` seconds added), AAPL splitting 10-for-1 on SPLIT_DAY."""
    with clocked_fake(market, KEY, splits=(f"AAPL:{SPLIT_DAY.isoformat()}:10",)) as (server, offset):
        yield server, offset


def _refresh(dispatcher: RecordingDispatcher, now: datetime | None = None) -> RefreshRun:
    ticket = request_refresh(
        uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None, now=now
    )
    assert dispatcher.drain(180)
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, ticket.run.id)
        assert run is not None and run.status == "succeeded", (run and run.errors, dispatcher.dead_letters)
        return run


def _planned_symbols(run: RefreshRun) -> int:
    from autoindex.market.models import RefreshBatch

    with UnitOfWork(read_only=True) as uow:
        return sum(
            len(b.symbols) for b in uow.session.scalars(select(RefreshBatch).where(RefreshBatch.run_id == run.id))
        )


def _capabilities() -> ProviderCapabilities:
    return TwelveDataProvider.from_settings(get_settings()).capabilities


def _splits() -> dict[tuple[str, date], tuple[int, int, str, datetime]]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.symbol, AssetSplit.effective_date, AssetSplit.shares_after, AssetSplit.shares_before,
                   AssetSplit.source, AssetSplit.ingested_at).join(Asset, Asset.id == AssetSplit.asset_id)
        )  # fmt: skip
        return {(s, d): (a, b, src, at) for s, d, a, b, src, at in rows}


def _closes(symbol: str) -> list[tuple[date, float]]:
    with UnitOfWork(read_only=True) as uow:
        asset = uow.session.scalars(select(Asset.id).where(Asset.symbol == symbol)).one()
        rows = uow.session.execute(
            select(DailyPrice.date, DailyPrice.close).where(DailyPrice.asset_id == asset).order_by(DailyPrice.date)
        )
        return [(day, float(close)) for day, close in rows]


def _time_series_symbols(fake: FakeTwelveData, since: int) -> Counter[str]:
    """Symbols asked for per ``adjust`` mode in the fake's /time_series requests from index ``since`` on."""
    asked: Counter[str] = Counter()
    for request in fake.requests[since:]:
        if request.path == "/time_series":
            asked[request.query["adjust"][0]] += len(request.query["symbol"][0].split(","))
    return asked


def test_a_split_between_two_refreshes_is_stored_with_its_date_and_ratio_at_the_planned_cost(
    fake: tuple[FakeTwelveData, list[float]], dispatcher: RecordingDispatcher
) -> None:
    server, offset = fake
    caps = _capabilities()
    # Given a backfill a week ago, before AAPL's split: its splits were read (one credit per stock, none for
    # SPX and the FX pair), and there was none to store
    offset[0] = -7 * 86_400.0
    first = _refresh(dispatcher, datetime.now(UTC) - timedelta(days=7))
    # (a backfill asks the payers AAPL and MSFT in both bases, SPX and USD/EUR split-adjusted only)
    assert _planned_symbols(first) == 4
    assert first.credits_used == 2 + 2 + 1 + 1 + caps.split_cost(2) == sum(_time_series_symbols(server, 0).values())
    assert _time_series_symbols(server, 0)["none"] == 2
    assert _splits() == {}
    before = _closes("AAPL")
    # When today's refresh sees AAPL's overlap ten times lower
    offset[0] = 0.0
    mark = len(server.requests)
    second = _refresh(dispatcher)
    # Then the revision names the split that explains it, and the split is stored with its date and ratio
    [revision] = second.revisions
    assert revision["symbol"] == "AAPL" and revision["factor"] == pytest.approx(10.0, rel=1e-6)
    assert revision["split"] == {"date": SPLIT_DAY.isoformat(), "ratio": 10.0}
    stored = _splits()
    assert {k: v[:3] for k, v in stored.items()} == {("AAPL", SPLIT_DAY): (10, 1, "twelvedata")}
    # And the run paid what planning says: one call per planned symbol (adjust=all for the payers), the
    # split-adjusted call AAPL's fallen overlap asked for, then its whole history in both bases and unadjusted
    planned = _planned_symbols(second)
    assert second.credits_used == planned + 1 + 2 + caps.split_cost(1)
    asked = _time_series_symbols(server, mark)
    assert sum(asked.values()) == second.credits_used and asked["none"] == 1
    # And the history is re-based: no stored daily move below -50 %, the old closes a tenth of what they were
    after = _closes("AAPL")
    assert min(b / a - 1 for (_, a), (_, b) in itertools.pairwise(after)) > -0.5
    by_day = dict(after)
    assert all(by_day[day] == pytest.approx(old / 10, rel=1e-6) for day, old in before)
    # And a refresh that finds nothing revised reads no splits and leaves the stored one as it was
    mark = len(server.requests)
    third = _refresh(dispatcher)
    assert third.revisions == [] and _time_series_symbols(server, mark)["none"] == 0
    assert _splits() == stored


def test_a_history_stored_before_splits_were_read_gets_them_on_the_next_refresh_once(
    fake: tuple[FakeTwelveData, list[float]], dispatcher: RecordingDispatcher
) -> None:
    from autoindex.market.models import RefreshBatch
    from sqlalchemy import delete, update

    server, _ = fake
    caps = _capabilities()
    # Given histories stored after AAPL's split by a version that read no splits (none stored, none marked read)
    _refresh(dispatcher)
    with UnitOfWork() as uow:
        uow.session.execute(delete(AssetSplit))
        uow.session.execute(update(Asset).values(splits_checked_through=None))
    # When the next refresh runs
    mark = len(server.requests)
    run = _refresh(dispatcher)
    # Then the stocks' whole histories were fetched once more, in backfill batches, and AAPL's split is stored
    with UnitOfWork(read_only=True) as uow:
        batches = list(uow.session.scalars(select(RefreshBatch).where(RefreshBatch.run_id == run.id)))
    assert sorted(s for b in batches if b.backfill for s in b.symbols) == ["AAPL", "MSFT"]
    assert {k: v[:2] for k, v in _splits().items()} == {("AAPL", SPLIT_DAY): (10, 1)}
    assert run.rows_written == 0 and run.revisions == []  # the same closes: nothing re-written
    assert run.credits_used == caps.cost(_planned_symbols(run)) + caps.split_cost(2)
    assert _time_series_symbols(server, mark)["none"] == 2
    # And the refresh after it is incremental again (no whole history, no unadjusted closes)
    mark = len(server.requests)
    again = _refresh(dispatcher)
    assert _time_series_symbols(server, mark)["none"] == 0 and again.credits_used == caps.cost(_planned_symbols(again))


def _nth_weekday(first: date, n: int) -> date:
    """The ``n``-th weekday counting ``first`` (a weekday) as the first: the fake has a bar on every one."""
    day = first
    while n > 1:
        day += timedelta(days=1)
        n -= day.weekday() < 5
    return day


def test_a_backfill_longer_than_one_call_finds_the_split_on_the_first_day_of_its_later_segment(
    fake: tuple[FakeTwelveData, list[float]], dispatcher: RecordingDispatcher, market: pytest.MonkeyPatch
) -> None:
    from autoindex.market.models import RefreshBatch

    server, _ = fake
    caps = _capabilities()
    # Given a history from 2005 (more than 5,000 sessions: two calls of at most 5,000 bars, the fake's page), and
    # AAPL splitting 10-for-1 on the 5,001st session (the day after the first call's last bar) and 3-for-2 on an
    # ordinary day inside the first call
    history_start = date(2005, 1, 3)
    boundary, ordinary = _nth_weekday(history_start, 5_001), _nth_weekday(history_start, 2_345)
    market.setenv("HISTORY_START", history_start.isoformat())
    reset_market(keep={"AAPL", "SPX"})  # SPX: the benchmark, which has no shares
    server.set_faults(splits=[f"AAPL:{boundary.isoformat()}:10", f"AAPL:{ordinary.isoformat()}:1.5"])
    clear_process_caches()
    # When the backfill runs
    run = _refresh(dispatcher)
    # Then it came in two backfill calls, the first ending on the eve of the boundary split
    with UnitOfWork(read_only=True) as uow:
        batches = list(uow.session.scalars(select(RefreshBatch).where(RefreshBatch.run_id == run.id)))
    pieces = sorted((b.start_date, b.end_date) for b in batches if b.backfill)
    assert len(pieces) == len(batches) == 2 and pieces[0] == (history_start, _nth_weekday(history_start, 5_000))
    # And both splits are stored with their dates and ratios: the one on the boundary too
    assert {k: v[:2] for k, v in _splits().items()} == {("AAPL", ordinary): (3, 2), ("AAPL", boundary): (10, 1)}
    # And the run paid, per segment, AAPL's two bases, SPX's one and AAPL's unadjusted closes, as the fake counted
    asked = _time_series_symbols(server, 0)
    assert run.credits_used == caps.cost(2) + 2 + caps.split_cost(2) == sum(asked.values()) and asked["none"] == 2
    # And the stored closes are on today's basis throughout: no daily move of a tenth or two-thirds
    closes = _closes("AAPL")
    assert closes[0][0] == history_start and len(closes) > 5_000
    assert min(b / a - 1 for (_, a), (_, b) in itertools.pairwise(closes)) > -0.3


def _aapl_facts(history_start: date) -> dict[str, Any]:
    """AAPL's cover-page share counts as EDGAR holds them: both filed before the split, on the old basis."""

    def fact(end: date, shares: int, n: int) -> dict[str, Any]:
        filed = end + timedelta(days=5)
        return {"end": end.isoformat(), "val": shares, "accn": f"0000320193-26-{n:06d}", "fy": end.year,
                "fp": "Q1", "form": "10-Q", "filed": filed.isoformat()}  # fmt: skip

    rows = [
        fact(history_start - timedelta(days=40), 1_490_000_000, 1),
        fact(SPLIT_DAY - timedelta(days=60), PRE_SPLIT_SHARES, 2),
    ]
    return {"cik": AAPL_CIK, "entityName": "Apple Inc.", "facts": {"dei": {"EntityCommonStockSharesOutstanding": {
        "label": "Entity Common Stock, Shares Outstanding", "units": {"shares": rows}}}}}  # fmt: skip


def _store_share_counts(edgar: FakeEdgar) -> None:
    outcome = refresh_share_counts(EdgarClient(base_url=edgar.url, user_agent=AGENT, backoff_s=0.0))
    assert outcome.with_counts == 2  # AAPL (the document above) and MSFT (the fake's own filings)


def _caps_of_aapl() -> tuple[list[date], np.ndarray, np.ndarray, list[int | None]]:
    """What the compute job feeds the engine for AAPL: its dates, closes, caps and the share count in force."""
    with UnitOfWork(read_only=True) as uow:
        universe = inputs.universe(uow.session)
        closes = inputs.load_closes(uow.session, [a.id for a in universe])
        caps = inputs.market_caps(uow.session, universe, closes.dates, closes.matrix, inputs.known_splits(uow.session))
    assert caps is not None
    j = [a.symbol for a in universe].index("AAPL")
    shares = [None if k is None else k.shares for k in caps.known["AAPL"]]
    return closes.dates, closes.matrix[:, j], caps.matrix[:, j], shares


def _clean_backfill(dispatcher: RecordingDispatcher, edgar: FakeEdgar) -> tuple[list[date], np.ndarray]:
    """The index computed from scratch in a fresh database, backfilled after the split (clean adjusted history)."""
    from autoindex.db.engine import write_engine
    from autoindex.migrations import migrate

    saved = os.environ["DATABASE_URL"]
    with scratch_database("autoindex_splits") as url:
        try:
            os.environ["DATABASE_URL"] = url
            clear_process_caches()
            migrate.upgrade(write_engine())
            reset_market(keep=KEEP)
            _store_share_counts(edgar)
            run = _refresh(dispatcher)
            assert run.revisions == []
            assert {k: v[:2] for k, v in _splits().items()} == {("AAPL", SPLIT_DAY): (10, 1)}  # read off the backfill
            return stored_values(1)
        finally:
            os.environ["DATABASE_URL"] = saved
            clear_process_caches()


def test_after_a_split_the_index_equals_a_clean_backfill_and_the_cap_stays_continuous(
    fake: tuple[FakeTwelveData, list[float]], dispatcher: RecordingDispatcher, market: pytest.MonkeyPatch
) -> None:
    _, offset = fake
    history_start = TODAY - timedelta(days=200)  # the default strategy looks back 60 sessions
    market.setenv("HISTORY_START", history_start.isoformat())
    clear_process_caches()
    reset_index()
    try:
        with FakeEdgar() as edgar:
            edgar.faults.documents[AAPL_CIK] = _aapl_facts(history_start)
            # Given EDGAR share counts filed before the split, and a refresh a week ago (before it)
            _store_share_counts(edgar)
            offset[0] = -7 * 86_400.0
            _refresh(dispatcher, datetime.now(UTC) - timedelta(days=7))
            # When today's refresh meets the split
            offset[0] = 0.0
            assert [r["symbol"] for r in _refresh(dispatcher).revisions] == ["AAPL"]
            dates, values = stored_values(1)
            # Then the market cap the compute uses is continuous across the split: the count filed before it is
            # on today's basis (ten times what was filed) on both sides, so the cap moves only with the close
            days, closes, caps, shares = _caps_of_aapl()
            i = days.index(SPLIT_DAY)
            assert shares[i - 1] == shares[i] == 10 * PRE_SPLIT_SHARES
            assert caps[i] / caps[i - 1] == pytest.approx(closes[i] / closes[i - 1], rel=1e-12)
            assert caps[i] / caps[i - 1] > 0.5  # not divided by 10
            # And the index equals one computed from scratch on clean adjusted history, to 1e-9
            clean_dates, clean = _clean_backfill(dispatcher, edgar)
        assert len(dates) > 40 and clean_dates == dates
        np.testing.assert_allclose(values, clean, rtol=1e-9, atol=0)
    finally:
        reset_index()


def _batch_kinds(run_id: uuid.UUID) -> dict[bool, RefreshBatch]:
    with UnitOfWork(read_only=True) as uow:
        return {b.backfill: b for b in uow.session.scalars(select(RefreshBatch).where(RefreshBatch.run_id == run_id))}


def test_a_whole_history_batch_that_cannot_finish_in_time_goes_back_to_the_queue_and_a_smaller_one_runs(
    fake: tuple[FakeTwelveData, list[float]], dispatcher: RecordingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from autoindex.clients import get_redis
    from autoindex.market.providers import factory
    from autoindex.market.providers.budget import RedisCreditBudget
    from autoindex_dev.envelopes import sqs_event, sqs_record
    from sqlalchemy import update

    from tests.integration.pipeline.handlers import LambdaClock, ingest_handler

    server, offset = fake
    server.set_faults(splits=[])
    # Given AAPL and MSFT stored a week ago, and NVDA and AMZN added since: today's run is one incremental batch
    # of two payers (at most two calls of two credits) and one whole-history batch of two stocks (three calls)
    reset_market(keep={"AAPL", "MSFT"})
    offset[0] = -7 * 86_400.0
    _refresh(dispatcher, datetime.now(UTC) - timedelta(days=7))
    offset[0] = 0.0
    with UnitOfWork() as uow:
        uow.session.execute(update(Asset).where(Asset.symbol.in_(["NVDA", "AMZN"])).values(is_active=True))
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda queue, payloads: queued.extend(payloads))
    monkeypatch.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    kinds = _batch_kinds(ticket.run.id)
    assert sorted(kinds) == [False, True] and len(queued) == 2
    by_seq = {p["seq"]: sqs_record(json.dumps(p), queue_name="ingest") for p in queued}
    records = [by_seq[kinds[False].seq], by_seq[kinds[True].seq]]
    # And the shared budget, read on a scripted clock 18 s into its minute, has 4 credits of room left: enough for
    # the incremental batch now, while the whole history's third call waits 42 s for the next minute
    factory.get_provider()  # built first: its calls reserve in the budget on the real clock
    settings, redis = get_settings(), get_redis()
    assert redis is not None
    now_ms = 1_800_000_000_000 // 60_000 * 60_000 + 18_000
    scripted = RedisCreditBudget(
        redis,
        minute_limit=settings.provider_credits_per_minute,
        day_limit=100_000,
        key_prefix=f"{settings.provider_key_prefix}:scripted",
        clock_ms=lambda: now_ms,
    )
    assert scripted.reserve(settings.provider_credits_per_minute - 4).granted
    with pytest.MonkeyPatch.context() as scoped:  # scoped: the fixtures clear the real, cached budget after
        scoped.setattr(factory, "get_credit_budget", lambda: scripted)
        # When both batches come with 60 s left (a call at its worst, 38 s, and the store's 20 s fit; 42 s more not)
        result = ingest_handler()(sqs_event(records), LambdaClock([60_000, 60_000]))
        # Then the incremental batch ran and the whole history went back to the queue untouched
        assert result == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
        batches = _batch_kinds(ticket.run.id)
        assert batches[False].status == "done" and (batches[True].status, batches[True].attempts) == ("pending", 0)
        # And its redelivery with the wait's 42 s more left runs it, its splits read
        assert ingest_handler()(sqs_event(records[1:]), LambdaClock([100_000])) == {"batchItemFailures": []}
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, ticket.run.id)
        assert run is not None and run.status == "succeeded"
        read = uow.session.scalars(select(Asset.symbol).where(Asset.splits_checked_through.is_not(None)))
        assert {"NVDA", "AMZN"} <= set(read)
