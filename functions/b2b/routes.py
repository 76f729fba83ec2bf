"""Webhooks (write scope to change, read scope to look), backtests (backtest scope) and usage: thin path operations."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from autoindex.auth.deps import ReaderPrincipal, WriterPrincipal, require_scope
from autoindex.backtests import service as backtests
from autoindex.backtests.schemas import BacktestAccepted, BacktestCreate, BacktestList, BacktestRead
from autoindex.errors import Conflict
from autoindex.identity.principal import Principal
from autoindex.schemas import PageQuery
from autoindex.usage import service as usage
from autoindex.usage.schemas import UsageRead
from autoindex.web import export
from autoindex.web.deps import ReadUowDep, RequestMetaDep, UowDep
from autoindex.webhooks import service as webhooks
from autoindex.webhooks.schemas import (
    DeliveryPage,
    RedeliveryAccepted,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookRead,
    WebhookUpdate,
)
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

router = APIRouter(prefix="/v1")
# Granted with the read scope (API keys) and to every account's own token.
BacktesterPrincipal = Annotated[Principal, Depends(require_scope("backtest"))]


@router.post(
    "/backtests",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["backtests"],
    responses={
        409: {
            "description": "Conflict with the current state: no strategy version is active yet, no close is "
            "stored for the assets yet (before the first price refresh), or the "
            "`Idempotency-Key` named a backtest its owner has since deleted (nothing is run again or counted; "
            "send a new key to run it again)."
        },
        422: {
            "description": "Invalid body or header. Also, by rules across fields or resources: a symbol not in the "
            "live universe; `strategy` parameters that, merged with the live ones, break a rule across fields (the "
            "blend weights sum to 1); `start` after `end` or more than BACKTEST_MAX_RANGE_DAYS before it; more "
            "symbols than BACKTEST_MAX_ASSETS where a deploy lowers it; `end` before the assets' first stored close or "
            "`start` after their last (nothing to report); an `Idempotency-Key` the caller already "
            "used for a backtest with another body (stored data decides): a key names one request, so send a new key."
        },
        429: {"description": "Too many running, or the daily quota is used up"},
    },
)
def create_backtest(
    body: BacktestCreate,
    principal: BacktesterPrincipal,
    uow: UowDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=100,
            pattern=r"^[\w.:-]+$",
            description="Names this request for BACKTEST_IDEMPOTENCY_HOURS (24): the same key and body again "
            "answer the same backtest (`joined: true`), with no second run or quota unit.",
        ),
    ] = None,
) -> BacktestAccepted:
    """Queue a backtest of the given parameters; follow ``Location`` for its progress and result."""
    accepted = backtests.submit(uow=uow, principal=principal, body=body, idempotency_key=idempotency_key)
    response.headers["Location"] = f"/v1/backtests/{accepted.id}"
    return accepted


@router.get("/backtests", tags=["backtests"])
def list_backtests(
    principal: BacktesterPrincipal, uow: ReadUowDep, page: Annotated[PageQuery, Query()]
) -> BacktestList:
    """The caller's backtests, newest first, without their results."""
    return backtests.list_for(uow=uow, principal=principal, limit=page.limit, cursor=page.cursor)


@router.get(
    "/backtests/{backtest_id}",
    tags=["backtests"],
    response_model=BacktestRead,
    responses={**export.CSV_RESPONSES, 409: {"description": "CSV asked for before the backtest succeeded"}},
)
def get_backtest(backtest_id: uuid.UUID, principal: BacktesterPrincipal, uow: ReadUowDep, request: Request) -> Response:
    """Status, progress and, once it succeeded, the report: metrics, the value series, allocations.
    `Accept: text/csv` gives the value series (date, value, live, benchmark)."""
    report = backtests.get(uow=uow, principal=principal, backtest_id=backtest_id)
    if export.wants_csv(request) and report.result is None:
        raise Conflict("The backtest has not succeeded: there is no series to export.")
    body = report.model_dump_json().encode()
    return export.respond_model(request, body, rows=_series_rows, name=f"backtest-{backtest_id}")


def _series_rows(document: Any) -> list[dict[str, Any]]:
    return list(document["result"]["series"])


@router.delete("/backtests/{backtest_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["backtests"])
def delete_backtest(backtest_id: uuid.UUID, principal: BacktesterPrincipal, uow: UowDep) -> Response:
    backtests.delete(uow=uow, principal=principal, backtest_id=backtest_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, tags=["webhooks"])
def create_webhook(
    body: WebhookCreate, principal: WriterPrincipal, uow: UowDep, meta: RequestMetaDep, response: Response
) -> WebhookCreated:
    """Subscribe a URL to events. The signing secret is in this response only (docs/webhooks.md)."""
    created = webhooks.create(uow=uow, principal=principal, body=body, meta=meta)
    response.headers["Location"] = f"/v1/webhooks/{created.id}"
    response.headers["Cache-Control"] = "no-store"  # it carries the signing secret: no cache may keep it
    return created


@router.get("/webhooks", tags=["webhooks"])
def list_webhooks(principal: ReaderPrincipal, uow: ReadUowDep) -> WebhookList:
    """The caller's webhooks, without their secrets; a disabled one says why.

    Not paged: an account holds at most `WEBHOOK_MAX_PER_USER` (20) webhooks, so this is the whole list."""
    return webhooks.list_for(uow=uow, principal=principal)


@router.get("/webhooks/{webhook_id}", tags=["webhooks"])
def get_webhook(webhook_id: uuid.UUID, principal: ReaderPrincipal, uow: ReadUowDep) -> WebhookRead:
    return webhooks.get(uow=uow, principal=principal, endpoint_id=webhook_id)


@router.patch("/webhooks/{webhook_id}", tags=["webhooks"])
def update_webhook(
    webhook_id: uuid.UUID, body: WebhookUpdate, principal: WriterPrincipal, uow: UowDep, meta: RequestMetaDep
) -> WebhookRead:
    """Change the URL, events or description; ``active: true`` enables a disabled webhook again."""
    return webhooks.update(uow=uow, principal=principal, endpoint_id=webhook_id, body=body, meta=meta)


@router.post("/webhooks/{webhook_id}/rotate-secret", tags=["webhooks"])
def rotate_webhook_secret(
    webhook_id: uuid.UUID, principal: WriterPrincipal, uow: UowDep, meta: RequestMetaDep, response: Response
) -> WebhookCreated:
    """A new signing secret (shown this once); the old one also signs until the grace period ends."""
    rotated = webhooks.rotate_secret(uow=uow, principal=principal, endpoint_id=webhook_id, meta=meta)
    response.headers["Cache-Control"] = "no-store"  # it carries the signing secret: no cache may keep it
    return rotated


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["webhooks"])
def delete_webhook(webhook_id: uuid.UUID, principal: WriterPrincipal, uow: UowDep, meta: RequestMetaDep) -> Response:
    webhooks.delete(uow=uow, principal=principal, endpoint_id=webhook_id, meta=meta)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries", tags=["webhooks"])
def list_deliveries(
    webhook_id: uuid.UUID, principal: ReaderPrincipal, uow: ReadUowDep, page: Annotated[PageQuery, Query()]
) -> DeliveryPage:
    """The delivery log, newest first: status, attempts, the receiver's last answer."""
    return webhooks.deliveries(
        uow=uow, principal=principal, endpoint_id=webhook_id, limit=page.limit, cursor=page.cursor
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["webhooks"],
)
def redeliver(
    webhook_id: uuid.UUID,
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    principal: WriterPrincipal,
    uow: UowDep,
    meta: RequestMetaDep,
) -> RedeliveryAccepted:
    """Send a delivery's event again (a new delivery, the same event id)."""
    return webhooks.redeliver(uow=uow, principal=principal, endpoint_id=webhook_id, delivery_id=delivery_id, meta=meta)


@router.get("/usage", tags=["usage"])
def get_usage(principal: ReaderPrincipal, uow: ReadUowDep) -> UsageRead:
    """What the caller used today (UTC): requests by route group, the request quota left, backtests, deliveries."""
    return usage.report(uow=uow, principal=principal)
