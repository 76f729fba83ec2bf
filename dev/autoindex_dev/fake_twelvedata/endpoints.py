"""The fake's routing table and credit costs (reference section 7); the endpoints live in market and reference."""

from __future__ import annotations

from collections.abc import Callable

from autoindex_dev.fake_twelvedata.actions import ACTION_CREDITS, dividends, splits
from autoindex_dev.fake_twelvedata.common import BadRequest, Context, Reply, error, symbols_of
from autoindex_dev.fake_twelvedata.market import earliest_timestamp, eod, exchange_rate, price, quote, time_series
from autoindex_dev.fake_twelvedata.reference import api_usage, forex_pairs, stocks, symbol_search

__all__ = ["ROUTES", "BadRequest", "Context", "Reply", "api_usage", "cost_of", "error"]

PER_SYMBOL = "symbol"
PER_REQUEST = "request"
ROUTES: dict[str, tuple[Callable[[Context], Reply] | None, str]] = {
    "/time_series": (time_series, PER_SYMBOL),
    "/quote": (quote, PER_SYMBOL),
    "/price": (price, PER_SYMBOL),
    "/eod": (eod, PER_SYMBOL),
    "/exchange_rate": (exchange_rate, PER_SYMBOL),
    "/symbol_search": (symbol_search, PER_REQUEST),
    "/stocks": (stocks, PER_REQUEST),
    "/forex_pairs": (forex_pairs, PER_REQUEST),
    "/earliest_timestamp": (earliest_timestamp, PER_REQUEST),
    "/dividends": (dividends, PER_SYMBOL),
    "/splits": (splits, PER_SYMBOL),
    "/api_usage": (None, PER_REQUEST),  # answered by the server itself: it needs the ledger
}


def cost_of(path: str, params: dict[str, str]) -> int:
    """Credits a request costs: 1 per symbol on data endpoints (20 on /dividends and /splits), 1 elsewhere."""
    _, kind = ROUTES[path]
    weight = ACTION_CREDITS if path in ("/dividends", "/splits") else 1
    return weight * max(1, len(symbols_of(params))) if kind == PER_SYMBOL else 1
