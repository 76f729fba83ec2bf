"""The demo market through the real refresh path: its weekly MSFT revision is caught and recorded like a real one."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.calendar import is_trading_day
from autoindex.market.ingest import ingest_batch
from autoindex.market.models import Asset, AssetDividend, DailyPrice, RefreshRun
from autoindex.market.providers.demo import DemoProvider
from autoindex.market.refresh import request_refresh
from sqlalchemy import func, select


def _friday_with_a_session_after(today: date) -> date:
    """A Friday three weeks back or more whose next Monday is a session (so the revision is seen then)."""
    day = today - timedelta(days=21)
    while not (day.weekday() == 4 and is_trading_day(day) and is_trading_day(day + timedelta(days=3))):
        day -= timedelta(days=1)
    return day


def _refresh_at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> RefreshRun:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda q, payloads: queued.extend(payloads))
    monkeypatch.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)
    ticket = request_refresh(
        uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None, now=moment
    )
    provider = DemoProvider(clock=lambda: moment)
    for message in queued:
        ingest_batch(run_id=uuid.UUID(message["run_id"]), seq=message["seq"], provider=provider, final_attempt=False)
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, ticket.run.id)
        assert run is not None
        return run


def _close(symbol: str, day: date) -> float:
    with UnitOfWork(read_only=True) as uow:
        asset = uow.session.scalars(select(Asset.id).where(Asset.symbol == symbol)).one()
        close = uow.session.scalar(select(DailyPrice.close).where(DailyPrice.asset_id == asset, DailyPrice.date == day))
        assert close is not None
        return float(close)


def test_the_weekly_msft_revision_is_caught_by_the_overlap(
    market: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    friday = _friday_with_a_session_after(datetime.now(UTC).date())
    # Given a refresh on Saturday: MSFT's Friday close is the preliminary one
    first = _refresh_at(datetime.combine(friday + timedelta(days=1), time(12), tzinfo=UTC), monkeypatch)
    assert first.status == "succeeded" and first.revisions == []
    preliminary = _close("MSFT", friday)
    # When Tuesday's refresh asks again for the newest stored bars
    second = _refresh_at(datetime.combine(friday + timedelta(days=4), time(12), tzinfo=UTC), monkeypatch)
    # Then MSFT's history was replaced and the revision is on the run; AAPL was left alone
    assert second.status == "succeeded"
    [revision] = second.revisions
    assert revision["symbol"] == "MSFT" and revision["first_changed"] == friday.isoformat()
    assert revision["factor"] == pytest.approx(1.002, abs=1e-4)
    assert _close("MSFT", friday) == pytest.approx(preliminary / 1.002, rel=1e-4)
    with UnitOfWork(read_only=True) as uow:  # no bar on a market holiday, and the stored dividends are cash
        days = set(uow.session.scalars(select(DailyPrice.date).distinct()))
        fx = uow.session.scalars(select(Asset.id).where(Asset.symbol == "USD/EUR")).one()
        fx_days = set(uow.session.scalars(select(DailyPrice.date).where(DailyPrice.asset_id == fx)))
        negative = uow.session.scalar(select(func.count()).where(AssetDividend.amount <= 0))
    assert all(is_trading_day(d) for d in days - fx_days) and negative == 0


def test_the_demo_split_is_read_off_its_closes_and_stored_like_a_providers(
    market: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoindex.index.compute_inputs import known_splits
    from autoindex.market.models import AssetSplit
    from autoindex.market.providers.demo_actions import SPLITS

    from tests.conftest import clear_process_caches
    from tests.pipeline_fixtures import reset_market

    # Given a backfill of NVDA from before its 10-for-1 split (and of an FX pair, which cannot split)
    market.setenv("HISTORY_START", "2024-05-01")
    clear_process_caches()
    reset_market(keep={"NVDA", "USD/EUR"})
    run = _refresh_at(datetime.now(UTC), monkeypatch)
    # Then the split is stored with its date and ratio, from the demo's own as-traded closes, and the compute
    # reads it from there (no special case for the demo)
    assert run.status == "succeeded" and run.revisions == []
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.symbol, AssetSplit.effective_date, AssetSplit.shares_after, AssetSplit.shares_before,
                   AssetSplit.source).join(Asset, Asset.id == AssetSplit.asset_id)
        ).all()  # fmt: skip
        splits = known_splits(uow.session)
    day, ratio = SPLITS["NVDA"]
    assert [tuple(r) for r in rows] == [("NVDA", day, ratio, 1, "demo")]
    assert splits == {"NVDA": [(day, 10.0)]}
