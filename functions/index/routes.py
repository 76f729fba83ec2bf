"""Index reads (cached by data version, ETag and 304), the simulation, currencies and the benchmark."""

from __future__ import annotations

from typing import Annotated, Any

from autoindex.auth.deps import ReaderPrincipal
from autoindex.index import analytics as index_analytics
from autoindex.index import read as index_read
from autoindex.index.schemas import (
    AllocationQuery,
    AllocationsRead,
    BenchmarkCompare,
    BenchmarkSeries,
    BenchmarkSeriesQuery,
    CompareQuery,
    CurrencyList,
    HistoryQuery,
    IndexCurrent,
    IndexHistory,
    RebalanceList,
    SeriesQuery,
    SimulationRead,
    SimulationRequest,
)
from autoindex.web import export
from autoindex.web.deps import ReadUowDep
from autoindex.web.etag import cached_json
from fastapi import APIRouter, Query, Request, Response

router = APIRouter(tags=["index"])
_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "OK"},
    304: {"description": "Not modified (If-None-Match)"},
    409: {"description": "The index has not been computed yet"},
}


# A 422 no schema can rule out: the stored index decides which dates it has.
_OUTSIDE_DATA: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid parameters. Also when the dates asked for lie wholly outside the index data."}
}
_TOO_SHORT: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid parameters. Also when the dates asked for lie outside the index data, hold fewer "
        "than two index dates, or start before the benchmark's first close."
    }
}


@router.get("/v1/index/current", response_model=IndexCurrent, responses=_OK)
async def current(_: ReaderPrincipal, uow: ReadUowDep, request: Request) -> Response:
    """Today's allocation: drifted weights at the last close, with the last rebalance's notes."""
    return cached_json(request, index_read.current(uow=uow))


@router.get(
    "/v1/index/history", response_model=IndexHistory, responses={**_OK, **export.CSV_RESPONSES, **_OUTSIDE_DATA}
)
async def history(
    query: Annotated[HistoryQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """Index values from the base date (100); `fields` adds daily returns or drawdowns. `Accept: text/csv` for CSV."""
    cached = index_read.history(uow=uow, query=query)
    x_cache = {"X-Cache": "hit" if cached.hit else "miss"}
    return export.respond(request, cached.body, cached.etag, rows=export.items, name="index-history", headers=x_cache)


@router.get(
    "/v1/index/allocations",
    response_model=AllocationsRead,
    responses={
        **_OK,
        **export.CSV_RESPONSES,
        422: {"description": "Invalid parameters. Also when `date` lies outside the index data."},
    },
)
async def allocations(
    query: Annotated[AllocationQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """The target weights of the rebalance in effect on `date` (default: the last index date); CSV on request."""
    cached = index_read.allocations(uow=uow, query=query)
    x_cache = {"X-Cache": "hit" if cached.hit else "miss"}
    return export.respond(
        request, cached.body, cached.etag, rows=export.allocation_rows, name="index-allocations", headers=x_cache
    )


@router.get("/v1/index/rebalances", response_model=RebalanceList, responses=_OK)
async def rebalances(
    query: Annotated[SeriesQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """Every rebalance of the served index (formation, scheduled, drift, requested, skipped) with its notes,
    market-cap leg and per-asset cap sources, oldest first."""
    return cached_json(request, index_read.rebalances(uow=uow, query=query))


@router.post(
    "/v1/index/simulate",
    responses={
        409: {"description": "The index has not been computed yet"},
        422: {
            "description": "Invalid body. Also, by rules that depend on the data or on two fields: `start_date` "
            "after `end_date` or more than INDEX_MAX_RANGE_DAYS before it; dates outside the index data or with "
            "no trading day between them; a currency without stored USD rates (GET /v1/currencies lists those "
            "accepted); an `amount` with more decimals than the currency has minor units."
        },
    },
)
def simulate(body: SimulationRequest, _: ReaderPrincipal, uow: ReadUowDep) -> SimulationRead:
    """What an investment would be worth, converted at each date's historical FX rate."""
    return index_analytics.simulate(uow=uow, request=body)


@router.get("/v1/currencies", response_model=CurrencyList, responses=_OK)
async def currencies(_: ReaderPrincipal, uow: ReadUowDep, request: Request) -> Response:
    """The currencies a simulation accepts.

    Not paged: one entry per currency with stored USD rates, bounded by the universe's FX pairs."""
    return cached_json(request, index_read.currencies(uow=uow))


@router.get("/v1/benchmark/series", response_model=BenchmarkSeries, responses={**_OK, **_OUTSIDE_DATA})
async def benchmark_series(
    query: Annotated[BenchmarkSeriesQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """The benchmark the served strategy measures itself against (its blend, or the benchmark asset; for
    `return_type=total` the total-return benchmark when one is set), the same one `/v1/benchmark/compare`
    measures, on every index date of the range, normalised to 100 at the first."""
    return cached_json(request, index_analytics.benchmark_series(uow=uow, query=query))


@router.get("/v1/benchmark/compare", response_model=BenchmarkCompare, responses={**_OK, **_TOO_SHORT})
async def benchmark_compare(
    query: Annotated[CompareQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """Risk metrics of the index and the benchmark over one range, and their difference."""
    return cached_json(request, index_analytics.compare(uow=uow, query=query))
