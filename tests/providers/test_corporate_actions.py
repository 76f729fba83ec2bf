"""Splits as the provider shows them: the client always asks for split-adjusted bars, and the fake knows both bases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from autoindex.market.providers.protocol import SymbolBars
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from autoindex_dev.fake_twelvedata.state import parse_dividend, parse_split

from tests.providers.conftest import API_KEY, MakeProvider, ManualClock

# The manual clock stands at Wednesday 2024-03-13; a 4-for-1 split took effect on Monday 2024-03-11.
SPLIT = "AAPL:2024-03-11:4"


def _closes(fake: FakeTwelveData, adjust: str | None) -> dict[str, Decimal]:
    params = {"symbol": "AAPL", "interval": "1day", "start_date": "2024-03-04", "end_date": "2024-03-13"}
    if adjust is not None:
        params["adjust"] = adjust
    body = httpx.get(
        fake.url + "/time_series", params=params, headers={"Authorization": f"apikey {API_KEY}"}, timeout=60
    ).json()
    return {row["datetime"]: Decimal(row["close"]) for row in body["values"]}


def test_the_client_asks_for_split_adjusted_bars_explicitly(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 4), date(2024, 3, 8))
    [request] = fake.requests
    assert request.query["adjust"] == ["splits"]


def test_history_before_a_split_is_adjusted_once_it_has_happened(fake: FakeTwelveData, clock: ManualClock) -> None:
    plain = _closes(fake, "splits")
    fake.set_faults(splits=[SPLIT])
    adjusted, default, raw = _closes(fake, "splits"), _closes(fake, None), _closes(fake, "none")
    assert adjusted == plain == default  # the default is split-adjusted, as the reference says
    assert raw["2024-03-08"] == plain["2024-03-08"] * 4 and raw["2024-03-11"] == plain["2024-03-11"]
    # A week earlier the split had not happened: the adjusted history still showed the old, higher prices
    # (2024-03-06 was that day's unfinished bar; the day before was final)
    clock.now -= timedelta(days=7)
    before = _closes(fake, "splits")
    assert before["2024-03-05"] == plain["2024-03-05"] * 4 and "2024-03-11" not in before


def test_an_unknown_adjust_mode_is_a_400(fake: FakeTwelveData) -> None:
    response = httpx.get(
        fake.url + "/time_series",
        params={"symbol": "AAPL", "interval": "1day", "adjust": "sideways"},
        headers={"Authorization": f"apikey {API_KEY}"},
        timeout=60,
    )
    assert response.json()["code"] == 400 and "adjust" in response.json()["message"]


def test_split_flags_are_read_strictly() -> None:
    assert parse_split("nvda:2024-06-10:10") == ("NVDA", "2024-06-10", 10.0)
    for bad in ("NVDA:2024-13-01:10", "NVDA:2024-06-10:0", "NVDA:10"):
        with pytest.raises(ValueError):
            parse_split(bad)


def test_split_adjusted_bars_are_what_the_client_returns(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    fake.set_faults(splits=[SPLIT])
    result = make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 6), date(2024, 3, 12))["AAPL"]
    assert isinstance(result, SymbolBars), result
    closes = {bar.date.isoformat(): bar.close for bar in result.bars}
    assert closes == {k: v for k, v in _closes(fake, "splits").items() if "2024-03-06" <= k <= "2024-03-12"}


# Dividends: AAPL pays 0.24 a share going ex on Friday 2024-03-08 (the clock stands at Wednesday 2024-03-13).
DIVIDEND = "AAPL:2024-03-08:0.24"


def _get(fake: FakeTwelveData, path: str, **params: str) -> Any:
    return httpx.get(fake.url + path, params=params, headers={"Authorization": f"apikey {API_KEY}"}, timeout=60).json()


def test_adjust_all_back_adjusts_for_dividends_and_splits_mode_does_not(fake: FakeTwelveData) -> None:
    plain = _closes(fake, "splits")
    fake.set_faults(dividends=[DIVIDEND])
    assert _closes(fake, "splits") == plain == _closes(fake, "none")
    adjusted = _closes(fake, "all")
    eve = plain["2024-03-07"]
    factor = 1 - 0.24 / float(eve)
    for day, close in adjusted.items():
        expected = float(plain[day]) * (factor if day < "2024-03-08" else 1.0)
        assert float(close) == pytest.approx(expected, abs=1e-5)


def test_the_dividends_and_splits_endpoints_answer_as_the_api_does(fake: FakeTwelveData) -> None:
    fake.set_faults(dividends=[DIVIDEND, "AAPL:2023-11-10:0.24"], splits=[SPLIT])
    body = _get(fake, "/dividends", symbol="AAPL")
    assert body["meta"]["symbol"] == "AAPL"
    assert body["dividends"] == [{"ex_date": "2024-03-08", "amount": 0.24}, {"ex_date": "2023-11-10", "amount": 0.24}]
    assert _get(fake, "/dividends", symbol="AAPL", start_date="2024-01-01")["dividends"] == body["dividends"][:1]
    splits = _get(fake, "/splits", symbol="AAPL")["splits"]
    assert splits == [
        {"date": "2024-03-11", "description": "4-for-1 split", "ratio": 0.25, "from_factor": 4.0, "to_factor": 1}
    ]
    assert _get(fake, "/dividends", symbol="MSFT")["dividends"] == []
    assert fake.credits_used()[1] == 4 * 20  # 20 credits a symbol, as the fundamentals endpoints cost


def test_the_client_reads_dividends_off_the_two_bases_for_one_more_credit(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    fake.set_faults(dividends=[DIVIDEND])
    provider = make_provider(fake, dividends="derived")
    result = provider.daily_bars(["AAPL", "MSFT"], date(2024, 3, 4), date(2024, 3, 12))
    aapl, msft = result["AAPL"], result["MSFT"]
    assert isinstance(aapl, SymbolBars) and isinstance(msft, SymbolBars)
    assert [(d.ex_date, d.amount) for d in aapl.dividends] == [(date(2024, 3, 8), Decimal("0.2400"))]
    assert msft.dividends == () and aapl.dividends_from == date(2024, 3, 5)  # the day after the first bar
    assert sorted(r.query["adjust"][0] for r in fake.requests) == ["all", "splits"]
    assert provider.capabilities.cost(2) == 4 == fake.credits_used()[1]


def test_the_endpoint_mode_lists_dividends_at_twenty_credits_a_symbol(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    fake.set_faults(dividends=[DIVIDEND])
    provider = make_provider(fake, dividends="endpoint")
    aapl = provider.daily_bars(["AAPL"], date(2024, 3, 4), date(2024, 3, 12))["AAPL"]
    assert isinstance(aapl, SymbolBars)
    assert [(d.ex_date, d.amount) for d in aapl.dividends] == [(date(2024, 3, 8), Decimal("0.24"))]
    assert aapl.dividends_from == date(2024, 3, 4)
    assert provider.capabilities.cost(1) == 21 == fake.credits_used()[1]


def test_dividend_flags_are_read_strictly() -> None:
    assert parse_dividend("tlt:2024-03-01:0.28") == ("TLT", "2024-03-01", 0.28)
    for bad in ("TLT:2024-02-30:0.28", "TLT:2024-03-01:0", "TLT:2024-03-01:-1", "TLT:0.28"):
        with pytest.raises(ValueError):
            parse_dividend(bad)


def _weekdays_back(day: date, n: int) -> date:
    """The ``n``-th weekday counting back from ``day`` (a weekday) as the first."""
    while n > 1:
        day -= timedelta(days=1)
        n -= day.weekday() < 5
    return day


def test_a_whole_history_over_two_pages_shows_the_split_on_the_page_boundary(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    # A history longer than one 5,000-bar page comes back in two calls per basis; the newest page's oldest bar
    # is the day a 5-for-4 split took effect, so its step is between the two pages.
    start, end = date(2001, 1, 2), date(2024, 3, 12)
    boundary = _weekdays_back(end, 5_000)
    fake.set_faults(splits=[f"AAPL:{boundary.isoformat()}:1.25"])
    provider = make_provider(fake)
    history = provider.daily_bars(["AAPL"], start, end)["AAPL"]
    assert isinstance(history, SymbolBars) and history.bars[0].date == start
    read = provider.with_splits({"AAPL": history}, start, end)["AAPL"]
    assert isinstance(read, SymbolBars)
    assert [(s.date, s.shares_after, s.shares_before) for s in read.splits] == [(boundary, 5, 4)]
    assert read.splits_from == start + timedelta(days=1)
    pages = [r for r in fake.requests if r.path == "/time_series"]
    assert [r.query["adjust"][0] for r in pages] == ["splits", "splits", "none", "none"]
