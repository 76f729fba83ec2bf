"""CIKs for stocks that lack one (an admin adds a stock by its ticker), from SEC's ticker map: a step of the
weekly share-count job (``market.share_counts``).

The map comes from the cache (``market.ticker_cache``) or, when none is cached, from one request through
the job's own source (the paced EDGAR client, or the demo market's), and is then cached. It is read
strictly (``market.tickers``): a map that cannot be fetched or read (throttled, truncated, garbage)
resolves nothing, caches nothing and raises nothing, so the job still refreshes the stocks whose CIK
was known. A ticker the map lacks keeps no CIK (its cap falls back by the documented rule), and a CIK
another asset already holds is not given to a second ticker: EDGAR's counts are entity-wide, so GOOG
beside GOOGL would count Alphabet twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from autoindex.market.tickers import normalise_ticker, parse_company_tickers
from autoindex.observability import add_metric, logger

if TYPE_CHECKING:
    from autoindex.market.ticker_cache import TickerCache


class TickerMapSource(Protocol):
    def company_tickers(self) -> object:
        """SEC's ticker → CIK map as sent (``company_tickers.json``)."""
        ...


@dataclass(frozen=True, slots=True)
class Stock:
    asset_id: int
    symbol: str
    cik: int | None


@dataclass(frozen=True, slots=True)
class _Lookup:
    ciks: dict[str, int]  # normalised ticker -> CIK
    how: str  # cached | fetched | failed: <why>


def _lookup(source: TickerMapSource, cache: TickerCache | None, tickers: list[str]) -> _Lookup:
    """Each ticker's CIK from the cached map, else from one request (then cached); nothing on any failure."""
    from autoindex.market.edgar_client import EdgarError

    found = cache.lookup(tickers) if cache is not None else None
    if found is not None:
        return _Lookup({t: c for t, c in found.items() if c is not None}, "cached")
    try:
        mapping = parse_company_tickers(source.company_tickers())
    except (EdgarError, ValueError) as exc:  # throttled, unavailable, truncated, garbage: resolve nothing
        add_metric("EdgarTickerMapFailed")
        logger.warning("ticker map unreadable; stocks without a CIK wait for the next run", extra={"error": str(exc)})
        return _Lookup({}, f"failed: {exc}")
    if cache is not None:
        cache.store(mapping)
    return _Lookup({t: mapping[t] for t in tickers if t in mapping}, "fetched")


def resolve_ciks(
    source: TickerMapSource, cache: TickerCache | None, missing: list[Stock], held: set[int]
) -> tuple[list[Stock], str]:
    """The stocks of ``missing`` the map names, with their CIKs, and how the map was had.

    ``held`` is every CIK an asset already holds; the CIKs given here are added to it.
    """
    if not missing:
        return [], "not needed"
    lookup = _lookup(source, cache, sorted({normalise_ticker(s.symbol) for s in missing}))
    out: list[Stock] = []
    for stock in missing:
        cik = lookup.ciks.get(normalise_ticker(stock.symbol))
        if cik is None:
            continue
        if cik in held:
            logger.warning("CIK held by another asset; not assigned", extra={"symbol": stock.symbol, "cik": cik})
            continue
        held.add(cik)
        out.append(Stock(stock.asset_id, stock.symbol, cik))
    return out, lookup.how
