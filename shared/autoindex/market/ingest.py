"""Ingest one refresh batch: claim it, fetch it within the shared credit budget, store it all or nothing.

Exactly-once effect under at-least-once delivery: a batch is claimed with a lease in a short
transaction, fetched outside any transaction, and written together with its "done" mark and
the run's progress in one transaction. A duplicate message finds the batch done (or leased)
and does nothing; a crash before the final commit leaves no row, and the retry completes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from autoindex.db.uow import UnitOfWork
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.market import queries as market_repo
from autoindex.market.batch_results import MAX_REASON, sort_results
from autoindex.market.deadline import batch_fits, wait_for_room
from autoindex.market.models import RefreshBatch, RefreshRun
from autoindex.market.providers import factory
from autoindex.market.providers.protocol import (
    AuthenticationFailed,
    DailyLimitExhausted,
    ProviderError,
    SymbolBars,
    SymbolError,
)
from autoindex.observability import add_metric, logger
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from autoindex.market.providers.protocol import MarketDataProvider

Status = Literal["done", "failed", "duplicate", "unknown"]
_LEASE = timedelta(minutes=5)


class BatchBusy(Exception):
    """Another delivery holds this batch's lease; this one should come back later."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    status: Status
    rows_written: int = 0
    run_finished: bool = False


def _claim(run_id: uuid.UUID, seq: int, now: datetime) -> tuple[RefreshBatch | None, Status | None]:
    with UnitOfWork() as uow:
        batch = market_repo.batch_for_update(uow.session, run_id, seq)
        if batch is None:
            return None, "unknown"  # its run never committed: nothing to do
        if batch.status in ("done", "failed"):
            return batch, "duplicate"
        if batch.lease_until is not None and batch.lease_until > now:
            raise BatchBusy(f"batch {run_id}/{seq} is leased until {batch.lease_until.isoformat()}")
        batch.lease_until = now + _LEASE
        batch.attempts += 1
        run = market_repo.run_for_update(uow.session, run_id)
        if run.status == "queued":
            run.status, run.started_at = "running", now
        return batch, None


def _release(run_id: uuid.UUID, seq: int) -> None:
    with UnitOfWork() as uow:
        batch = market_repo.batch_for_update(uow.session, run_id, seq)
        if batch is not None and batch.status == "pending":
            batch.lease_until = None


def _finish_run(run: RefreshRun, now: datetime) -> bool:
    if run.batches_done + run.batches_failed < run.batches_total:
        return False
    if run.batches_done == 0:
        run.status = "failed"
    elif run.batches_failed or run.errors:
        run.status = "partial"
    else:
        run.status = "succeeded"
    run.finished_at = now
    return True


def _store(
    batch: RefreshBatch, results: dict[str, SymbolBars | SymbolError], credits: int, now: datetime
) -> BatchOutcome:
    with UnitOfWork() as uow:
        session = uow.session
        current = market_repo.batch_for_update(session, batch.run_id, batch.seq)
        if current is None or current.status != "pending":
            return BatchOutcome(status="duplicate")
        assets = market_repo.assets_by_symbol(session, batch.symbols)
        ids = {symbol: asset.id for symbol, asset in assets.items()}
        got = sort_results(batch.symbols, batch.start_date, batch.end_date, ids, results)
        written = market_repo.upsert_prices(session, got.rows, source=got.source or "twelvedata", ingested_at=now)
        if got.checked:
            market_repo.mark_checked_through(session, got.checked, batch.end_date)
        current.status, current.rows_written, current.credits_used = "done", written, credits
        current.finished_at, current.lease_until = now, None
        run = market_repo.run_for_update(session, batch.run_id)
        run.batches_done += 1
        run.rows_written += written
        run.rows_rejected += got.rejected
        run.credits_used += credits
        if got.errors:
            run.errors = {**run.errors, **got.errors}
        finished = _finish_run(run, now)
    add_metric("RowsIngested", written)
    add_metric("ProviderCreditsUsed", credits)
    return BatchOutcome(status="done", rows_written=written, run_finished=finished)


def _fail(batch: RefreshBatch, reason: str, now: datetime) -> BatchOutcome:
    with UnitOfWork() as uow:
        current = market_repo.batch_for_update(uow.session, batch.run_id, batch.seq)
        if current is None or current.status != "pending":
            return BatchOutcome(status="duplicate")
        current.status, current.error, current.finished_at, current.lease_until = (
            "failed",
            reason[:MAX_REASON],
            now,
            None,
        )
        run = market_repo.run_for_update(uow.session, batch.run_id)
        run.batches_failed += 1
        run.errors = {**run.errors, **{symbol: reason[:MAX_REASON] for symbol in batch.symbols}}
        finished = _finish_run(run, now)
    return BatchOutcome(status="failed", run_finished=finished)


def publish_if_finished(run_id: uuid.UUID) -> bool:
    """Publish PricesRefreshed once for a finished run that wrote rows; safe to call again after a crash."""
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, run_id)
        if run is None or run.finished_at is None or run.event_published_at is not None or run.rows_written == 0:
            return False
        detail = {"run_id": str(run.id), "rows_written": run.rows_written, "status": run.status}
    transport.publish(EventName.PRICES_REFRESHED, detail)
    with UnitOfWork() as uow:
        market_repo.run_for_update(uow.session, run_id).event_published_at = datetime.now(UTC)
    add_metric("RunDurationSeconds", (run.finished_at - (run.started_at or run.created_at)).total_seconds(), "Seconds")
    return True


def ingest_batch(
    *, run_id: uuid.UUID, seq: int, provider: MarketDataProvider, final_attempt: bool, now: datetime | None = None
) -> BatchOutcome:
    """Process one queued batch. Raises (so the message is retried) on transient provider or database faults,
    unless this is the message's last delivery, in which case the batch is recorded as failed."""
    now = now or datetime.now(UTC)
    batch, early = _claim(run_id, seq, now)
    if early is not None or batch is None:
        if early == "duplicate":
            publish_if_finished(run_id)  # a crash may have come between the last commit and the event
        return BatchOutcome(status=early or "unknown")
    try:
        results = provider.daily_bars(batch.symbols, batch.start_date, batch.end_date)
    except (DailyLimitExhausted, AuthenticationFailed) as exc:
        # Retrying cannot help before the UTC day turns (or the key is fixed): record it; the next run resumes.
        logger.warning("batch failed", extra={"run_id": str(run_id), "seq": seq, "error": type(exc).__name__})
        outcome = _fail(batch, f"{type(exc).__name__}: {exc}", now)
    except ProviderError as exc:
        if not final_attempt:
            _release(run_id, seq)
            raise
        outcome = _fail(batch, f"{type(exc).__name__}: {exc}", now)
    except Exception:
        _release(run_id, seq)
        raise
    else:
        credits = provider.capabilities.cost(len(batch.symbols))
        try:
            outcome = _store(batch, results, credits, now)
        except Exception:
            _release(run_id, seq)  # nothing was stored; let the retry claim it at once
            raise
    if outcome.run_finished:
        publish_if_finished(run_id)
    return outcome


class OutOfTime(RuntimeError):
    """Too little of the invocation is left for another batch: the record goes back to the queue untouched."""


def _wait_s(cost: int) -> float:
    if cost <= 0:
        return 0.0
    try:
        return wait_for_room(factory.get_credit_budget().usage(), cost)
    except Exception:  # an unreadable budget: the transport decides (and waits or refuses) as usual
        logger.warning("credit budget unreadable; assuming room", exc_info=True)
        return 0.0


def check_time_left(remaining_ms: int) -> None:
    """Raise OutOfTime unless a batch that starts now (budget wait, provider call, store) can finish in time."""
    settings = get_settings()
    cost = factory.get_provider().capabilities.cost(settings.refresh_batch_symbols)
    call_s = (
        settings.twelvedata_timeout_s * settings.twelvedata_retry_attempts + settings.twelvedata_retry_backoff_max_s
    )
    if not batch_fits(remaining_ms / 1000, wait_s=_wait_s(cost), call_s=call_s, store_s=settings.ingest_store_margin_s):
        add_metric("IngestDeferred")
        raise OutOfTime(f"{remaining_ms} ms left: not enough for another batch")
