"""Strategy configuration (versioned; changes need the admin scope) and risk metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from autoindex.auth.deps import AdminPrincipal, ReaderPrincipal
from autoindex.index.schemas import (
    RiskMetricsQuery,
    RiskMetricsRead,
    StrategyAccepted,
    StrategyChange,
    StrategyHistory,
    StrategyVersionRead,
)
from autoindex.lazy import lazy
from autoindex.schemas import PageQuery
from autoindex.web.deps import ReadUowDep, RequestMetaDep, UowDep
from autoindex.web.etag import cached_json, etag_json, if_match_holds, model_etag
from autoindex.web.ratelimit import rate_limit
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

if TYPE_CHECKING:
    from autoindex.index import read as index_read
    from autoindex.index import strategy
else:  # SQLAlchemy and the models load with the first request that needs them (autoindex.lazy)
    index_read = lazy("autoindex.index.read")
    strategy = lazy("autoindex.index.strategy")

router = APIRouter(prefix="/v1/strategy", tags=["strategy"])
IF_MATCH_DOC = (
    "The `ETag` of the `GET /v1/strategy/config` this change was made from (as an admin reads it); `*` for "
    "any. Optional: without it the change applies whatever the active version is."
)
_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "OK"},
    304: {"description": "Not modified (If-None-Match)"},
}


@router.get("/config", response_model=StrategyVersionRead, responses=_OK)
def get_config(principal: ReaderPrincipal, uow: ReadUowDep, request: Request) -> Response:
    """The active strategy version (its author only for admins)."""
    return etag_json(request, strategy.get_config(uow=uow, show_author=principal.has("admin")))


@router.put(
    "/config",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(rate_limit("admin"))],
    responses={
        412: {
            "description": "`If-Match` names another representation than the current one: the strategy "
            "config changed since it was read (a new version, or a finished compute's disclosure; the problem "
            "says the active version)."
        },
        422: {
            "description": "Invalid body. Also when the three blend weights do not sum to 1, or a "
            "`benchmark_blend` names an asset twice or its weights do not sum to 1 (rules across fields), "
            "or names a symbol that is not a known, active asset with stored prices (the error names it)."
        },
    },
)
def put_config(
    body: StrategyChange,
    *,
    principal: AdminPrincipal,
    uow: UowDep,
    meta: RequestMetaDep,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=1024, description=IF_MATCH_DOC)] = None,
) -> StrategyAccepted:
    """Add a new active version; the compute job recomputes the index for it (follow the run id).

    The body replaces the whole configuration: a parameter it does not name takes its default, not the
    active version's value. Send `If-Match` with the `ETag` of the `GET` you edited so that a change made in
    between is a 412, not silently undone."""
    precondition = None if if_match is None else (lambda current: if_match_holds(if_match, model_etag(current)))
    accepted = strategy.update_config(uow=uow, principal=principal, change=body, meta=meta, precondition=precondition)
    response.headers["Location"] = "/v1/strategy/config"
    return accepted


@router.get("/config/history", response_model=StrategyHistory, responses=_OK)
def config_history(
    principal: ReaderPrincipal,
    uow: ReadUowDep,
    request: Request,
    page: Annotated[PageQuery, Query()],
) -> Response:
    """Every strategy version, newest first (authors only for admins)."""
    history = strategy.history(uow=uow, limit=page.limit, cursor=page.cursor, show_author=principal.has("admin"))
    return etag_json(request, history)


@router.get(
    "/risk-metrics",
    response_model=RiskMetricsRead,
    responses={**_OK, 409: {"description": "The index has not been computed yet"}},
)
def risk_metrics(
    query: Annotated[RiskMetricsQuery, Query()], _: ReaderPrincipal, uow: ReadUowDep, request: Request
) -> Response:
    """Risk metrics per period for the index and the benchmark, and one rolling series (30 or 90 days)."""
    return cached_json(request, index_read.risk_metrics(uow=uow, query=query))
