"""The daily refresh's dividends off one call per symbol, against the fake over HTTP on a clock the test sets.

Each refresh runs the evening after a session (22:30 UTC: the bar is final and no later ex-date has
come), as the scheduled refresh does. The universe is AAPL and MSFT (payers), SPX and USD/EUR (not).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.models import Asset, AssetDividend, AssetSplit, DailyPrice
from autoindex.market.providers.protocol import SymbolBars
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from sqlalchemy import select, update

from tests.pipeline_fixtures import (
    RECENT_START,
    Refresh,
    asked_adjust,
    credits_charged,
    evening_refreshes,
    last_weekdays,
)

KEY = "one-call-fake-key-51aa"
PAYERS = ("AAPL", "MSFT")
NON_PAYERS = ("SPX", "USD/EUR")


@pytest.fixture
def clocked(market: pytest.MonkeyPatch) -> Iterator[tuple[FakeTwelveData, TwelveDataProvider, Refresh]]:
    """The fake, a client and the refresh on one clock; ``refresh(day)`` runs a whole refresh that evening."""
    with evening_refreshes(market, KEY) as clocked:
        yield clocked


def _closes(symbol: str) -> list[tuple[date, Decimal]]:
    with UnitOfWork(read_only=True) as uow:
        asset = uow.session.scalars(select(Asset.id).where(Asset.symbol == symbol)).one()
        rows = uow.session.execute(
            select(DailyPrice.date, DailyPrice.close).where(DailyPrice.asset_id == asset).order_by(DailyPrice.date)
        )
        return [(day, close) for day, close in rows]


def _dividends() -> dict[tuple[str, date], Decimal]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.symbol, AssetDividend.ex_date, AssetDividend.amount).join(
                Asset, Asset.id == AssetDividend.asset_id
            )
        )
        return {(symbol, day): amount for symbol, day, amount in rows}


def _as_two_calls_read_it(provider: TwelveDataProvider, through: date) -> None:
    """The stored payers' closes and dividends equal a fresh two-call fill of the same history."""
    fresh = provider.daily_bars(list(PAYERS), RECENT_START, through)
    for symbol in PAYERS:
        result = fresh[symbol]
        assert isinstance(result, SymbolBars)
        assert _closes(symbol) == [(bar.date, bar.close) for bar in result.bars]
        stored = {day: amount for (s, day), amount in _dividends().items() if s == symbol}
        assert stored == {d.ex_date: d.amount for d in result.dividends}


def test_a_dividend_declared_between_two_refreshes_is_stored_from_one_call_per_symbol(
    clocked: tuple[FakeTwelveData, TwelveDataProvider, Refresh],
) -> None:
    fake, provider, refresh = clocked
    yesterday, today = last_weekdays(2)
    # Given a first fill: the payers in both bases and unadjusted (their splits' source, a backfill's), SPX and
    # USD/EUR (which pay nothing and do not split) in one
    first, asked = refresh(yesterday)
    assert first.status == "succeeded", first.errors
    assert asked_adjust(asked) == {
        **{s: ["all", "splits", "none"] for s in PAYERS},
        **{s: ["splits"] for s in NON_PAYERS},
    }
    assert first.credits_used == 3 + 3 + 1 + 1 == credits_charged(asked)
    # When MSFT goes ex-dividend today, 0.31 a share, and the evening's refresh runs
    fake.set_faults(dividends=[f"MSFT:{today.isoformat()}:0.31"])
    second, asked = refresh(today)
    # Then every symbol cost one call, one credit: the payers adjust=all only, the others adjust=splits only
    assert second.status == "succeeded", second.errors
    assert asked_adjust(asked) == {**{s: ["all"] for s in PAYERS}, **{s: ["splits"] for s in NON_PAYERS}}
    assert second.credits_used == 4 == credits_charged(asked)
    # And the dividend is stored with its amount and ex-date, and today's close split-adjusted (not cut by it)
    assert second.dividends_written == 1
    assert _dividends() == {("MSFT", today): Decimal("0.3100")}
    assert _closes("MSFT")[-1][0] == today
    _as_two_calls_read_it(provider, today)


def test_a_dividend_after_a_two_day_gap_falls_back_to_two_calls_and_is_still_right(
    clocked: tuple[FakeTwelveData, TwelveDataProvider, Refresh],
) -> None:
    fake, provider, refresh = clocked
    before, missed, today = last_weekdays(3)
    assert refresh(before)[0].status == "succeeded"
    # When MSFT went ex-dividend on the day whose refresh did not run
    fake.set_faults(dividends=[f"MSFT:{missed.isoformat()}:0.42"])
    run, asked = refresh(today)
    # Then two new bars under one factor cannot say which was the ex-date: MSFT was asked again, split-adjusted
    assert run.status == "succeeded", run.errors
    assert asked_adjust(asked)["MSFT"] == ["all", "splits"] and asked_adjust(asked)["AAPL"] == ["all"]
    assert run.credits_used == 4 + 1 == credits_charged(asked)
    # And the dividend sits on its ex-date with its amount, the closes as the two-call path has them
    assert _dividends() == {("MSFT", missed): Decimal("0.4200")}
    _as_two_calls_read_it(provider, today)


def test_a_revised_overlap_close_is_still_caught_and_the_history_re_fetched(
    clocked: tuple[FakeTwelveData, TwelveDataProvider, Refresh],
) -> None:
    _, provider, refresh = clocked
    yesterday, today = last_weekdays(2)
    assert refresh(yesterday)[0].status == "succeeded"
    # Given a stored MSFT close the provider has since corrected (a preliminary close 0.2 % high)
    revised_day, close = _closes("MSFT")[-3]
    with UnitOfWork() as uow:
        msft = uow.session.scalars(select(Asset.id).where(Asset.symbol == "MSFT")).one()
        uow.session.execute(
            update(DailyPrice)
            .where(DailyPrice.asset_id == msft, DailyPrice.date == revised_day)
            .values(close=close * Decimal("1.002"), high=DailyPrice.high * Decimal("1.002"))
        )
    # When the next refresh reads the overlap off one call
    run, asked = refresh(today)
    # Then the uneven overlap sent MSFT to the split-adjusted call, which saw the revision: history re-fetched
    assert run.status == "succeeded", run.errors
    assert [(r["symbol"], r["first_changed"]) for r in run.revisions] == [("MSFT", revised_day.isoformat())]
    assert run.revisions[0]["factor"] == pytest.approx(1.002, rel=1e-6)
    # (the whole history in both bases, and unadjusted for its splits)
    assert asked_adjust(asked)["MSFT"] == ["all", "splits", "all", "splits", "none"]
    assert run.credits_used == 4 + 1 + 2 + 1 == credits_charged(asked)
    _as_two_calls_read_it(provider, today)


def test_a_five_for_four_split_is_not_taken_for_a_twenty_percent_dividend(
    clocked: tuple[FakeTwelveData, TwelveDataProvider, Refresh],
) -> None:
    fake, provider, refresh = clocked
    yesterday, today = last_weekdays(2)
    fake.set_faults(splits=[f"AAPL:{today.isoformat()}:1.25"])
    # Given AAPL stored at its traded prices, 1.25 times the series after today's 5-for-4 split
    assert refresh(yesterday)[0].status == "succeeded"
    # When today's answer shows every overlap close at 0.8 of the stored one, as a 20 % distribution would
    run, asked = refresh(today)
    # Then the volumes, up by 1.25, give the split away: both bases asked, the revision found, no dividend
    assert run.status == "succeeded", run.errors
    assert [r["symbol"] for r in run.revisions] == ["AAPL"]
    assert run.revisions[0]["factor"] == pytest.approx(1.25, rel=1e-6)
    assert _dividends() == {}
    with UnitOfWork(read_only=True) as uow:
        splits = uow.session.execute(
            select(AssetSplit.effective_date, AssetSplit.shares_after, AssetSplit.shares_before)
        ).all()
    assert [tuple(row) for row in splits] == [(today, 5, 4)]
    assert run.credits_used == 4 + 1 + 2 + 1 == credits_charged(asked)
    _as_two_calls_read_it(provider, today)


@pytest.mark.parametrize("symbol", NON_PAYERS)
def test_a_revised_fx_pair_or_index_is_re_fetched_without_a_dividend_call(
    clocked: tuple[FakeTwelveData, TwelveDataProvider, Refresh], symbol: str
) -> None:
    _, _, refresh = clocked
    yesterday, today = last_weekdays(2)
    assert refresh(yesterday)[0].status == "succeeded"
    # Given a stored close the provider has since corrected
    revised_day, close = _closes(symbol)[-2]
    with UnitOfWork() as uow:
        asset = uow.session.scalars(select(Asset.id).where(Asset.symbol == symbol)).one()
        uow.session.execute(
            update(DailyPrice)
            .where(DailyPrice.asset_id == asset, DailyPrice.date == revised_day)
            .values(close=close * Decimal("1.002"), high=DailyPrice.high * Decimal("1.002"))
        )
    # When the next refresh sees it
    run, asked = refresh(today)
    # Then its whole history was re-fetched split-adjusted only: it pays nothing (and does not split)
    assert run.status == "succeeded", run.errors
    assert [(r["symbol"], r["first_changed"]) for r in run.revisions] == [(symbol, revised_day.isoformat())]
    assert asked_adjust(asked)[symbol] == ["splits", "splits"]
    assert run.credits_used == 4 + 1 == credits_charged(asked)
    assert dict(_closes(symbol))[revised_day] == close
