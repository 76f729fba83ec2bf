"""The Twelve Data client against the fake over real HTTP: the data quirks of the reference, one by one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from autoindex.market.providers.budget import MemoryCreditBudget
from autoindex.market.providers.protocol import CreditHeaders, SymbolBars, SymbolError
from autoindex_dev.fake_twelvedata.server import FakeTwelveData

from tests.providers.conftest import API_KEY, MakeProvider, ManualClock


def _raw(fake: FakeTwelveData, path: str, **params: str) -> httpx.Response:
    return httpx.get(fake.url + path, params=params, headers={"Authorization": f"apikey {API_KEY}"}, timeout=60)


def _bars(result: SymbolBars | SymbolError) -> SymbolBars:
    assert isinstance(result, SymbolBars), result
    return result


def test_key_goes_in_the_authorization_header_never_the_query(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 4), date(2024, 3, 8))
    [request] = fake.requests
    assert request.authorization == f"apikey {API_KEY}"
    assert "apikey" not in request.query
    assert all(API_KEY not in value for values in request.query.values() for value in values)


def test_string_numbers_become_exact_decimals(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    raw = _raw(fake, "/time_series", symbol="AAPL", interval="1day", start_date="2024-03-04", end_date="2024-03-09")
    rows = {row["datetime"]: row for row in raw.json()["values"]}
    assert all(isinstance(row["close"], str) for row in rows.values())  # the fake sends strings, like the API
    result = _bars(make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 4), date(2024, 3, 8))["AAPL"])
    assert [b.date.isoformat() for b in result.bars] == sorted(rows)  # oldest first
    for bar in result.bars:
        row = rows[bar.date.isoformat()]
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(
            Decimal(row[k]) for k in ("open", "high", "low", "close")
        )
        assert isinstance(bar.close, Decimal) and bar.volume == int(row["volume"])


def test_end_date_is_exclusive_so_the_client_asks_for_the_day_after(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    # The fake, like the API, leaves the end_date day out of daily bars...
    raw = _raw(fake, "/time_series", symbol="AAPL", interval="1day", end_date="2024-03-08", outputsize="2")
    assert [v["datetime"] for v in raw.json()["values"]] == ["2024-03-07", "2024-03-06"]
    # ...so the client sends end + 1 day and the inclusive end is there.
    result = _bars(make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 4), date(2024, 3, 8))["AAPL"])
    assert fake.requests[-1].query["end_date"] == ["2024-03-09"]
    assert [b.date for b in result.bars] == [date(2024, 3, d) for d in (4, 5, 6, 7, 8)]


def test_batch_is_a_map_with_per_symbol_errors_on_http_200(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    fake.set_faults(symbol_errors={"MSFT": (404, "**symbol** MSFT is not available with your plan.")})
    raw = _raw(fake, "/time_series", symbol="AAPL,NOPE,MSFT", interval="1day", outputsize="1")
    assert raw.status_code == 200 and raw.headers["is_batch"] == "true"
    assert raw.json()["NOPE"]["meta"]["symbol"] == "AAPL,NOPE,MSFT"

    results = make_provider(fake).daily_bars(["AAPL", "NOPE", "msft"], date(2024, 3, 4), date(2024, 3, 8))
    assert len(_bars(results["AAPL"]).bars) == 5
    for symbol in ("NOPE", "msft"):  # matched whatever the spelling
        error = results[symbol]
        assert isinstance(error, SymbolError) and error.code == 404 and error.not_found
    assert fake.request_count("/time_series") == 2  # the raw probe and one batch call


def test_no_data_on_the_dates_is_an_empty_result_not_a_failure(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    saturday, sunday = date(2024, 3, 9), date(2024, 3, 10)
    single = _raw(fake, "/time_series", symbol="AAPL", interval="1day", start_date="2024-03-09", end_date="2024-03-11")
    assert single.status_code == 400 and single.json()["message"].startswith("No data is available")
    provider = make_provider(fake)
    assert _bars(provider.daily_bars(["AAPL"], saturday, sunday)["AAPL"]).bars == ()
    batch = provider.daily_bars(["AAPL", "USD/EUR"], saturday, sunday)
    assert all(_bars(r).bars == () for r in batch.values())


def test_todays_unfinished_bar_is_dropped_until_the_close(
    fake: FakeTwelveData, make_provider: MakeProvider, clock: ManualClock
) -> None:
    today = date(2024, 3, 13)
    # 11:00 in New York: the API already shows a forming bar for today.
    served = _raw(fake, "/time_series", symbol="AAPL,USD/EUR", interval="1day", outputsize="1").json()
    assert served["AAPL"]["values"][0]["datetime"] == served["USD/EUR"]["values"][0]["datetime"] == "2024-03-13"
    provider = make_provider(fake)
    results = provider.daily_bars(["AAPL", "USD/EUR"], date(2024, 3, 11), today)
    for result in results.values():
        bars = _bars(result)
        assert bars.bars[-1].date == date(2024, 3, 12) and bars.unfinished_dropped == today
    # 17:00 in New York (past the close and its settling time): the stock's day is final; FX's UTC day is not.
    clock.now = datetime(2024, 3, 13, 21, 0, tzinfo=UTC)
    later = provider.daily_bars(["AAPL", "USD/EUR"], date(2024, 3, 11), today)
    assert _bars(later["AAPL"]).bars[-1].date == today
    assert _bars(later["USD/EUR"]).bars[-1].date == date(2024, 3, 12)


def test_forex_has_no_volume_and_a_utc_calendar(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    raw = _raw(fake, "/time_series", symbol="USD/EUR", interval="1day", outputsize="3").json()
    assert "volume" not in raw["values"][0] and raw["meta"]["type"] == "Physical Currency"
    assert "currency" not in raw["meta"] and raw["meta"]["currency_quote"] == "Euro"
    result = _bars(make_provider(fake).daily_bars(["USD/EUR"], date(2024, 3, 4), date(2024, 3, 8))["USD/EUR"])
    assert len(result.bars) == 5 and all(b.volume is None for b in result.bars)
    assert result.exchange_timezone is None and result.currency == "EUR"  # the meta says "Euro"


def test_inconsistent_or_non_positive_rows_are_rejected_never_returned(
    fake: FakeTwelveData, make_provider: MakeProvider
) -> None:
    bad = {
        "2024-03-04": "high_below_low",
        "2024-03-05": "non_positive",
        "2024-03-06": "close_above_high",
        "2024-03-07": "open_below_low",
        "2024-03-08": "not_a_number",
        "2024-03-11": "negative_volume",
    }
    fake.set_faults(bad_bars={"AAPL": bad})
    result = _bars(make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 1), date(2024, 3, 12))["AAPL"])
    assert [b.date for b in result.bars] == [date(2024, 3, 1), date(2024, 3, 12)]
    reasons = {r.date.isoformat(): r.reason for r in result.rejected if r.date}
    assert reasons == {
        "2024-03-04": "high is below low",
        "2024-03-05": "close is not positive",
        "2024-03-06": "close is outside [low, high]",
        "2024-03-07": "open is outside [low, high]",
        "2024-03-08": "close not a number",
        "2024-03-11": "volume is negative",
    }
    assert all(r.raw.get("close") is not None for r in result.rejected)  # the raw row is kept for the report


def test_credit_headers_are_read_and_exposed(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    provider = make_provider(fake)
    before = provider.last_credits
    provider.daily_bars(["AAPL", "MSFT", "SPY"], date(2024, 3, 4), date(2024, 3, 8))
    after = provider.last_credits
    assert before is None and after == CreditHeaders(used=3, left=997)
    assert after.limit == 1_000


def test_calls_carry_at_most_a_minute_of_credits_and_wait_for_the_next_minute(
    fake: FakeTwelveData, make_provider: MakeProvider, clock: ManualClock
) -> None:
    budget = MemoryCreditBudget(minute_limit=8, day_limit=800, guard_ms=0, clock_ms=clock.epoch_ms)
    symbols = ["AAPL", "MSFT", "GOOGL", "AMZN", "META", "TSLA", "NVDA", "SPY", "GLD", "SLV"]
    results = make_provider(fake, budget=budget).daily_bars(symbols, date(2024, 3, 4), date(2024, 3, 4))
    assert sorted(results) == sorted(symbols)
    sizes = [len(r.query["symbol"][0].split(",")) for r in fake.requests]
    assert sizes == [8, 2]
    assert clock.sleeps == [60.0]  # the first call spent the minute (it began on the boundary)
    assert budget.usage().day_used == 10


def test_more_than_5000_bars_are_fetched_in_pages(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    result = _bars(make_provider(fake).daily_bars(["AAPL"], date(1995, 1, 1), date(2024, 3, 8))["AAPL"])
    days = [b.date for b in result.bars]
    assert days[0] == date(2000, 1, 3) and days[-1] == date(2024, 3, 8)
    assert len(days) == len(set(days)) > 5_000 and days == sorted(days)
    assert fake.request_count("/time_series") == 2


def test_quote_search_reference_lists_and_usage(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    provider = make_provider(fake)
    quote = provider.latest_quote("AAPL")
    raw: dict[str, Any] = _raw(fake, "/quote", symbol="AAPL").json()
    assert "status" not in raw and quote.close == Decimal(raw["close"]) and quote.as_of == date(2024, 3, 13)
    assert quote.is_market_open is True and quote.previous_close == Decimal(raw["previous_close"])
    assert [m.symbol for m in provider.search_symbols("AAP")] == ["AAPL"]
    stocks = provider.list_stocks(exchange="NASDAQ")
    assert {"AAPL", "TLT"} <= {s.symbol for s in stocks} and all(s.exchange == "NASDAQ" for s in stocks)
    [pair] = provider.list_forex_pairs(currency_quote="EUR")
    assert (pair.symbol, pair.currency_base, pair.currency_quote, pair.currency_group) == (
        "USD/EUR",
        "USD",
        "EUR",
        "Major",
    )
    usage = provider.usage()
    assert (usage.minute_limit, usage.day_limit, usage.plan) == (1_000, 100_000, "basic")
    assert usage.minute_used == fake.credits_used()[0]
