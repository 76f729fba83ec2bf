"""Operator routes. Every one needs the `admin` scope, and every change is audited."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from autoindex.auth.deps import AdminPrincipal
from autoindex.identity.audit_schemas import AuditPage, AuditQuery
from autoindex.index.admin_schemas import (
    CacheInvalidated,
    CacheStatsRead,
    ComputeAccepted,
    ComputeRequest,
    ComputeRunPage,
    ComputeRunRead,
    RebalanceAccepted,
    RebalanceRequestBody,
)
from autoindex.lazy import lazy
from autoindex.market.schemas import (
    SYMBOL_PATTERN,
    FreshnessRead,
    ProviderUsageRead,
    RunAccepted,
    RunPage,
    RunRead,
    UniverseAssetRead,
    UniverseChange,
)
from autoindex.schemas import PageQuery
from autoindex.web.deps import ReadUowDep, RequestMetaDep, UowDep
from autoindex.web.ratelimit import rate_limit
from fastapi import APIRouter, Depends, Header, Path, Query, Response, status

if TYPE_CHECKING:
    from autoindex.identity import audit_log
    from autoindex.index import admin as index_admin
    from autoindex.market import admin as pipeline_admin
    from autoindex.market import refresh
    from autoindex.ops import freshness as data_freshness_service
else:  # SQLAlchemy and the models load with the first request that needs them (autoindex.lazy)
    audit_log = lazy("autoindex.identity.audit_log")
    index_admin = lazy("autoindex.index.admin")
    pipeline_admin = lazy("autoindex.market.admin")
    refresh = lazy("autoindex.market.refresh")
    data_freshness_service = lazy("autoindex.ops.freshness")

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(rate_limit("admin"))])
SymbolPath = Annotated[str, Path(pattern=SYMBOL_PATTERN, max_length=32)]


@router.get(
    "/audit",
    responses={
        422: {
            "description": "Invalid parameters. Also when `since` is not before `until` (a bound across two "
            "parameters, which a schema cannot state)."
        }
    },
)
def read_audit(_: AdminPrincipal, query: Annotated[AuditQuery, Query()], uow: ReadUowDep) -> AuditPage:
    """The audit trail, newest first, filtered and cursor-paginated."""
    return audit_log.list_events(uow=uow, query=query)


@router.post("/refresh", status_code=status.HTTP_202_ACCEPTED)
def start_refresh(
    principal: AdminPrincipal,
    uow: UowDep,
    meta: RequestMetaDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=100, pattern=r"^[\w.:-]+$")] = None,
) -> RunAccepted:
    """Start a refresh of what is missing (or join the active run); the work happens in the ingest jobs."""
    ticket = refresh.request_refresh(
        uow=uow,
        trigger="admin",
        requested_by=str(principal.user_id),
        idempotency_key=f"admin:{idempotency_key}" if idempotency_key else None,
        meta=meta,
    )
    response.headers["Location"] = f"/v1/admin/runs/{ticket.run.id}"
    run = ticket.run
    return RunAccepted(run_id=run.id, status=run.status, joined=ticket.joined, batches_total=run.batches_total)


@router.get("/runs")
def list_runs(
    _: AdminPrincipal,
    uow: ReadUowDep,
    page: Annotated[PageQuery, Query()],
) -> RunPage:
    """Refresh runs, newest first."""
    return pipeline_admin.list_runs(uow=uow, limit=page.limit, cursor=page.cursor)


@router.get("/runs/{run_id}")
def get_run(run_id: uuid.UUID, _: AdminPrincipal, uow: ReadUowDep) -> RunRead:
    """One run's status, progress, credits and per-symbol errors."""
    return pipeline_admin.get_run(uow=uow, run_id=run_id)


@router.get("/freshness")
def freshness(_: AdminPrincipal, uow: ReadUowDep) -> FreshnessRead:
    """The newest bar per symbol, which symbols are behind the last final session, and which feeds are frozen.

    Not paged: one entry per stored asset and feed, so its size is bounded by the universe, not by use."""
    return data_freshness_service.data_freshness(uow=uow)


@router.get("/provider/usage")
def provider_usage(_: AdminPrincipal) -> ProviderUsageRead:
    """Credits used this minute and today against the plan, and the provider circuit's state."""
    return pipeline_admin.provider_usage()


@router.put(
    "/universe/{symbol:path}",
    responses={
        201: {"description": "Created (the asset was new)"},
        409: {
            "description": "The change would leave no usable benchmark: the benchmark asset stays active "
            "and is replaced (`is_benchmark: true` on another), never just unset."
        },
        422: {
            "description": "Invalid body. Also when the symbol is not stored yet and `name`, `asset_type` or "
            "`currency` is missing or null: a new asset needs all three, a change to a stored one needs none; "
            "or when `is_benchmark: true` names an asset that is not an active one with stored prices (add it, "
            "refresh it, then make it the benchmark)."
        },
    },
)
def put_universe(
    *,
    symbol: SymbolPath,
    body: UniverseChange,
    principal: AdminPrincipal,
    uow: UowDep,
    meta: RequestMetaDep,
    response: Response,
) -> UniverseAssetRead:
    """Add an asset to the universe, or change it (benchmark, activity, metadata, CIK)."""
    asset, created = pipeline_admin.put_universe(uow=uow, principal=principal, symbol=symbol, change=body, meta=meta)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return UniverseAssetRead.model_validate(asset)


@router.delete("/universe/{symbol:path}", status_code=status.HTTP_204_NO_CONTENT)
def remove_from_universe(symbol: SymbolPath, principal: AdminPrincipal, uow: UowDep, meta: RequestMetaDep) -> Response:
    """Take an asset out of the universe (its history is kept)."""
    pipeline_admin.remove_from_universe(uow=uow, principal=principal, symbol=symbol, meta=meta)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/compute", status_code=status.HTTP_202_ACCEPTED)
def start_compute(
    body: ComputeRequest, principal: AdminPrincipal, uow: UowDep, meta: RequestMetaDep, response: Response
) -> ComputeAccepted:
    """Queue a compute of the active strategy version (`full` rebuilds every day); the compute job does it."""
    accepted = index_admin.request_compute(uow=uow, principal=principal, request=body, meta=meta)
    response.headers["Location"] = f"/v1/admin/compute-runs/{accepted.run_id}"
    return accepted


@router.post(
    "/rebalance",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        422: {
            "description": "Invalid body or header. Also when the `Idempotency-Key` was already used for a "
            "rebalance with another reason (stored data decides): a key names one request, so send a new key."
        }
    },
)
def request_rebalance(
    body: RebalanceRequestBody,
    principal: AdminPrincipal,
    uow: UowDep,
    meta: RequestMetaDep,
    idempotency_key: Annotated[str | None, Header(max_length=100, pattern=r"^[\w.:-]+$")] = None,
) -> RebalanceAccepted:
    """Queue an off-schedule rebalance at the next close; it is recorded with the trigger `request`."""
    return index_admin.request_rebalance(
        uow=uow,
        principal=principal,
        body=body,
        idempotency_key=f"admin:{idempotency_key}" if idempotency_key else None,
        meta=meta,
    )


@router.get("/compute-runs")
def list_compute_runs(
    _: AdminPrincipal,
    uow: ReadUowDep,
    page: Annotated[PageQuery, Query()],
) -> ComputeRunPage:
    """Compute runs (on new prices, strategy changes and requests), newest first."""
    return index_admin.list_compute_runs(uow=uow, limit=page.limit, cursor=page.cursor)


@router.get("/compute-runs/{run_id}")
def get_compute_run(run_id: uuid.UUID, _: AdminPrincipal, uow: ReadUowDep) -> ComputeRunRead:
    """One compute run: status, mode (full or incremental), data version and days added."""
    return index_admin.get_compute_run(uow=uow, run_id=run_id)


@router.get("/cache")
def cache_stats(_: AdminPrincipal, uow: ReadUowDep) -> CacheStatsRead:
    """The published data version against the token readers use, and the reads stored for it."""
    return index_admin.cache_stats(uow=uow)


@router.post("/cache/invalidate")
def invalidate_cache(principal: AdminPrincipal, uow: UowDep, meta: RequestMetaDep) -> CacheInvalidated:
    """Replace every cached index read and ETag with a new token for the same data; the warmer rebuilds them."""
    return index_admin.invalidate_cache(uow=uow, principal=principal, meta=meta)
