"""Ingest one refresh batch: claim it, fetch it within the shared credit budget, store it all or nothing.

Exactly-once effect under at-least-once delivery: a batch is claimed with a lease in a short
transaction, fetched outside any transaction, and written together with its "done" mark and
the run's progress in one transaction. A duplicate message finds the batch done (or leased)
and does nothing; a crash before the final commit leaves no row, and the retry completes it.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from autoindex.db.uow import UnitOfWork
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.market import queries as market_repo
from autoindex.market.batch_results import MAX_REASON, sort_results
from autoindex.market.deadline import batch_fits, wait_for_calls
from autoindex.market.dividend_sync import dividend_changes
from autoindex.market.fallbacks import merge_fallbacks
from autoindex.market.models import RefreshBatch, RefreshRun
from autoindex.market.providers import factory
from autoindex.market.providers.credit_meter import metering
from autoindex.market.providers.dividend_decode import StoredWindow
from autoindex.market.providers.incremental import IncrementalBars, PlannedCalls, SymbolState
from autoindex.market.providers.payers import pays_cash
from autoindex.market.providers.protocol import (
    AuthenticationFailed,
    DailyLimitExhausted,
    ProviderError,
    Split,
    SymbolBars,
    SymbolError,
)
from autoindex.market.providers.splits import SPLITTING_TYPES
from autoindex.market.revisions import Revision, detect_revision, explained_by, first_change, without_unchanged
from autoindex.market.split_sync import split_changes
from autoindex.observability import add_metric, logger
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.market.providers.protocol import MarketDataProvider

Status = Literal["done", "failed", "duplicate", "unknown"]
_LEASE = timedelta(minutes=5)


class BatchBusy(Exception):
    """Another delivery holds this batch's lease; this one should come back later."""


class BatchNotVisible(BatchBusy):
    """The batch is not in the database (yet): its run's transaction queues the messages before it commits.

    A consumer can be faster than that commit. Deleting the message then would leave the run running for
    ever, so the message comes back after its visibility timeout; if the run never commits, it ends in
    the dead-letter queue.
    """


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    status: Status
    rows_written: int = 0
    run_finished: bool = False


def _claim(run_id: uuid.UUID, seq: int, now: datetime) -> tuple[RefreshBatch | None, Status | None]:
    with UnitOfWork() as uow:
        batch = market_repo.batch_for_update(uow.session, run_id, seq)
        if batch is None:
            raise BatchNotVisible(f"batch {run_id}/{seq} is not committed yet")
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


def _charge(session: Session, batch: RefreshBatch, credits: int) -> None:
    """Add what a delivery of ``batch`` reserved to it and to its run, in the caller's transaction."""
    if credits:
        batch.credits_used += credits
        market_repo.run_for_update(session, batch.run_id).credits_used += credits


def _release(run_id: uuid.UUID, seq: int, credits: int) -> None:
    """Hand the batch back for another delivery, keeping the credits this one spent on the record."""
    with UnitOfWork() as uow:
        batch = market_repo.batch_for_update(uow.session, run_id, seq)
        if batch is not None:
            _charge(uow.session, batch, credits)
            if batch.status == "pending":
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


@dataclass(frozen=True, slots=True)
class Fetched:
    """What the provider answered for a batch, and the whole histories re-fetched for revised symbols."""

    results: dict[str, SymbolBars | SymbolError]
    overlap: dict[int, dict[date, Decimal]]  # stored closes of the batch's range, by asset id
    revised: dict[str, tuple[Revision, SymbolBars | SymbolError]]
    fallbacks: dict[str, str] = field(default_factory=dict)  # payers asked twice after all, and why


def _read_splits(
    provider: MarketDataProvider,
    results: dict[str, SymbolBars | SymbolError],
    splitting: set[str],
    start: date,
    end: date,
) -> dict[str, SymbolBars | SymbolError]:
    """Whole histories with their splits read beside them (stocks and ETFs).

    A history without a bar has no split to show: it is read as such without asking the provider.
    """
    out = dict(results)
    histories: dict[str, SymbolBars] = {}
    for symbol, result in results.items():
        if symbol in splitting and isinstance(result, SymbolBars):
            if result.bars:
                histories[symbol] = result
            else:
                out[symbol] = dataclasses.replace(result, splits=(), splits_from=start)
    if histories:
        out.update(provider.with_splits(histories, start, end))
    return out


def _states(session: Session, batch: RefreshBatch) -> dict[str, SymbolState]:
    """What is stored of each batch symbol inside its window, and whether the instrument can pay cash."""
    assets = market_repo.assets_by_symbol(session, batch.symbols)
    ids = [asset.id for asset in assets.values()]
    bars = market_repo.closes_and_volumes_between(session, ids, batch.start_date, batch.end_date)
    dividends = market_repo.dividends_of(session, ids, batch.start_date, batch.end_date)
    out = {}
    for symbol, asset in assets.items():
        stored = bars[asset.id]
        window = StoredWindow(
            closes={day: close for day, (close, _) in stored.items()},
            volumes={day: volume for day, (_, volume) in stored.items()},
            dividends=dividends[asset.id],
        )
        out[symbol] = SymbolState(pays_cash=pays_cash(asset.asset_type), stored=window if stored else None)
    return out


def _fetch_window(
    batch: RefreshBatch, provider: MarketDataProvider
) -> tuple[dict[str, SymbolBars | SymbolError], dict[str, str]]:
    """The batch's window, and the payers that needed a second call after all with why: knowing what is
    stored when the provider can use it.

    There an instrument that cannot pay gets no dividend call, and a payer's overlap usually lets one call
    do (``providers/dividend_decode.py``).
    """
    if not isinstance(provider, IncrementalBars):
        return provider.daily_bars(batch.symbols, batch.start_date, batch.end_date), {}
    with UnitOfWork(read_only=True) as uow:
        states = _states(uow.session, batch)
    if batch.backfill:  # a whole history, its splits read off it: every bar comes back, none decoded away
        states = {symbol: dataclasses.replace(state, stored=None) for symbol, state in states.items()}
    got = provider.refresh_bars(batch.symbols, batch.start_date, batch.end_date, states)
    if got.two_calls:
        logger.info("dividends not readable off one call; asked twice", extra={"symbols": got.two_calls})
    add_metric("DividendCallsSaved", len(got.one_call))
    return got.results, got.two_calls


def _fetch_whole(provider: MarketDataProvider, symbol: str, pays: bool, end: date) -> SymbolBars | SymbolError:
    """One symbol's whole history (a revision's re-fetch): without a dividend call if it cannot pay."""
    start = get_settings().history_start
    if not isinstance(provider, IncrementalBars):
        return provider.daily_bars([symbol], start, end)[symbol]
    return provider.refresh_bars([symbol], start, end, {symbol: SymbolState(pays_cash=pays)}).results[symbol]


def _fetch(batch: RefreshBatch, provider: MarketDataProvider) -> Fetched:
    """The batch's bars; a symbol whose re-fetched overlap moved gets its whole history fetched again.

    A whole history (a backfill batch, or that re-fetch) comes with its splits, at ``split_cost`` credits.
    What it all cost is counted where the transport reserves it (``providers/credit_meter.py``), not here.
    """
    settings = get_settings()
    results, fallbacks = _fetch_window(batch, provider)
    with UnitOfWork(read_only=True) as uow:
        assets = market_repo.assets_by_symbol(uow.session, batch.symbols)
        ids = {s: a.id for s, a in assets.items()}
        splitting = {s for s, a in assets.items() if a.asset_type in SPLITTING_TYPES}
        overlap = market_repo.closes_between(uow.session, list(ids.values()), batch.start_date, batch.end_date)
    if batch.backfill:
        results = _read_splits(provider, results, splitting, batch.start_date, batch.end_date)
    revised: dict[str, tuple[Revision, SymbolBars | SymbolError]] = {}
    for symbol, result in results.items():
        if not isinstance(result, SymbolBars) or symbol not in ids:
            continue
        found = detect_revision(symbol, overlap[ids[symbol]], result.bars, tolerance=settings.revision_tolerance)
        if found is not None:
            logger.warning("history revised; re-fetching it whole", extra=found.as_record())
            full = _fetch_whole(provider, symbol, pays_cash(assets[symbol].asset_type), batch.end_date)
            whole = _read_splits(provider, {symbol: full}, splitting, settings.history_start, batch.end_date)
            revised[symbol] = (found, whole[symbol])
    return Fetched(results=results, overlap=overlap, revised=revised, fallbacks=fallbacks)


@dataclass(slots=True)
class Replaced:
    rows: int = 0
    dividends: int = 0
    splits: int = 0
    splits_read: list[int] = field(default_factory=list)  # asset ids whose splits this whole history read
    revisions: list[dict[str, Any]] = field(default_factory=list)  # as recorded on the run
    errors: dict[str, str] = field(default_factory=dict)


def _replace_histories(session: Session, fetched: Fetched, ids: dict[str, int], end: date, now: datetime) -> Replaced:
    """Replace each revised symbol's stored history by its re-fetch, in the caller's transaction."""
    settings = get_settings()
    out = Replaced()
    for symbol, (found, full) in fetched.revised.items():
        got = sort_results([symbol], settings.history_start, end, ids, {symbol: full})
        if not got.checked:  # the re-fetch failed: keep the old history and say so
            out.errors[symbol] = f"history revised but not re-fetched: {got.errors.get(symbol, '?')}"[:MAX_REASON]
            continue
        stored = market_repo.closes_between(session, [ids[symbol]], settings.history_start, end)[ids[symbol]]
        first = first_change(stored, got.rows, tolerance=settings.revision_tolerance) or found.first_changed
        market_repo.delete_history(session, ids[symbol])
        out.rows += market_repo.upsert_prices(session, got.rows, source=got.source or "twelvedata", ingested_at=now)
        if isinstance(full, SymbolBars) and full.dividends_from is not None:  # re-based too: replaced whole
            market_repo.delete_dividends(session, ids[symbol])
            out.dividends += market_repo.write_dividends(
                session, ids[symbol], full.dividends, source=full.source, ingested_at=now
            )
        new_splits = _sync_splits(session, ids[symbol], full, end, now) if isinstance(full, SymbolBars) else None
        if new_splits is not None:
            out.splits_read.append(ids[symbol])
        new_splits = new_splits or []
        out.splits += len(new_splits)
        split = explained_by(found.factor, new_splits)
        out.revisions.append(Revision(symbol=symbol, first_changed=first, factor=found.factor, split=split).as_record())
        out.errors.update(got.errors)
    return out


def _sync_splits(session: Session, asset_id: int, history: SymbolBars, end: date, now: datetime) -> list[Split] | None:
    """Store the splits a whole history showed (new or changed ones; vanished ones deleted); returns those written.

    None when they were not read (``splits_from`` None): the stored ones stay. Unchanged ones are not
    written again, so a re-fetch that shows the same splits leaves them (and the compute) alone.
    """
    if history.splits_from is None:
        return None
    if history.splits_from > end:
        return []
    stored = market_repo.splits_between(session, asset_id, history.splits_from, end)
    changes = split_changes(stored, history.splits, since=history.splits_from, through=end)
    market_repo.delete_splits(session, asset_id, changes.delete)
    market_repo.write_splits(session, asset_id, changes.write, source=history.source, ingested_at=now)
    return changes.write


def _store_splits(
    session: Session, fetched: Fetched, *, symbols: list[str], ids: dict[str, int], end: date, now: datetime
) -> list[int]:
    """Store the splits of the batch's whole histories (a backfill's); returns the asset ids whose splits were read."""
    read = []
    for symbol in symbols:
        result = fetched.results.get(symbol) if symbol in ids else None
        stored = _sync_splits(session, ids[symbol], result, end, now) if isinstance(result, SymbolBars) else None
        if stored is not None:
            read.append(ids[symbol])
    return read


def _sync_dividends(
    session: Session, batch: RefreshBatch, fetched: Fetched, *, symbols: list[str], ids: dict[str, int], now: datetime
) -> int:
    """Write the batch's new or changed dividends and drop vanished ones, over the range each answer covers."""
    written = 0
    for symbol in symbols:
        result = fetched.results.get(symbol)
        if not isinstance(result, SymbolBars) or result.dividends_from is None or symbol not in ids:
            continue
        since = max(result.dividends_from, batch.start_date)
        if since > batch.end_date:
            continue
        stored = market_repo.dividends_between(session, ids[symbol], since, batch.end_date)
        changes = dividend_changes(stored, result.dividends, since=since, through=batch.end_date)
        market_repo.delete_dividends(session, ids[symbol], changes.delete)
        written += market_repo.write_dividends(
            session, ids[symbol], changes.write, source=result.source, ingested_at=now
        )
    return written


def _store(batch: RefreshBatch, fetched: Fetched, credits: int, now: datetime) -> BatchOutcome:
    tolerance = get_settings().revision_tolerance
    with UnitOfWork() as uow:
        session = uow.session
        current = market_repo.batch_for_update(session, batch.run_id, batch.seq)
        if current is None or current.status != "pending":
            if current is not None:  # another delivery stored it; this one's calls were spent all the same
                _charge(session, current, credits)
            return BatchOutcome(status="duplicate")
        assets = market_repo.assets_by_symbol(session, batch.symbols)
        ids = {symbol: asset.id for symbol, asset in assets.items()}
        unrevised = [s for s in batch.symbols if s not in fetched.revised]
        got = sort_results(unrevised, batch.start_date, batch.end_date, ids, fetched.results)
        fresh = without_unchanged(got.rows, fetched.overlap, tolerance=tolerance)
        written = market_repo.upsert_prices(session, fresh, source=got.source or "twelvedata", ingested_at=now)
        dividends = _sync_dividends(session, batch, fetched, symbols=unrevised, ids=ids, now=now)
        splits_read = _store_splits(session, fetched, symbols=unrevised, ids=ids, end=batch.end_date, now=now)
        replaced = _replace_histories(session, fetched, ids, batch.end_date, now)
        written += replaced.rows
        dividends += replaced.dividends
        checked = got.checked + [ids[str(r["symbol"])] for r in replaced.revisions]
        if checked:
            market_repo.mark_checked_through(session, checked, batch.end_date)
        market_repo.mark_splits_checked_through(session, splits_read + replaced.splits_read, batch.end_date)
        current.status, current.rows_written = "done", written
        current.finished_at, current.lease_until = now, None
        _charge(session, current, credits)
        run = market_repo.run_for_update(session, batch.run_id)
        run.batches_done += 1
        run.rows_written += written
        run.dividends_written += dividends
        run.rows_rejected += got.rejected
        errors = {**got.errors, **replaced.errors}
        if errors:
            run.errors = {**run.errors, **errors}
        if replaced.revisions:
            run.revisions = [*run.revisions, *replaced.revisions]
            add_metric("HistoriesRevised", len(replaced.revisions))
        if fetched.fallbacks:
            run.dividend_fallbacks = merge_fallbacks(run.dividend_fallbacks, fetched.fallbacks)
        finished = _finish_run(run, now)
    add_metric("RowsIngested", written)  # (ProviderCreditsUsed is the transport's, per reserved attempt)
    return BatchOutcome(status="done", rows_written=written, run_finished=finished)


def _fail(batch: RefreshBatch, reason: str, credits: int, now: datetime) -> BatchOutcome:
    """Record the batch failed, with the credits its calls reserved before it gave up: they are spent all the same."""
    with UnitOfWork() as uow:
        current = market_repo.batch_for_update(uow.session, batch.run_id, batch.seq)
        if current is None or current.status != "pending":
            if current is not None:
                _charge(uow.session, current, credits)
            return BatchOutcome(status="duplicate")
        current.status, current.error, current.finished_at, current.lease_until = (
            "failed",
            reason[:MAX_REASON],
            now,
            None,
        )
        _charge(uow.session, current, credits)
        run = market_repo.run_for_update(uow.session, batch.run_id)
        run.batches_failed += 1
        run.errors = {**run.errors, **{symbol: reason[:MAX_REASON] for symbol in batch.symbols}}
        finished = _finish_run(run, now)
    return BatchOutcome(status="failed", run_finished=finished)


def publish_if_finished(run_id: uuid.UUID) -> bool:
    """Publish PricesRefreshed once for a finished run that wrote rows; safe to call again after a crash."""
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, run_id)
        if run is None or run.finished_at is None or run.event_published_at is not None:
            return False
        wrote = run.rows_written > 0 or run.dividends_written > 0
        if not wrote and run.status != "failed":  # nothing new to compute, and nothing went wrong
            return False
        detail = {"run_id": str(run.id), "rows_written": run.rows_written, "status": run.status}
    # A run that wrote nothing and failed starts no compute; RefreshFailed tells webhooks (refresh.failed).
    transport.publish(EventName.PRICES_REFRESHED if wrote else EventName.REFRESH_FAILED, detail)
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
    # Every credit the calls reserve is recorded, whichever way the batch ends: stored, failed, or handed back.
    fetched: Fetched | None = None
    with metering() as meter:
        try:
            fetched = _fetch(batch, provider)
        except (DailyLimitExhausted, AuthenticationFailed) as exc:
            # Retrying cannot help before the UTC day turns (or the key is fixed): record it; the next run resumes.
            logger.warning("batch failed", extra={"run_id": str(run_id), "seq": seq, "error": type(exc).__name__})
            outcome = _fail(batch, f"{type(exc).__name__}: {exc}", meter.reserved, now)
        except ProviderError as exc:
            if not final_attempt:
                _release(run_id, seq, meter.reserved)
                raise
            outcome = _fail(batch, f"{type(exc).__name__}: {exc}", meter.reserved, now)
        except Exception:
            _release(run_id, seq, meter.reserved)
            raise
    if fetched is not None:
        try:
            outcome = _store(batch, fetched, meter.reserved, now)
        except Exception:
            _release(run_id, seq, meter.reserved)  # nothing was stored; let the retry claim it at once
            raise
    if outcome.run_finished:
        publish_if_finished(run_id)
    return outcome


class OutOfTime(RuntimeError):
    """Too little of the invocation is left for another batch: the record goes back to the queue untouched."""


def _batch_calls(run_id: uuid.UUID | None, seq: int | None) -> tuple[int, ...]:
    """The credits of each call the queued batch may make: its own size and kind when it can be read, else the
    largest batch, taken for a whole history (the most a batch can spend)."""
    settings = get_settings()
    provider = factory.get_provider()
    symbols, whole = settings.refresh_batch_symbols, True
    if run_id is not None and seq is not None:
        with UnitOfWork(read_only=True) as uow:
            batch = uow.session.get(RefreshBatch, (run_id, seq))
            if batch is not None:
                symbols, whole = len(batch.symbols), batch.backfill
    if isinstance(provider, PlannedCalls):
        return provider.batch_calls(symbols, whole_history=whole)
    caps = provider.capabilities
    return (caps.cost(symbols) + (caps.split_cost(symbols) if whole else 0),)


def _wait_s(calls: tuple[int, ...]) -> float:
    if sum(calls) <= 0:
        return 0.0
    try:
        return wait_for_calls(factory.get_credit_budget().usage(), calls)
    except Exception:  # an unreadable budget: the transport decides (and waits or refuses) as usual
        logger.warning("credit budget unreadable; assuming room", exc_info=True)
        return 0.0


def check_time_left(remaining_ms: int, *, run_id: uuid.UUID | None = None, seq: int | None = None) -> None:
    """Raise OutOfTime unless the batch (``run_id``, ``seq``) can finish in time if it starts now: the waits for
    room for all its calls (a whole history's unadjusted closes too), one provider call at its worst, the store.

    The calls' own time is counted once at its worst: timeouts are rare, and at the template's numbers
    (three attempts of 10 s per call) a whole history's three calls at their worst would not fit in the
    Timeout beside their waits, so such a batch would be handed back for ever.
    """
    settings = get_settings()
    calls = _batch_calls(run_id, seq)
    call_s = (
        settings.twelvedata_timeout_s * settings.twelvedata_retry_attempts + settings.twelvedata_retry_backoff_max_s
    )
    wait_s = _wait_s(calls)
    if not batch_fits(remaining_ms / 1000, wait_s=wait_s, call_s=call_s, store_s=settings.ingest_store_margin_s):
        add_metric("IngestDeferred")
        raise OutOfTime(f"{remaining_ms} ms left: not enough for another batch")
