"""What operators see and do about the index: compute runs, recomputes on request, and the read cache."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from autoindex.db import keyset as runs_repo
from autoindex.errors import Conflict, NotFound, ValidationFailed
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.identity import audit
from autoindex.index import read_cache
from autoindex.index.admin_schemas import (
    CacheInvalidated,
    CacheStatsRead,
    ComputeAccepted,
    ComputeRequest,
    ComputeRunPage,
    ComputeRunRead,
    PublishedVersion,
    RebalanceAccepted,
    RebalanceRequestBody,
)
from autoindex.index.models import ComputeRun, IndexPublication, RebalanceRequest
from autoindex.index.publication import lock_publication
from autoindex.index.strategy import active_version

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal, RequestMeta


def request_compute(
    *, uow: UnitOfWork, principal: Principal, request: ComputeRequest, meta: RequestMeta
) -> ComputeAccepted:
    """Queue a compute run of the active version and audit it in one transaction; then publish.

    The compute job does the work (never this request). Should publishing fail, the run stays
    ``queued`` for operators to see, and the next ``PricesRefreshed`` computes the index anyway.
    """
    with uow:
        session = uow.session
        version = active_version(session)
        run = ComputeRun(
            id=uuid.uuid4(), trigger=EventName.COMPUTE_REQUESTED, strategy_version=version.id, status="queued"
        )
        session.add(run)
        audit.record(
            session,
            action="admin.compute.request",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("compute_run", str(run.id)),
            details={"full": request.full, "reason": request.reason, "strategy_version": version.id},
        )
        accepted = ComputeAccepted(run_id=run.id, status=run.status, strategy_version=version.id, full=request.full)
    transport.publish(EventName.COMPUTE_REQUESTED, {"compute_run_id": str(accepted.run_id), "full": accepted.full})
    return accepted


def request_rebalance(
    *,
    uow: UnitOfWork,
    principal: Principal,
    body: RebalanceRequestBody,
    idempotency_key: str | None,
    meta: RequestMeta,
) -> RebalanceAccepted:
    """Queue an off-schedule rebalance at the next close (the day after the last index date); audited.

    The compute job passes every request's date to the engine, which rebalances at the first trading
    date on or after it and records the trigger ``request``. A second call with the same
    ``Idempotency-Key`` returns the first request.
    """
    from sqlalchemy import select

    with uow:
        session = uow.session
        lock_publication(session)  # the next close is after the last computed date, fixed under the lock
        if idempotency_key is not None:
            found = session.scalars(
                select(RebalanceRequest).where(RebalanceRequest.idempotency_key == idempotency_key)
            ).one_or_none()
            if found is not None:
                if found.reason != body.reason:
                    raise ValidationFailed(
                        "This Idempotency-Key was used for a rebalance with another reason; use a new key."
                    )
                return RebalanceAccepted(
                    request_id=found.id, effective_date=found.effective_date, reason=found.reason, joined=True
                )
        publication = session.get(IndexPublication, 1)
        last = publication.as_of if publication is not None else None
        effective = last + timedelta(days=1) if last is not None else datetime.now(UTC).date()
        actor_type, actor_id = principal.actor
        request = RebalanceRequest(
            id=uuid.uuid4(),
            effective_date=effective,
            reason=body.reason,
            requested_by=f"{actor_type}:{actor_id}"[:64],
            idempotency_key=idempotency_key,
        )
        session.add(request)
        audit.record(
            session,
            action="admin.rebalance.request",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("rebalance_request", str(request.id)),
            details={"reason": body.reason, "effective_date": effective.isoformat()},
        )
        return RebalanceAccepted(request_id=request.id, effective_date=effective, reason=body.reason, joined=False)


def get_compute_run(*, uow: UnitOfWork, run_id: uuid.UUID) -> ComputeRunRead:
    with uow:
        run = uow.session.get(ComputeRun, run_id)
        if run is None:
            raise NotFound("No such compute run.")
        return ComputeRunRead.model_validate(run)


def list_compute_runs(*, uow: UnitOfWork, limit: int, cursor: str | None) -> ComputeRunPage:
    """Newest first, keyset-paginated like the refresh runs."""
    with uow:
        rows, next_cursor = runs_repo.newest_first(uow.session, ComputeRun, kind="c", limit=limit, cursor=cursor)
        return ComputeRunPage(items=[ComputeRunRead.model_validate(r) for r in rows], next_cursor=next_cursor)


def _published(publication: IndexPublication | None) -> PublishedVersion | None:
    if publication is None or publication.strategy_version is None or publication.as_of is None:
        return None
    return PublishedVersion(
        data_version=publication.data_version,
        strategy_version=publication.strategy_version,
        as_of=publication.as_of,
        published_at=publication.updated_at,
        version_token=read_cache.version_token(publication.data_version, publication.updated_at),
    )


def cache_stats(*, uow: UnitOfWork) -> CacheStatsRead:
    """The published version against the token readers use, and how much is cached for it."""
    with uow:
        published = _published(uow.session.get(IndexPublication, 1))
    state = read_cache.state()
    return CacheStatsRead(
        backend=state.backend,
        reachable=state.reachable,
        published=published,
        current_token=state.current_token,
        in_step=published is not None and state.current_token == published.version_token,
        entries_current=state.entries_current,
        entries_counted_all=state.entries_counted_all,
        local_entries=state.local_entries,
        local_bytes=state.local_bytes,
    )


def invalidate_cache(*, uow: UnitOfWork, principal: Principal, meta: RequestMeta) -> CacheInvalidated:
    """Republish the current data under a new token, so every cached read and ETag is replaced.

    The data version stays (the numbers did not change); the publication time moves forward, under
    the compute lock, so the new token is the newest and a compute running at the same time simply
    publishes after it. The warmer rebuilds the common reads for the new token.
    """
    with uow:
        session = uow.session
        lock_publication(session)
        publication = session.get(IndexPublication, 1)
        published = _published(publication)
        if publication is None or published is None:
            raise Conflict("The index has not been computed yet; there is no cached read to invalidate.")
        # Strictly later than the last publication, and a different token, even if the clock stepped back.
        at = max(datetime.now(UTC), published.published_at + timedelta(microseconds=1))
        while read_cache.version_token(publication.data_version, at) == published.version_token:
            at += timedelta(microseconds=1)
        publication.updated_at = at
        token = read_cache.version_token(publication.data_version, at)
        audit.record(
            session,
            action="admin.cache.invalidate",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("index_publication", str(publication.data_version)),
            details={"previous_token": published.version_token, "version_token": token},
        )
        result = CacheInvalidated(
            previous_token=published.version_token, version_token=token, data_version=publication.data_version
        )
    # After the commit only, as for a compute: readers are never pointed at a token that might roll back.
    read_cache.publish_version(result.version_token)
    transport.publish(
        EventName.CACHE_INVALIDATED, {"version_token": result.version_token, "data_version": result.data_version}
    )
    return result
