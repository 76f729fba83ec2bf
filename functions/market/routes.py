"""Assets, prices and normalised history. Reads only, from the read engine, with ETags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from autoindex.auth.deps import ReaderPrincipal
from autoindex.lazy import lazy
from autoindex.market.schemas import (
    SYMBOL_PATTERN,
    AssetDetail,
    AssetPage,
    AssetQuery,
    HistoryQuery,
    HistoryRead,
    PricePage,
    PriceQuery,
)
from autoindex.web import export
from autoindex.web.deps import ReadUowDep
from autoindex.web.etag import etag_json
from fastapi import APIRouter, Path, Query, Request, Response

if TYPE_CHECKING:
    from autoindex.market import read as market_read
else:  # SQLAlchemy and the models load with the first request that reads (autoindex.lazy)
    market_read = lazy("autoindex.market.read")

router = APIRouter(prefix="/v1/assets", tags=["market"])
SymbolPath = Annotated[str, Path(pattern=SYMBOL_PATTERN, max_length=32, description="e.g. AAPL or USD/EUR")]
_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "OK"},
    304: {"description": "Not modified (If-None-Match)"},
}


# Routes with a suffix come first: `{symbol:path}` would otherwise swallow "USD/EUR/prices".
@router.get("/{symbol:path}/prices", response_model=PricePage, responses={**_OK, **export.CSV_RESPONSES})
def prices(
    symbol: SymbolPath, query: Annotated[PriceQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """Daily OHLCV bars, oldest first, `limit` at a time; `fields` picks columns. `Accept: text/csv` for CSV."""
    page = market_read.prices(uow=uow, symbol=symbol, query=query)
    name = "prices-" + page.symbol.replace("/", "-")
    return export.respond_model(request, page.model_dump_json().encode(), rows=export.items, name=name)


@router.get("/{symbol:path}/history", response_model=HistoryRead, responses=_OK)
def history(
    symbol: SymbolPath, query: Annotated[HistoryQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """Closing prices normalised to 100 at the start of the range, oldest first, `limit` days a page."""
    return etag_json(request, market_read.history(uow=uow, symbol=symbol, query=query))


@router.get("", response_model=AssetPage, responses=_OK)
def list_assets(
    query: Annotated[AssetQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """Assets, by symbol; filter by type and universe membership, search with `q`."""
    return etag_json(request, market_read.list_assets(uow=uow, query=query))


@router.get("/{symbol:path}", response_model=AssetDetail, responses=_OK)
def get_asset(symbol: SymbolPath, _: ReaderPrincipal, uow: ReadUowDep, request: Request) -> Response:
    """One asset, with its share splits."""
    return etag_json(request, market_read.get_asset(uow=uow, symbol=symbol))
