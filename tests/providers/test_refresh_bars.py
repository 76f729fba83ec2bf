"""The client's refresh window knowing what is stored: FX and indices asked once, payers read off one call."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from autoindex.market.providers.dividend_decode import StoredWindow
from autoindex.market.providers.incremental import SymbolState
from autoindex.market.providers.protocol import SymbolBars
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex_dev.fake_twelvedata.server import FakeTwelveData

from tests.providers.conftest import MakeProvider

# The manual clock stands at Wednesday 2024-03-13, 15:00 UTC (the session has opened in New York).
OTHERS = {"SPX": SymbolState(pays_cash=False), "USD/EUR": SymbolState(pays_cash=False)}


def _stored(provider: TwelveDataProvider, start: date, end: date) -> SymbolState:
    """What a two-call fill of AAPL over ``[start, end]`` stored."""
    result = provider.daily_bars(["AAPL"], start, end)["AAPL"]
    assert isinstance(result, SymbolBars)
    return SymbolState(
        pays_cash=True,
        stored=StoredWindow(
            closes={b.date: b.close for b in result.bars},
            volumes={b.date: b.volume for b in result.bars},
            dividends={d.ex_date: d.amount for d in result.dividends},
        ),
    )


def _asked(fake: FakeTwelveData, since: int) -> list[tuple[str, str]]:
    return sorted(
        (symbol, r.query["adjust"][0])
        for r in fake.requests[since:]
        if r.path == "/time_series"
        for symbol in r.query["symbol"][0].split(",")
    )


def test_a_payer_with_its_overlap_stored_costs_one_call_and_so_do_fx_and_the_index(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    fake.set_faults(dividends=["AAPL:2024-03-08:0.24"])
    provider = make_provider(fake, dividends="derived")
    aapl = _stored(provider, date(2024, 3, 5), date(2024, 3, 11))  # the 0.24 ex-date inside the overlap
    mark, spent = len(fake.requests), fake.credits_used()[1]
    got = provider.refresh_bars(
        ["AAPL", "SPX", "USD/EUR"], date(2024, 3, 5), date(2024, 3, 12), {"AAPL": aapl, **OTHERS}
    )
    assert _asked(fake, mark) == [("AAPL", "all"), ("SPX", "splits"), ("USD/EUR", "splits")]
    assert got.credits == 3 == fake.credits_used()[1] - spent and got.one_call == ("AAPL",) and got.two_calls == {}
    result = got.results["AAPL"]
    two_calls = provider.daily_bars(["AAPL"], date(2024, 3, 5), date(2024, 3, 12))["AAPL"]
    assert isinstance(result, SymbolBars) and isinstance(two_calls, SymbolBars)
    assert result.bars == two_calls.bars[-1:] and result.bars[0].date == date(2024, 3, 12)
    assert result.dividends == () and result.dividends_from == date(2024, 3, 12)
    assert isinstance(got.results["SPX"], SymbolBars) and got.results["SPX"].dividends_from is None


def test_a_run_before_the_session_cannot_tell_and_asks_twice(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    # An ex-date on the newest bar, read the next day: today's ex-date (had there been one) would adjust it too
    provider = make_provider(fake, dividends="derived")
    aapl = _stored(provider, date(2024, 3, 5), date(2024, 3, 11))
    fake.set_faults(dividends=["AAPL:2024-03-12:0.5"])
    mark = len(fake.requests)
    got = provider.refresh_bars(["AAPL"], date(2024, 3, 5), date(2024, 3, 12), {"AAPL": aapl})
    assert _asked(fake, mark) == [("AAPL", "all"), ("AAPL", "splits")] and got.credits == 2
    assert "may already follow" in got.two_calls["AAPL"]
    result = got.results["AAPL"]
    assert isinstance(result, SymbolBars)
    assert [(d.ex_date, d.amount) for d in result.dividends] == [(date(2024, 3, 12), Decimal("0.5000"))]


def test_the_endpoint_mode_lists_dividends_for_payers_only(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    provider = make_provider(fake, dividends="endpoint")
    spent = fake.credits_used()[1]
    got = provider.refresh_bars(
        ["AAPL", "SPX"], date(2024, 3, 5), date(2024, 3, 12), {"AAPL": SymbolState(True), **OTHERS}
    )
    assert [r.query["symbol"][0] for r in fake.requests if r.path == "/dividends"] == ["AAPL"]
    assert got.credits == 2 + 20 == fake.credits_used()[1] - spent


def test_price_return_only_asks_once_for_everyone(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    provider = make_provider(fake, dividends="off")
    got = provider.refresh_bars(["AAPL", "SPX"], date(2024, 3, 5), date(2024, 3, 12), {})
    assert _asked(fake, 0) == [("AAPL", "splits"), ("SPX", "splits")] and got.credits == 2
