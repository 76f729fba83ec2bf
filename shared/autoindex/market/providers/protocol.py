"""What a market-data provider offers: the :class:`MarketDataProvider` protocol and its value types.

Prices are ``Decimal`` end to end (the database stores NUMERIC); a provider never hands back
a bar that failed validation, it reports it as a :class:`RejectedRow` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from autoindex.market.providers.errors import (
    AuthenticationFailed,
    BudgetUnavailable,
    CircuitOpen,
    DailyLimitExhausted,
    InvalidResponse,
    MinuteLimitExceeded,
    ProviderError,
    ProviderUnavailable,
    SymbolNotFound,
)

__all__ = [
    "AuthenticationFailed",
    "Bar",
    "BudgetUnavailable",
    "CircuitOpen",
    "CreditHeaders",
    "DailyLimitExhausted",
    "Dividend",
    "ForexPair",
    "InvalidResponse",
    "MarketDataProvider",
    "MinuteLimitExceeded",
    "ProviderCapabilities",
    "ProviderError",
    "ProviderUnavailable",
    "Quote",
    "RejectedRow",
    "Split",
    "StockListing",
    "SymbolBars",
    "SymbolError",
    "SymbolMatch",
    "SymbolNotFound",
    "Usage",
]


@dataclass(frozen=True, slots=True)
class ProviderCapabilities:
    """What one provider can do, and what a call costs against the plan."""

    name: str
    symbols_per_request: int  # most symbols one daily-bars call may carry
    credits_per_symbol: int  # credit weight of one symbol in a data call (weight x symbols = credits)
    supports_fx: bool
    supports_market_cap: bool
    max_bars_per_request: int  # the provider truncates longer ranges
    # Extra credits per symbol when a whole history's splits are read beside it (the adjust=none closes).
    split_credits_per_symbol: int = 0

    def cost(self, symbols: int) -> int:
        """Credits one data call for ``symbols`` symbols consumes."""
        return self.credits_per_symbol * symbols

    def split_cost(self, symbols: int) -> int:
        """Credits of reading the splits of ``symbols`` whole histories (:meth:`MarketDataProvider.with_splits`)."""
        return self.split_credits_per_symbol * symbols


@dataclass(frozen=True, slots=True)
class Bar:
    """One validated daily bar: positive prices, ``low <= open, close <= high``."""

    date: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int | None  # None for FX, which has no volume


@dataclass(frozen=True, slots=True)
class Dividend:
    """A cash distribution: ``amount`` per share (split-adjusted, like the bars) with its ex-date."""

    ex_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Split:
    """A share split effective on ``date`` (the first session on the new basis): ``shares_after`` new shares for
    every ``shares_before`` old ones (10 for 1 forward, 1 for 8 reverse)."""

    date: date
    shares_after: int
    shares_before: int

    @property
    def ratio(self) -> float:
        """New shares per old share: what a share count from before the split is multiplied by."""
        return self.shares_after / self.shares_before


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row the provider sent that failed validation; reported on the run, never stored."""

    symbol: str
    date: date | None
    reason: str
    raw: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SymbolBars:
    """The good bars of one symbol, oldest first, and what was rejected. Empty means "nothing new"."""

    symbol: str
    bars: tuple[Bar, ...]
    rejected: tuple[RejectedRow, ...] = ()
    source: str = "twelvedata"
    currency: str | None = None
    exchange: str | None = None
    exchange_timezone: str | None = None  # None for FX and crypto (UTC days)
    instrument_type: str | None = None
    unfinished_dropped: date | None = None  # today's in-progress bar, held back
    dividends: tuple[Dividend, ...] = ()  # ex-dates within the bars' range, oldest first
    # The first date from which ``dividends`` is complete; None when the provider did not report them
    # (the stored dividends are then left as they are).
    dividends_from: date | None = None
    splits: tuple[Split, ...] = ()  # effective dates within the bars' range, oldest first
    # The first date from which ``splits`` is complete; None when they were not read (stored ones stay).
    splits_from: date | None = None


@dataclass(frozen=True, slots=True)
class SymbolError:
    """One symbol of a batch that failed while the others succeeded."""

    symbol: str
    message: str
    code: int | None = None
    not_found: bool = False  # unknown symbol or not on the plan: retrying will not help


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest quote of one symbol (for daily data: the current or last session)."""

    symbol: str
    as_of: date
    close: Decimal
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    previous_close: Decimal | None = None
    volume: int | None = None
    currency: str | None = None
    name: str | None = None
    exchange: str | None = None
    is_market_open: bool | None = None
    source: str = "twelvedata"


@dataclass(frozen=True, slots=True)
class SymbolMatch:
    """One symbol-search result, most relevant first."""

    symbol: str
    name: str
    exchange: str | None = None
    mic_code: str | None = None
    instrument_type: str | None = None
    country: str | None = None
    currency: str | None = None
    exchange_timezone: str | None = None


@dataclass(frozen=True, slots=True)
class StockListing:
    """One entry of the provider's stock (and ETF, index) reference list."""

    symbol: str
    name: str
    currency: str | None = None
    exchange: str | None = None
    mic_code: str | None = None
    country: str | None = None
    instrument_type: str | None = None
    figi_code: str | None = None
    isin: str | None = None


@dataclass(frozen=True, slots=True)
class ForexPair:
    """One FX pair of the provider's reference list; base and quote are ISO 4217 codes."""

    symbol: str
    currency_base: str
    currency_quote: str
    currency_group: str | None = None


@dataclass(frozen=True, slots=True)
class CreditHeaders:
    """The ``api-credits-used`` / ``api-credits-left`` of the last response (a per-minute view)."""

    used: int | None
    left: int | None

    @property
    def limit(self) -> int | None:
        """Used plus left is the plan's per-minute limit."""
        if self.used is None or self.left is None:
            return None
        return self.used + self.left


@dataclass(frozen=True, slots=True)
class Usage:
    """The plan's usage as the provider reports it; None where it does not say."""

    source: str
    minute_used: int | None = None
    minute_limit: int | None = None
    day_used: int | None = None
    day_limit: int | None = None
    plan: str | None = None
    as_of: datetime | None = None


@runtime_checkable
class MarketDataProvider(Protocol):
    """A source of daily prices and reference data.

    ``daily_bars`` takes an inclusive ``[start, end]`` range of dates and never returns a bar
    that is still forming (today's bar before the close).
    """

    @property
    def capabilities(self) -> ProviderCapabilities: ...

    def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> dict[str, SymbolBars | SymbolError]:
        """Daily bars of each symbol from ``start`` to ``end`` inclusive, keyed by the symbol as given."""
        ...

    def with_splits(
        self, histories: Mapping[str, SymbolBars], start: date, end: date
    ) -> dict[str, SymbolBars | SymbolError]:
        """``histories`` (daily bars over ``[start, end]``) each with the splits effective within it.

        Costs ``capabilities.split_cost(len(histories))`` credits; only for instruments that can split.
        """
        ...

    def latest_quote(self, symbol: str) -> Quote:
        """The latest quote of ``symbol``; raises SymbolNotFound when the provider does not know it."""
        ...

    def search_symbols(self, query: str, limit: int = 30) -> list[SymbolMatch]:
        """Symbols matching ``query`` (a ticker, name fragment, ISIN or FIGI), most relevant first."""
        ...

    def list_stocks(self, *, exchange: str | None = None, country: str | None = None) -> list[StockListing]:
        """The provider's reference list of stocks, ETFs and indices, optionally filtered."""
        ...

    def list_forex_pairs(
        self, *, currency_base: str | None = None, currency_quote: str | None = None
    ) -> list[ForexPair]:
        """The provider's reference list of FX pairs, optionally filtered by ISO code."""
        ...

    def usage(self) -> Usage:
        """The plan's current usage as the provider reports it."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
