"""Start a refresh run: plan what is missing, record the run and its batches, queue them, in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from autoindex.events import transport
from autoindex.identity import audit
from autoindex.market import queries as market_repo
from autoindex.market.models import RefreshBatch, RefreshRun
from autoindex.market.planning import RefreshPlan, SymbolProgress, plan_refresh
from autoindex.market.providers.splits import SPLITTING_TYPES
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import RequestMeta

# One number for pg_advisory_xact_lock: refresh planning is serialised across every instance.
_PLANNING_LOCK = 0x41_49_52_46  # "AIRF"


@dataclass(frozen=True, slots=True)
class RunTicket:
    run: RefreshRun
    joined: bool  # True when an active or identical run answered instead of a new one


def _run_to_join(session: Session, key: str | None) -> RefreshRun | None:
    """The run this key already started, else the active run: either answers instead of a new one."""
    return (market_repo.run_by_key(session, key) if key else None) or market_repo.active_run(session)


def _progress(session: Session) -> list[SymbolProgress]:
    last_bars = market_repo.last_price_dates(session)
    return [
        SymbolProgress(
            symbol=a.symbol,
            last_bar=last_bars.get(a.id),
            checked_through=a.prices_checked_through,
            splits_unread=a.asset_type in SPLITTING_TYPES and a.splits_checked_through is None,
        )
        for a in market_repo.active_assets(session)
    ]


def _record_run(
    session: Session, plan: RefreshPlan, *, trigger: str, requested_by: str | None, key: str | None, now: datetime
) -> RefreshRun:
    """The run and its batches; a run with nothing to fetch is born finished."""
    run = RefreshRun(
        id=uuid.uuid4(),
        trigger=trigger,
        requested_by=requested_by,
        idempotency_key=key,
        status="queued" if plan.batches else "succeeded",
        batches_total=len(plan.batches),
        created_at=now,
        finished_at=None if plan.batches else now,
    )
    session.add(run)
    session.flush()  # the run row first (batches reference it); the one-active-run index speaks here
    for seq, batch in enumerate(plan.batches):
        session.add(
            RefreshBatch(
                run_id=run.id,
                seq=seq,
                symbols=list(batch.symbols),
                start_date=batch.start,
                end_date=batch.end,
                backfill=batch.backfill,
            )
        )
    return run


def request_refresh(
    *,
    uow: UnitOfWork,
    trigger: str,
    requested_by: str | None,
    idempotency_key: str | None,
    meta: RequestMeta | None,
    now: datetime | None = None,
) -> RunTicket:
    """Start a run, or join the active one (or the one this idempotency key already started).

    The plan, the run, its batches and the queued messages commit together: a failure anywhere
    leaves no run behind, and a run never exists without its work queued.
    """
    settings = get_settings()
    now = now or datetime.now(UTC)
    try:
        with uow:
            session = uow.session
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PLANNING_LOCK})
            existing = _run_to_join(session, idempotency_key)
            if existing is not None:
                return RunTicket(run=existing, joined=True)
            plan = plan_refresh(
                _progress(session),
                now=now,
                exchange_timezone=settings.market_timezone,
                settle=timedelta(minutes=settings.twelvedata_close_settle_min),
                history_start=settings.history_start,
                batch_symbols=settings.refresh_batch_symbols,
                max_bars=settings.refresh_max_bars_per_call,
                overlap=settings.refresh_overlap_bars,
            )
            run = _record_run(session, plan, trigger=trigger, requested_by=requested_by, key=idempotency_key, now=now)
            audit.record(
                session,
                action="pipeline.refresh.request",
                outcome="success",
                meta=meta,
                actor=("user", requested_by) if requested_by and trigger == "admin" else ("system", trigger),
                target=("refresh_run", str(run.id)),
                details={"batches": len(plan.batches), "through": plan.through.isoformat()},
            )
            session.flush()  # everything written before anything is queued
            if plan.batches:
                transport.enqueue("ingest", [{"run_id": str(run.id), "seq": seq} for seq in range(len(plan.batches))])
            return RunTicket(run=run, joined=False)
    except IntegrityError:
        # Another instance started a run between our check and our insert: join it.
        with uow:
            existing = _run_to_join(uow.session, idempotency_key)
            if existing is None:
                raise
            return RunTicket(run=existing, joined=True)
