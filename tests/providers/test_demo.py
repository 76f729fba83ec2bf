"""The demo provider: deterministic across processes, valid OHLC, business days, nothing from today on."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from autoindex.market.calendar import is_trading_day
from autoindex.market.providers import catalog
from autoindex.market.providers.demo import DemoProvider
from autoindex.market.providers.protocol import MarketDataProvider, SymbolBars, SymbolError, SymbolNotFound
from autoindex.market.providers.validation import validate_bar

from tests.lambda_http import ROOT

NOW = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)
UNIVERSE = [s for s in catalog.INSTRUMENTS if "/" not in s]

_DIGEST = """
import hashlib
from datetime import UTC, date, datetime
from autoindex.market.providers.demo import DemoProvider
result = DemoProvider(clock=lambda: datetime(2024, 3, 13, tzinfo=UTC)).daily_bars(
    ["AAPL", "USD/JPY", "ZZZQ"], date(2019, 1, 1), date(2024, 3, 1)
)
print(hashlib.sha256(repr(sorted(result.items())).encode()).hexdigest())
"""


def _digest_in_fresh_process(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", _DIGEST], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.strip()


def _bars(result: SymbolBars | SymbolError) -> SymbolBars:
    assert isinstance(result, SymbolBars), result
    return result


@pytest.mark.slow
def test_same_bars_in_every_process_whatever_the_hash_seed() -> None:
    here = DemoProvider(clock=lambda: datetime(2024, 3, 13, tzinfo=UTC)).daily_bars(
        ["AAPL", "USD/JPY", "ZZZQ"], date(2019, 1, 1), date(2024, 3, 1)
    )
    expected = hashlib.sha256(repr(sorted(here.items())).encode()).hexdigest()
    assert _digest_in_fresh_process("1") == _digest_in_fresh_process("2") == expected


def test_bars_are_valid_business_days_and_stop_before_today() -> None:
    provider = DemoProvider(clock=lambda: NOW)
    assert isinstance(provider, MarketDataProvider)
    results = provider.daily_bars([*UNIVERSE, "USD/EUR", "NEWCO"], date(2018, 1, 1), date(2024, 12, 31))
    for symbol, result in results.items():
        bars = _bars(result)
        assert bars.source == "demo" and bars.rejected == ()
        assert bars.bars[-1].date == date(2024, 3, 12)  # the 13th is still forming
        assert all(b.date.weekday() < 5 for b in bars.bars)
        for bar in bars.bars:
            raw = {"datetime": bar.date.isoformat(), "open": str(bar.open), "high": str(bar.high)}
            raw |= {"low": str(bar.low), "close": str(bar.close)}
            if bar.volume is not None:
                raw["volume"] = str(bar.volume)
            assert validate_bar(symbol, raw) == bar  # positive, consistent OHLC
        assert (bars.bars[0].volume is None) == (symbol == "USD/EUR")
    # Exchange-traded instruments follow the NYSE calendar (1 January is closed); FX trades every weekday.
    assert _bars(results["META"]).bars[0].date == date(2018, 1, 2)
    assert _bars(results["USD/EUR"]).bars[0].date == date(2018, 1, 1)
    for symbol in UNIVERSE:
        assert all(is_trading_day(b.date) for b in _bars(results[symbol]).bars), symbol
    assert _bars(results["USD/EUR"]).currency == "EUR"


def test_a_day_does_not_depend_on_the_range_asked_for() -> None:
    provider = DemoProvider(clock=lambda: NOW)
    wide = _bars(provider.daily_bars(["TSLA"], date(2015, 1, 1), date(2024, 1, 31))["TSLA"]).bars
    narrow = _bars(provider.daily_bars(["TSLA"], date(2020, 6, 1), date(2020, 6, 30))["TSLA"]).bars
    assert narrow == tuple(b for b in wide if date(2020, 6, 1) <= b.date <= date(2020, 6, 30))
    assert len(narrow) == 22
    assert (
        _bars(provider.daily_bars(["META"], date(2005, 1, 1), date(2012, 5, 17))["META"]).bars == ()
    )  # before listing


def test_prices_are_plausible_and_it_is_fast() -> None:
    provider = DemoProvider(clock=lambda: NOW)
    started = time.perf_counter()
    results = provider.daily_bars([*UNIVERSE, "USD/EUR", "USD/JPY"], date(2018, 1, 1), date(2024, 3, 12))
    assert time.perf_counter() - started < 2.0
    for result in results.values():
        closes = [float(b.close) for b in _bars(result).bars]
        returns = [abs(b / a - 1) for a, b in itertools.pairwise(closes)]
        assert 0.0005 < sum(returns) / len(returns) < 0.05  # daily moves of a real market
        assert max(closes) / min(closes) < 20
    eur = [float(b.close) for b in _bars(results["USD/EUR"]).bars]
    assert min(eur) > 0.4 and max(eur) < 2.0


def test_quote_search_lists_and_usage() -> None:
    provider = DemoProvider(clock=lambda: NOW)
    quote = provider.latest_quote("SPY")
    assert quote.as_of == date(2024, 3, 12) and quote.source == "demo" and quote.previous_close is not None
    with pytest.raises(SymbolNotFound):
        provider.latest_quote("not a symbol")
    assert provider.search_symbols("spdr")[0].symbol in {"SPY", "GLD"}
    assert {p.symbol for p in provider.list_forex_pairs(currency_base="usd")} >= {"USD/EUR", "USD/JPY"}
    assert "AAPL" in {s.symbol for s in provider.list_stocks(country="United States")}
    assert provider.usage().source == "demo"


def _closes_on(clock: datetime, symbol: str, start: date, end: date) -> dict[date, Decimal]:
    result = _bars(DemoProvider(clock=lambda: clock).daily_bars([symbol], start, end)[symbol])
    return {b.date: b.close for b in result.bars}


def test_nvda_splits_ten_for_one_on_2024_06_10() -> None:
    before = _closes_on(datetime(2024, 6, 8, 12, tzinfo=UTC), "NVDA", date(2024, 6, 3), date(2024, 6, 7))
    after = _closes_on(datetime(2024, 6, 12, 12, tzinfo=UTC), "NVDA", date(2024, 6, 3), date(2024, 6, 11))
    # Asked before the split, the bars are the traded (ten times higher) prices; after it, adjusted.
    assert {d: c / 10 for d, c in before.items()} == {d: after[d] for d in before}
    moves = [after[b] / after[a] - 1 for a, b in itertools.pairwise(sorted(after))]
    assert min(moves) > -0.5  # no false -90 % day in adjusted history


def test_msft_fridays_are_revised_on_the_next_session() -> None:
    friday = date(2024, 3, 8)
    preliminary = _closes_on(datetime(2024, 3, 9, 12, tzinfo=UTC), "MSFT", date(2024, 3, 4), friday)
    final = _closes_on(datetime(2024, 3, 12, 12, tzinfo=UTC), "MSFT", date(2024, 3, 4), friday)
    assert preliminary[friday] == (final[friday] * Decimal("1.002")).quantize(final[friday])
    assert {d: c for d, c in preliminary.items() if d != friday} == {d: c for d, c in final.items() if d != friday}
    aapl = [_closes_on(datetime(2024, 3, d, 12, tzinfo=UTC), "AAPL", date(2024, 3, 4), friday) for d in (9, 12)]
    assert aapl[0] == aapl[1]  # one symbol is revised, not the market


def test_bond_funds_pay_monthly_coupons_and_the_index_none() -> None:
    provider = DemoProvider(clock=lambda: NOW)
    result = provider.daily_bars(["TLT", "IEF", "SPX", "GLD"], date(2023, 1, 1), date(2023, 12, 31))
    tlt, ief, spx, gld = (_bars(result[s]) for s in ("TLT", "IEF", "SPX", "GLD"))
    assert len(tlt.dividends) == len(ief.dividends) == 12 and spx.dividends == gld.dividends == ()
    assert all(is_trading_day(d.ex_date) for d in tlt.dividends)
    assert tlt.dividends_from == date(2023, 1, 1)
