"""The embedded default provider: deterministic synthetic prices, no network, no key, no credits.

Every result says ``source="demo"``. Any plausible ticker has data (so an admin can add one to
the universe in the embedded mode); ``AAA/BBB`` symbols are FX pairs without volume. Like a real
provider, it never returns a bar for the current UTC date or later: that day is still forming.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from autoindex.market.calendar import is_trading_day
from autoindex.market.providers import catalog
from autoindex.market.providers.demo_actions import as_traded, demo_dividends, preliminary, split_basis
from autoindex.market.providers.protocol import (
    Bar,
    Dividend,
    ForexPair,
    ProviderCapabilities,
    Quote,
    StockListing,
    SymbolBars,
    SymbolError,
    SymbolMatch,
    SymbolNotFound,
    Usage,
)
from autoindex.market.providers.sessions import Clock, utc_now
from autoindex.market.providers.splits import derive_splits

if TYPE_CHECKING:
    # NumPy generates the prices: only the functions that fetch them (ingest, with the NumPy layer) load it, so the
    # health and admin functions can name the demo provider and read its capabilities without that layer.
    from autoindex.market.providers.synthetic import DailySeries

SOURCE = "demo"
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,11}(/[A-Z]{3})?$")
_QUOTE_LOOKBACK = timedelta(days=10)  # always spans at least one business day
_EVE = timedelta(days=7)  # always holds the trading day before the range

CAPABILITIES = ProviderCapabilities(
    name=SOURCE,
    symbols_per_request=500,
    credits_per_symbol=0,
    supports_fx=True,
    supports_market_cap=False,
    max_bars_per_request=100_000,
)


def _bars(series: DailySeries) -> tuple[Bar, ...]:
    fmt = f"{{:.{series.dp}f}}"
    volumes = series.volume.tolist() if series.volume is not None else [None] * len(series.dates)
    return tuple(
        Bar(
            date=day,
            open=Decimal(fmt.format(o)),
            high=Decimal(fmt.format(h)),
            low=Decimal(fmt.format(low)),
            close=Decimal(fmt.format(c)),
            volume=v,
        )
        for day, o, h, low, c, v in zip(
            series.dates,
            series.open.tolist(),
            series.high.tolist(),
            series.low.tolist(),
            series.close.tolist(),
            volumes,
            strict=True,
        )
    )


class DemoProvider:
    """Synthetic market data. ``clock`` decides which day is "today" (injectable for tests)."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock

    @property
    def capabilities(self) -> ProviderCapabilities:
        return CAPABILITIES

    def _last_final_day(self) -> date:
        return self._clock().date() - timedelta(days=1)

    def _meta(self, symbol: str) -> dict[str, str | None]:
        item = catalog.lookup(symbol)
        if item is not None:
            return {"currency": item.currency, "exchange": item.exchange, "instrument_type": item.instrument_type}
        from autoindex.market.providers.synthetic import kind_of

        if kind_of(symbol) == "fx":
            return {"currency": symbol.partition("/")[2], "exchange": None, "instrument_type": "Physical Currency"}
        return {"currency": "USD", "exchange": None, "instrument_type": "Common Stock"}

    def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> dict[str, SymbolBars | SymbolError]:
        """Synthetic bars for each symbol over ``[start, end]``, stopping before today (UTC)."""
        if start > end:
            raise ValueError("start must not be after end")
        out: dict[str, SymbolBars | SymbolError] = {}
        last = min(end, self._last_final_day())
        for symbol in symbols:
            key = symbol.strip().upper()
            if not _SYMBOL.fullmatch(key):
                out[symbol] = SymbolError(symbol=symbol, message="not a valid symbol", code=400, not_found=True)
                continue
            bars, dividends = self._history(key, start, last)
            meta = self._meta(key)
            out[symbol] = SymbolBars(
                symbol=symbol,
                bars=bars,
                source=SOURCE,
                currency=meta["currency"],
                exchange=meta["exchange"],
                instrument_type=meta["instrument_type"],
                dividends=dividends,
                dividends_from=start,
            )
        return out

    def _history(self, key: str, start: date, last: date) -> tuple[tuple[Bar, ...], tuple[Dividend, ...]]:
        """Bars over ``[start, last]`` and the dividends with ex-dates in it (a week before gives each its eve)."""
        if start > last:
            return (), ()
        from autoindex.market.providers.synthetic import daily_series, kind_of

        series = daily_series(key, start - _EVE, last)
        every = _bars(series)
        if kind_of(key) in ("stock", "etf", "index"):  # exchange-traded: no bars on NYSE holidays
            every = tuple(bar for bar in every if is_trading_day(bar.date))
        dividends = demo_dividends(key, [b.date for b in every], [float(b.close) for b in every])
        today = self._clock().date()
        bars = preliminary(key, split_basis(key, [b for b in every if b.date >= start], today), today)
        return bars, tuple(d for d in dividends if d.ex_date >= start)

    def with_splits(
        self, histories: Mapping[str, SymbolBars], start: date, end: date
    ) -> dict[str, SymbolBars | SymbolError]:
        """Each history with its splits, read off its as-traded bars exactly as a real provider's are."""
        today = self._clock().date()
        out: dict[str, SymbolBars | SymbolError] = {}
        for symbol, history in histories.items():
            traded = as_traded(symbol.strip().upper(), history.bars, today)
            since = history.bars[0].date + timedelta(days=1) if history.bars else start
            out[symbol] = replace(history, splits=derive_splits(history.bars, traded), splits_from=since)
        return out

    def latest_quote(self, symbol: str) -> Quote:
        last = self._last_final_day()
        result = self.daily_bars([symbol], last - _QUOTE_LOOKBACK, last)[symbol]
        if isinstance(result, SymbolError) or len(result.bars) < 2:
            raise SymbolNotFound(symbol, provider=SOURCE)
        previous, bar = result.bars[-2], result.bars[-1]
        item = catalog.lookup(symbol)
        return Quote(
            symbol=symbol,
            as_of=bar.date,
            close=bar.close,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            previous_close=previous.close,
            volume=bar.volume,
            currency=result.currency,
            name=item.name if item else None,
            exchange=result.exchange,
            is_market_open=False,
            source=SOURCE,
        )

    def search_symbols(self, query: str, limit: int = 30) -> list[SymbolMatch]:
        return [
            SymbolMatch(
                symbol=i.symbol,
                name=i.name,
                exchange=i.exchange,
                mic_code=i.mic_code,
                instrument_type=i.instrument_type,
                country=i.country,
                currency=i.currency,
                exchange_timezone=i.timezone,
            )
            for i in catalog.search(query, limit)
        ]

    def list_stocks(self, *, exchange: str | None = None, country: str | None = None) -> list[StockListing]:
        return [
            StockListing(
                symbol=i.symbol,
                name=i.name,
                currency=i.currency,
                exchange=i.exchange,
                mic_code=i.mic_code,
                country=i.country,
                instrument_type=i.instrument_type,
                isin=i.isin,
            )
            for i in catalog.INSTRUMENTS.values()
            if i.kind != "fx"
            and (exchange is None or (i.exchange or "").upper() == exchange.upper())
            and (country is None or (i.country or "").upper() == country.upper())
        ]

    def list_forex_pairs(
        self, *, currency_base: str | None = None, currency_quote: str | None = None
    ) -> list[ForexPair]:
        return [
            ForexPair(
                symbol=i.symbol,
                currency_base=i.currency_base or "",
                currency_quote=i.currency_quote or "",
                currency_group=catalog.FX_GROUPS.get(i.symbol),
            )
            for i in catalog.INSTRUMENTS.values()
            if i.kind == "fx"
            and (currency_base is None or i.currency_base == currency_base.upper())
            and (currency_quote is None or i.currency_quote == currency_quote.upper())
        ]

    def usage(self) -> Usage:
        return Usage(source=SOURCE, minute_used=0, day_used=0, as_of=self._clock())

    def close(self) -> None:
        return None
