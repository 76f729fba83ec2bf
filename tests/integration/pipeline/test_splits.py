"""Splits of real provider data: read off the fake Twelve Data's closes over HTTP, stored per asset, and used to put
EDGAR share counts (filed before the split, never adjusted) on the prices' basis."""

from __future__ import annotations

import itertools
import os
import time
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
from autoindex.market.models import Asset, AssetSplit, DailyPrice, RefreshRun
from autoindex.market.providers.protocol import ProviderCapabilities
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex.market.refresh import request_refresh
from autoindex.market.share_counts import refresh_share_counts
from autoindex.settings import get_settings
from autoindex_dev.fake_edgar import FakeEdgar
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_URL, clear_process_caches
from tests.integration.compute.seeding import reset_index, stored_values
from tests.pipeline_fixtures import RecordingDispatcher, reset_market

KEY = "splits-fake-key-51b0"
KEEP = {"AAPL", "MSFT", "SPX", "USD/EUR"}
AAPL_CIK = 320193
AGENT = "AutoIndex tests ops@example.com"
PRE_SPLIT_SHARES = 1_500_000_000  # as filed, before the 10-for-1 split


def _weekdays_before(day: date, count: int) -> date:
    while count:
        day -= timedelta(days=1)
        count -= day.weekday() < 5
    return day


TODAY = datetime.now(UTC).date()
SPLIT_DAY = _weekdays_before(TODAY, 3)


@pytest.fixture
def fake(market: pytest.MonkeyPatch) -> Iterator[tuple[FakeTwelveData, list[float]]]:
    """The fake on a clock the test can move (``offset[0]`` seconds added), AAPL splitting 10-for-1 on SPLIT_DAY."""
    offset = [0.0]
    with FakeTwelveData(api_key=KEY, credits_per_minute=800, clock=lambda: time.time() + offset[0]) as server:
        market.setenv("MARKET_DATA_PROVIDER", "twelvedata")
        market.setenv("TWELVEDATA_BASE_URL", server.url)
        market.setenv("TWELVEDATA_API_KEY", KEY)
        market.setenv("PROVIDER_CREDITS_PER_MINUTE", "800")
        market.setenv("PROVIDER_KEY_PREFIX", f"prov-{uuid.uuid4().hex[:8]}")
        server.set_faults(splits=[f"AAPL:{SPLIT_DAY.isoformat()}:10"])
        clear_process_caches()
        yield server, offset
    clear_process_caches()


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


def _fresh_database() -> str:
    name = f"autoindex_splits_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _clean_backfill(dispatcher: RecordingDispatcher, edgar: FakeEdgar) -> tuple[list[date], np.ndarray]:
    """The index computed from scratch in a fresh database, backfilled after the split (clean adjusted history)."""
    from autoindex.db.engine import write_engine
    from autoindex.migrations import migrate

    saved = os.environ["DATABASE_URL"]
    url = _fresh_database()
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
        _drop_database(url)


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
