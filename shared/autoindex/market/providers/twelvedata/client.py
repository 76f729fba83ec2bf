"""The Twelve Data provider, following ``../shared/reference/twelvedata-api.md``.

Daily bars come from ``/time_series`` with ``interval=1day``: many symbols per call (a comma
list, answered as a map keyed by symbol, with per-symbol errors on HTTP 200), at most as many
symbols per call as one minute of the credit budget holds. The caller's inclusive ``end`` is
sent as ``end_date = end + 1 day`` because the provider's daily ``end_date`` is exclusive.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from autoindex.market.providers.dividend_decode import Undecided, decode
from autoindex.market.providers.dividends import derive_dividends
from autoindex.market.providers.incremental import RefreshedBars, SymbolState
from autoindex.market.providers.protocol import (
    ForexPair,
    ProviderCapabilities,
    ProviderError,
    Quote,
    StockListing,
    SymbolBars,
    SymbolError,
    SymbolMatch,
    SymbolNotFound,
    Usage,
)
from autoindex.market.providers.sessions import Clock, Sleep, utc_now
from autoindex.market.providers.splits import derive_splits
from autoindex.market.providers.twelvedata.parse import (
    SOURCE,
    error_body,
    is_symbol_problem,
    parse_dividends,
    parse_forex_pairs,
    parse_matches,
    parse_quote,
    parse_series,
    parse_stocks,
    parse_usage,
    split_batch,
)
from autoindex.market.providers.twelvedata.transport import Payload, TransportConfig, TwelveDataTransport

if TYPE_CHECKING:
    import httpx

    from autoindex.market.providers.budget import CreditBudget
    from autoindex.market.providers.circuit import CircuitBreaker
    from autoindex.market.providers.protocol import CreditHeaders
    from autoindex.settings import Settings

MAX_BARS = 5_000
CAPABILITIES = ProviderCapabilities(
    name=SOURCE,
    symbols_per_request=120,
    credits_per_symbol=1,
    supports_fx=True,
    supports_market_cap=False,  # /market_cap is not on the Basic plan; no weight may rely on it
    max_bars_per_request=MAX_BARS,
    split_credits_per_symbol=1,  # the adjust=none closes of a whole history, read beside it (see with_splits)
)


DividendMode = Literal["derived", "endpoint", "off"]
#: Credits per symbol of ``/dividends`` (Twelve Data's fundamentals weight; the reference is silent on it).
DIVIDENDS_ENDPOINT_CREDITS = 20
#: Extra credits per symbol of a daily-bars call, by how dividends are read.
_DIVIDEND_CREDITS: dict[str, int] = {"derived": 1, "endpoint": DIVIDENDS_ENDPOINT_CREDITS, "off": 0}


def _unique(symbols: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for symbol in symbols:
        key = symbol.strip().upper()
        if key and key not in seen:
            seen.add(key)
            out.append(symbol.strip())
    return out


def _merge(newer: SymbolBars, older: SymbolBars | SymbolError) -> SymbolBars:
    if isinstance(older, SymbolError):
        return newer
    known = {bar.date for bar in newer.bars}
    bars = tuple(bar for bar in older.bars if bar.date not in known) + newer.bars
    return SymbolBars(
        symbol=newer.symbol,
        bars=bars,
        rejected=older.rejected + newer.rejected,
        source=newer.source,
        currency=newer.currency,
        exchange=newer.exchange,
        exchange_timezone=newer.exchange_timezone,
        instrument_type=newer.instrument_type,
        unfinished_dropped=newer.unfinished_dropped,
    )


def _splits_read(history: SymbolBars, unadjusted: SymbolBars, start: date) -> SymbolBars:
    """``history`` with the splits read off its unadjusted closes (complete from its second bar on)."""
    since = history.bars[0].date + timedelta(days=1) if history.bars else start
    return dataclasses.replace(history, splits=derive_splits(history.bars, unadjusted.bars), splits_from=since)


class TwelveDataProvider:
    """A :class:`~autoindex.market.providers.protocol.MarketDataProvider` over the Twelve Data REST API.

    Parameters
    ----------
    transport
        The HTTP side (auth, budget, circuit, retries).
    clock
        "Now", to hold back today's unfinished bar.
    settle
        How long after the close a daily bar may still change.
    max_symbols_per_call
        Symbols per ``/time_series`` call; at most 120 and at most one minute of credits.
    dividends
        ``derived``: a second ``/time_series`` call with ``adjust=all`` over the same window, and the
        dividends read off the two bases (one more credit per symbol); ``endpoint``: ``/dividends`` per
        symbol (plans that have it); ``off``: none (``SymbolBars.dividends_from`` stays None).
    revision_tolerance
        ``REVISION_TOLERANCE``: :meth:`refresh_bars` reads a window off one call only when it would see a
        close that moved by more.
    """

    def __init__(
        self,
        transport: TwelveDataTransport,
        *,
        clock: Clock = utc_now,
        settle: timedelta = timedelta(minutes=30),
        max_symbols_per_call: int = CAPABILITIES.symbols_per_request,
        dividends: DividendMode = "off",
        revision_tolerance: float = 1e-6,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._settle = settle
        self._chunk = max(1, min(max_symbols_per_call, CAPABILITIES.symbols_per_request))
        self._dividends = dividends
        self._revision_tolerance = revision_tolerance  # what the one-call reading must not miss (refresh_bars)
        # What a symbol's daily bars cost in all: the bars, and the dividends read beside them.
        self._capabilities = dataclasses.replace(
            CAPABILITIES, credits_per_symbol=CAPABILITIES.credits_per_symbol + _DIVIDEND_CREDITS[dividends]
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        budget: CreditBudget | None = None,
        circuit: CircuitBreaker | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = time.sleep,
        http_transport: httpx.BaseTransport | None = None,
    ) -> TwelveDataProvider:
        """Build the provider from settings; the key is read here and kept only in the HTTP client.

        Raises
        ------
        ConfigurationError
            Neither TWELVEDATA_API_KEY nor TWELVEDATA_API_KEY_SECRET_ARN gives a key.
        """
        from autoindex.secret_store import twelvedata_api_key

        api_key = twelvedata_api_key()
        config = TransportConfig(
            base_url=settings.twelvedata_base_url,
            timeout_s=settings.twelvedata_timeout_s,
            connect_timeout_s=settings.twelvedata_connect_timeout_s,
            retry_attempts=settings.twelvedata_retry_attempts,
            backoff_s=settings.twelvedata_retry_backoff_s,
            backoff_max_s=settings.twelvedata_retry_backoff_max_s,
            minute_limit_retries=settings.twelvedata_minute_limit_retries,
            budget_max_wait_s=settings.provider_budget_max_wait_s,
        )
        transport = TwelveDataTransport(
            api_key=api_key,
            config=config,
            budget=budget,
            circuit=circuit,
            clock=clock,
            sleep=sleep,
            http_transport=http_transport,
        )
        minute = budget.minute_limit if budget is not None else settings.provider_credits_per_minute
        return cls(
            transport,
            clock=clock,
            settle=timedelta(minutes=settings.twelvedata_close_settle_min),
            max_symbols_per_call=minute // CAPABILITIES.credits_per_symbol,
            dividends=settings.twelvedata_dividends,
            revision_tolerance=settings.revision_tolerance,
        )

    def __repr__(self) -> str:
        return f"TwelveDataProvider({self._transport!r})"

    @property
    def capabilities(self) -> ProviderCapabilities:
        return self._capabilities

    @property
    def last_credits(self) -> CreditHeaders | None:
        """``api-credits-used`` / ``api-credits-left`` of the last response, if any."""
        return self._transport.last_credits

    def close(self) -> None:
        self._transport.close()

    # --- daily bars

    def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> dict[str, SymbolBars | SymbolError]:
        """Finished daily bars of each symbol over ``[start, end]``, keyed by the symbol as given.

        Duplicate symbols (ignoring case) are fetched once. A symbol with nothing in the range
        gets an empty :class:`SymbolBars`; one the provider does not know gets a
        :class:`SymbolError`. Whole-call failures raise (see :class:`TwelveDataTransport`).
        """
        if start > end:
            raise ValueError("start must not be after end")
        unique = _unique(symbols)
        out: dict[str, SymbolBars | SymbolError] = {}
        for i in range(0, len(unique), self._chunk):
            chunk = unique[i : i + self._chunk]
            bars = self._fetch(chunk, start, end)
            if self._dividends == "derived":
                bars = self._with_derived(bars, self._fetch(chunk, start, end, adjust="all"), start)
            elif self._dividends == "endpoint":
                bars = {s: self._with_listed(r, start, end) for s, r in bars.items()}
            out.update(bars)
        return out

    @staticmethod
    def _with_derived(
        bars: dict[str, SymbolBars | SymbolError], adjusted: dict[str, SymbolBars | SymbolError], start: date
    ) -> dict[str, SymbolBars | SymbolError]:
        """Each symbol's bars with the dividends its ``adjust=all`` closes show (from its second bar on)."""
        out: dict[str, SymbolBars | SymbolError] = {}
        for symbol, result in bars.items():
            other = adjusted.get(symbol)
            if isinstance(result, SymbolBars) and isinstance(other, SymbolBars):
                since = result.bars[0].date + timedelta(days=1) if result.bars else start
                dividends = derive_dividends(result.bars, other.bars)
                out[symbol] = dataclasses.replace(result, dividends=dividends, dividends_from=since)
            else:
                out[symbol] = result
        return out

    def _with_listed(self, result: SymbolBars | SymbolError, start: date, end: date) -> SymbolBars | SymbolError:
        """A symbol's bars with ``/dividends`` over the same range (an error there leaves them unreported)."""
        if not isinstance(result, SymbolBars):
            return result
        params = {"symbol": result.symbol, "start_date": start.isoformat(), "end_date": end.isoformat()}
        payload = self._transport.get("/dividends", params, cost=DIVIDENDS_ENDPOINT_CREDITS)
        if payload.error:
            return result
        return dataclasses.replace(
            result, dividends=parse_dividends(payload.body, start=start, end=end), dividends_from=start
        )

    # --- the refresh window, knowing what is stored (the ingest job's incremental path)

    def refresh_bars(
        self, symbols: Sequence[str], start: date, end: date, states: Mapping[str, SymbolState]
    ) -> RefreshedBars:
        """The window's bars like :meth:`daily_bars`, with no dividend call where none is needed.

        An instrument that cannot pay (``states[s].pays_cash`` false: FX pairs, indices) gets one
        ``adjust=splits`` call in every mode. In ``derived`` mode a payer whose overlap is stored gets one
        ``adjust=all`` call, decoded against the stored closes (``providers/dividend_decode.py``); only when
        that cannot be exact does it get the ``adjust=splits`` call too, and the two-call reading. A symbol
        without a state is treated as a payer with nothing stored, i.e. as :meth:`daily_bars` treats it.
        """
        if start > end:
            raise ValueError("start must not be after end")
        unique = _unique(symbols)
        out = RefreshedBars(results={}, credits=0)
        for i in range(0, len(unique), self._chunk):
            got = self._refresh_chunk(unique[i : i + self._chunk], start, end, states)
            out = RefreshedBars(
                results={**out.results, **got.results},
                credits=out.credits + got.credits,
                one_call=out.one_call + got.one_call,
                two_calls={**out.two_calls, **got.two_calls},
            )
        return out

    def _refresh_chunk(
        self, chunk: list[str], start: date, end: date, states: Mapping[str, SymbolState]
    ) -> RefreshedBars:
        unknown = SymbolState(pays_cash=True)
        payers = [s for s in chunk if states.get(s, unknown).pays_cash] if self._dividends != "off" else []
        credits = 0
        out: dict[str, SymbolBars | SymbolError] = {}
        fully: dict[str, SymbolBars | SymbolError] = {}
        two_calls: dict[str, str] = {}
        if self._dividends == "derived" and payers:
            fully = self._fetch(payers, start, end, adjust="all")
            credits += CAPABILITIES.cost(len(payers))
            for symbol in payers:
                stored = states.get(symbol, unknown).stored
                answer = fully.get(symbol)
                if stored is None or not isinstance(answer, SymbolBars):
                    continue
                decision = decode(stored, answer.bars, tolerance=self._revision_tolerance, today=self._today(answer))
                if isinstance(decision, Undecided):
                    two_calls[symbol] = decision.reason
                    continue
                out[symbol] = dataclasses.replace(
                    answer, bars=decision.bars, dividends=decision.dividends, dividends_from=decision.since
                )
        rest = [s for s in chunk if s not in out]
        if rest:
            bars = self._fetch(rest, start, end)
            credits += CAPABILITIES.cost(len(rest))
            paying = {s: bars[s] for s in rest if s in payers}
            if self._dividends == "derived":
                bars.update(self._with_derived(paying, fully, start))
            elif self._dividends == "endpoint":
                listed = [s for s, r in paying.items() if isinstance(r, SymbolBars)]
                bars.update({s: self._with_listed(paying[s], start, end) for s in listed})
                credits += DIVIDENDS_ENDPOINT_CREDITS * len(listed)
            out.update(bars)
        return RefreshedBars(results=out, credits=credits, one_call=tuple(s for s in payers if s not in rest),
                             two_calls=two_calls)  # fmt: skip

    def _today(self, result: SymbolBars) -> date:
        """The provider's current date for this symbol: its exchange's (UTC days without one)."""
        return self._clock().astimezone(ZoneInfo(result.exchange_timezone or "UTC")).date()

    def _fetch(
        self, chunk: list[str], start: date, end: date, *, adjust: str = "splits"
    ) -> dict[str, SymbolBars | SymbolError]:
        params = {
            "symbol": ",".join(chunk),
            "interval": "1day",
            "start_date": start.isoformat(),
            "end_date": (end + timedelta(days=1)).isoformat(),  # exclusive for daily bars
            "outputsize": str(MAX_BARS),
            # Split-adjusted, said out loud: the default has differed between the API and its SDKs, and the
            # index needs one basis (price return; dividends are not folded into the closes). "all" is
            # asked for only to read the dividends off it.
            "adjust": adjust,
        }
        payload = self._transport.get("/time_series", params, cost=CAPABILITIES.cost(len(chunk)))
        body = error_body(*payload.error) if payload.error else payload.body
        now = self._clock()
        out: dict[str, SymbolBars | SymbolError] = {}
        for symbol, part in split_batch(body, chunk).items():
            page = parse_series(symbol, part, start=start, end=end, now=now, settle=self._settle)
            result = page.result
            if isinstance(result, SymbolBars) and page.raw_count >= MAX_BARS and page.oldest and page.oldest > start:
                # The provider stopped at 5000 bars (newest first): fetch what lies before them.
                older = self._fetch([symbol], start, page.oldest - timedelta(days=1), adjust=adjust)[symbol]
                result = _merge(result, older)
            out[symbol] = result
        return out

    # --- splits of a whole history

    def with_splits(
        self, histories: Mapping[str, SymbolBars], start: date, end: date
    ) -> dict[str, SymbolBars | SymbolError]:
        """Each history with the splits its ``adjust=none`` closes show against its split-adjusted ones.

        One more ``/time_series`` call over the same window, one credit a symbol (``split_cost``): cheaper
        than ``/splits`` (a fundamentals weight per symbol) and read off the very closes that are stored. A
        symbol whose unadjusted closes did not come back keeps ``splits_from`` None (its stored splits stay).
        """
        symbols = list(histories)
        out: dict[str, SymbolBars | SymbolError] = dict(histories)
        for i in range(0, len(symbols), self._chunk):
            chunk = symbols[i : i + self._chunk]
            for symbol, raw in self._fetch(chunk, start, end, adjust="none").items():
                if isinstance(raw, SymbolBars):
                    out[symbol] = _splits_read(histories[symbol], raw, start)
        return out

    # --- what a batch may spend, call by call (the ingest's time-left check)

    def batch_calls(self, symbols: int, *, whole_history: bool) -> tuple[int, ...]:
        """The credits of each call a batch of ``symbols`` makes at most, in the order :meth:`refresh_bars` and
        :meth:`with_splits` make them: per chunk the split-adjusted call and the dividends' (``adjust=all``, or
        ``/dividends`` per symbol), then for a whole history the unadjusted call per chunk.

        At most: every symbol a payer, every payer falling back to two calls, every history a stock's. A window
        of at most ``MAX_BARS`` sessions (the planner's limit) is one page; a revision's re-fetch is not known
        in advance and not counted.
        """
        chunks = [min(self._chunk, symbols - i) for i in range(0, max(symbols, 0), self._chunk)]
        per_call = CAPABILITIES.credits_per_symbol
        calls: list[int] = []
        for size in chunks:
            calls.append(per_call * size)
            if self._dividends == "derived":
                calls.append(per_call * size)
            elif self._dividends == "endpoint":
                calls.extend([DIVIDENDS_ENDPOINT_CREDITS] * size)
        if whole_history:
            calls.extend(CAPABILITIES.split_cost(size) for size in chunks)
        return tuple(calls)

    # --- single-call endpoints

    def _call(self, path: str, params: dict[str, str]) -> Payload:
        return self._transport.get(path, params, cost=1)

    def _refused(self, payload: Payload) -> ProviderError:
        code, message = payload.error or (None, "")
        return ProviderError("The provider refused the request.", code=code, provider_message=message)

    def latest_quote(self, symbol: str) -> Quote:
        """The latest daily quote; raises SymbolNotFound for an unknown or plan-gated symbol."""
        payload = self._call("/quote", {"symbol": symbol.strip(), "interval": "1day"})
        if payload.error:
            code, message = payload.error
            if is_symbol_problem(code, message):
                raise SymbolNotFound(symbol, code=code, provider_message=message)
            raise self._refused(payload)
        return parse_quote(symbol, payload.body)

    def search_symbols(self, query: str, limit: int = 30) -> list[SymbolMatch]:
        payload = self._call("/symbol_search", {"symbol": query.strip(), "outputsize": str(max(1, min(limit, 120)))})
        if payload.error:
            raise self._refused(payload)
        return parse_matches(payload.body)

    def list_stocks(self, *, exchange: str | None = None, country: str | None = None) -> list[StockListing]:
        params = {k: v for k, v in {"exchange": exchange, "country": country}.items() if v}
        payload = self._call("/stocks", params)
        if payload.error:
            raise self._refused(payload)
        return parse_stocks(payload.body)

    def list_forex_pairs(
        self, *, currency_base: str | None = None, currency_quote: str | None = None
    ) -> list[ForexPair]:
        params = {k: v for k, v in {"currency_base": currency_base, "currency_quote": currency_quote}.items() if v}
        payload = self._call("/forex_pairs", params)
        if payload.error:
            raise self._refused(payload)
        return parse_forex_pairs(payload.body)

    def usage(self) -> Usage:
        """``/api_usage`` (it costs one credit, like any call)."""
        payload = self._call("/api_usage", {})
        if payload.error:
            raise self._refused(payload)
        return parse_usage(payload.body)
