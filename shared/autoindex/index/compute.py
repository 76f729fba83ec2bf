"""The compute job: index values, allocations and risk metrics of the active strategy version, in one transaction.

Runs are serialised by a PostgreSQL advisory lock, and a duplicate event (same id, in the
``processed_events`` ledger) does nothing. When only new days arrived since the stored engine state,
the index is extended from that state; a strategy change, a changed universe, a revised past bar or an
unreadable state means a full recompute. A run with nothing new to add changes nothing (so concurrent
triggers do no duplicate work). After the commit the new data version is published to the read cache
and ``IndexComputed`` goes out, which warms the caches.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, insert, select, update

from autoindex.db import socket_timeout
from autoindex.events import transport
from autoindex.events.ledger import ProcessedEvent
from autoindex.events.names import EventName
from autoindex.index import compute_inputs as inputs
from autoindex.index import read_cache
from autoindex.index.compute_metrics import disclosure, write_metrics
from autoindex.index.engine.disclosure import cap_sources, market_cap_leg
from autoindex.index.engine.index import IndexResult, IndexState, StateMismatch, compute_index, extend_index
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.engine.total_return import (
    TotalReturnMismatch,
    TotalReturnResult,
    TotalReturnState,
    extend_total_return,
    total_return_index,
)
from autoindex.index.models import (
    ComputeMode,
    ComputeRun,
    IndexAllocation,
    IndexEngineState,
    IndexMetric,
    IndexPublication,
    IndexRebalance,
    IndexTotalValue,
    IndexValue,
)
from autoindex.index.publication import lock_publication
from autoindex.index.strategy import active_version
from autoindex.observability import add_metric, logger
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork
    from autoindex.index.events import ComputeTrigger
    from autoindex.index.models import StrategyVersion
    from autoindex.market.models import Asset

CONSUMER = "compute"
# One number for pg_advisory_xact_lock: computes are serialised across every instance.

Status = Literal["succeeded", "noop", "duplicate"]  # of this call; a duplicate event records no run


@dataclass(frozen=True, slots=True)
class ComputeOutcome:
    status: Status
    run_id: uuid.UUID | None = None
    mode: ComputeMode | None = None
    strategy_version: int | None = None
    data_version: int | None = None
    days_added: int = 0
    as_of: date | None = None
    version_token: str | None = None  # the read cache's key for this data version
    rebalanced_on: date | None = None  # the newest rebalance, when it is newer than what was published before


def _begin(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        socket_timeout.allow_statements_of(session, get_settings().compute_statement_timeout_ms)
    lock_publication(session)


def _run_row(session: Session, run_id: uuid.UUID | None, trigger: str, version: int) -> ComputeRun:
    run = session.get(ComputeRun, run_id) if run_id else None
    if run is None:
        run = ComputeRun(id=run_id or uuid.uuid4(), trigger=trigger, strategy_version=version, status="queued")
        session.add(run)
    run.strategy_version = version
    return run


def _stored_state(row: IndexEngineState | None, params: StrategyParams, symbols: tuple[str, ...]) -> IndexState | None:
    if row is None or row.last_date is None:
        return None
    try:
        state = IndexState.from_dict(row.state)
    except (StateMismatch, KeyError, ValueError, TypeError):
        logger.warning("stored index state unreadable; recomputing in full")
        return None
    return state if state.params == params and state.assets == symbols else None


@dataclass(frozen=True, slots=True)
class Computed:
    """What one compute produced: the price index and, beside it, the total-return index."""

    mode: ComputeMode
    result: IndexResult
    total: TotalReturnResult
    seen: datetime | None  # newest ingested_at among the prices and dividends read
    params: StrategyParams
    # Per rebalance date, each asset's cap source and filing date (disclosure)
    provenance: dict[date, dict[str, dict[str, Any]]] = field(default_factory=dict)


SKIPPED_NOTE = "no asset was eligible on this scheduled date: the rebalance was skipped and the holdings kept"


def _rebalance_rows(version: int, computed: Computed) -> list[dict[str, Any]]:
    """One disclosure row per rebalance, formation and skipped date of the block."""
    result, weight = computed.result, computed.params.market_cap_weight
    rows: list[dict[str, Any]] = [
        {
            "strategy_version": version,
            "date": r.date,
            "kind": "formation" if r.initial else "rebalance",
            "trigger": r.trigger,
            "turnover": r.turnover,
            "cost": r.cost,
            "market_cap_leg": market_cap_leg(r.decision, weight),
            "notes": list(r.notes),
            "cap_sources": cap_sources(result.assets, r.decision, weight, computed.provenance.get(r.date)),
        }
        for r in result.rebalances
    ]
    rows += [
        {
            "strategy_version": version,
            "date": day,
            "kind": "skipped",
            "trigger": "schedule",
            "turnover": None,
            "cost": None,
            "market_cap_leg": "unused",
            "notes": [SKIPPED_NOTE],
            "cap_sources": {},
        }
        for day in result.skipped_rebalances
    ]
    return rows


def _stored_total(row: IndexEngineState) -> TotalReturnState | None:
    if row.total_state is None:
        return None
    try:
        return TotalReturnState.from_dict(row.total_state)
    except (TotalReturnMismatch, KeyError, ValueError, TypeError):
        logger.warning("stored total-return state unreadable; recomputing in full")
        return None


def _rows(version: int, dates: Any, values: Any) -> list[dict[str, Any]]:
    return [
        {"strategy_version": version, "date": day.item(), "value": Decimal(f"{value:.12f}")}
        for day, value in zip(dates, values, strict=True)
    ]


def _write_block(session: Session, version: int, computed: Computed, ids: list[int]) -> int:
    result = computed.result
    values = _rows(version, result.dates, result.values)
    if values:
        session.execute(insert(IndexValue), values)
    totals = _rows(version, computed.total.dates, computed.total.values)
    if totals:
        session.execute(insert(IndexTotalValue), totals)
    weights = [
        {
            "strategy_version": version,
            "date": r.date,
            "asset_id": ids[j],
            "weight": Decimal(f"{w:.16f}"),
            "trigger": r.trigger,
        }
        for r in result.rebalances
        for j, w in enumerate(r.weights.tolist())
        if w > 0.0
    ]
    if weights:
        session.execute(insert(IndexAllocation), weights)
    disclosed = _rebalance_rows(version, computed)
    if disclosed:
        session.execute(insert(IndexRebalance), disclosed)
    return len(values)


def _newest(*moments: datetime | None) -> datetime | None:
    return max((t for t in moments if t is not None), default=None)


def _extend(
    session: Session,
    *,
    params: StrategyParams,
    universe: list[Asset],
    state: IndexState,
    state_row: IndexEngineState,
    requested: list[date],
) -> Computed | Literal["nothing"] | None:
    """Extend both indices from the stored states; "nothing" when no day is new, None when a full run is due."""
    ids, symbols = [a.id for a in universe], tuple(a.symbol for a in universe)
    seen, last = state_row.prices_seen_at, state.last_date
    total_state = _stored_total(state_row)
    if total_state is None or last is None:
        return None
    if inputs.revised_since(session, ids, through=last, seen_at=seen):  # prices or dividends
        return None
    shares_at = _newest(inputs.shares_seen_at(session), inputs.splits_seen_at(session))
    if shares_at is not None and (seen is None or shares_at > seen):  # new filings or splits: past caps change
        return None
    new = inputs.load_closes(session, ids, after=last)
    if not new.dates:
        return "nothing"
    caps = inputs.market_caps(session, universe, new.dates, new.matrix, inputs.known_splits(session))
    try:
        result = extend_index(
            state,
            new.dates,
            new.matrix,
            params,
            assets=symbols,
            market_caps=None if caps is None else caps.matrix,
            requested=requested,
        )
        paid = inputs.load_dividends(session, ids, new.dates, after=last)
        total = extend_total_return(
            total_state,
            new.dates,
            new.matrix,
            paid,
            result.rebalances,
            transaction_cost_bps=params.transaction_cost_bps,
        )
    except (StateMismatch, TotalReturnMismatch):
        logger.info("state cannot be extended; recomputing in full")
        return None
    newest = _newest(seen, new.seen_at, inputs.dividends_seen_at(session, ids), shares_at)
    sources = inputs.provenance(caps, new.dates, [r.date for r in result.rebalances])
    return Computed("incremental", result, total, newest, params, sources)


def _compute(
    session: Session, version: StrategyVersion, universe: list[Asset], state_row: IndexEngineState | None
) -> Computed | None:
    """Run the engine; ``None`` when the stored state already covers every stored day."""
    params = StrategyParams.model_validate(version.params)
    symbols = tuple(a.symbol for a in universe)
    ids = [a.id for a in universe]
    requested = inputs.rebalance_requests(session)
    state = _stored_state(state_row, params, symbols)
    if state is not None and state_row is not None:
        extended = _extend(
            session, params=params, universe=universe, state=state, state_row=state_row, requested=requested
        )
        if extended == "nothing":
            return None
        if extended is not None:
            return extended
    closes = inputs.load_closes(session, ids)
    for table in (IndexValue, IndexTotalValue, IndexAllocation, IndexRebalance):
        session.execute(delete(table).where(table.strategy_version == version.id))
    caps = inputs.market_caps(session, universe, closes.dates, closes.matrix, inputs.known_splits(session))
    result = compute_index(
        closes.dates,
        closes.matrix,
        params,
        assets=symbols,
        market_caps=None if caps is None else caps.matrix,
        requested=requested,
    )
    paid = inputs.load_dividends(session, ids, closes.dates)
    total = total_return_index(
        closes.dates, closes.matrix, paid, result.rebalances, transaction_cost_bps=params.transaction_cost_bps
    )
    sources = inputs.provenance(caps, closes.dates, [r.date for r in result.rebalances])
    newest = _newest(
        closes.seen_at,
        inputs.dividends_seen_at(session, ids),
        inputs.shares_seen_at(session),
        inputs.splits_seen_at(session),
    )
    return Computed("full", result, total, newest, params, sources)


def _publish_row(session: Session, version: int, as_of: date) -> tuple[int, datetime]:
    now = datetime.now(UTC)  # taken under the lock: with the data version it makes the cache's version token
    session.execute(
        update(IndexPublication)
        .where(IndexPublication.id == 1)
        .values(data_version=IndexPublication.data_version + 1, strategy_version=version, as_of=as_of, updated_at=now)
    )
    return int(session.scalars(select(IndexPublication.data_version).where(IndexPublication.id == 1)).one()), now


def _unpublish(session: Session) -> str:
    now = datetime.now(UTC)
    session.execute(
        update(IndexPublication)
        .where(IndexPublication.id == 1)
        .values(data_version=IndexPublication.data_version + 1, strategy_version=None, as_of=None, updated_at=now)
    )
    version = int(session.scalars(select(IndexPublication.data_version).where(IndexPublication.id == 1)).one())
    return read_cache.version_token(version, now)


def _save_state(session: Session, row: IndexEngineState | None, version: int, computed: Computed) -> None:
    if row is None:
        row = IndexEngineState(strategy_version=version, state={})
        session.add(row)
    row.state = computed.result.state.to_dict()
    row.total_state = computed.total.state.to_dict()
    row.last_date = computed.result.state.last_date
    row.prices_seen_at = computed.seen
    row.updated_at = datetime.now(UTC)


def run_compute(
    *,
    uow: UnitOfWork,
    trigger: str,
    event_id: str | None = None,
    run_id: uuid.UUID | None = None,
    full: bool = False,
) -> ComputeOutcome:
    """Bring the active strategy version's index, allocations and metrics up to date with the stored prices.

    Parameters
    ----------
    uow
        A unit of work that is not open yet.
    trigger
        ``PricesRefreshed``, ``StrategyChanged`` or ``cli``.
    event_id
        The triggering event's id; a second delivery of it does nothing.
    run_id
        The compute run a strategy change or an operator queued, if any.
    full
        Recompute every day from the first instead of extending the stored series.

    Returns
    -------
    ComputeOutcome
    """
    with uow:
        session = uow.session
        _begin(session)
        if event_id and session.get(ProcessedEvent, (CONSUMER, event_id)) is not None:
            return ComputeOutcome(status="duplicate")
        if event_id:
            session.add(ProcessedEvent(consumer=CONSUMER, event_id=event_id))
        outcome = _locked(session, trigger=trigger, run_id=run_id, full=full)
    # After the commit only: readers must never be pointed at a version that might roll back.
    if outcome.version_token is not None:
        read_cache.publish_version(outcome.version_token)
        # Only now is the run final: whoever sees "succeeded" and reads next gets the new version.
        _finish(uow, outcome)
    if outcome.status == "succeeded":
        _announce(outcome)
    return outcome


def _finish(uow: UnitOfWork, outcome: ComputeOutcome) -> None:
    with uow:
        run = uow.session.get(ComputeRun, outcome.run_id)
        if run is not None and run.status == "publishing":
            run.status = "succeeded" if outcome.status == "succeeded" else "noop"
            run.finished_at = datetime.now(UTC)


def _locked(session: Session, *, trigger: str, run_id: uuid.UUID | None, full: bool) -> ComputeOutcome:
    now = datetime.now(UTC)
    version = active_version(session)
    run = _run_row(session, run_id, trigger, version.id)
    publication = session.get(IndexPublication, 1)
    universe = inputs.universe(session)
    state_row = session.get(IndexEngineState, version.id)
    # A version never published is computed from scratch; a published one may be extended.
    published = publication is not None and publication.strategy_version == version.id
    extend_from = state_row if published and not full else None
    computed = _compute(session, version, universe, extend_from) if universe else None
    if computed is None:
        run.status, run.finished_at = "noop", datetime.now(UTC)
        return ComputeOutcome(status="noop", run_id=run.id, strategy_version=version.id)
    mode, result = computed.mode, computed.result
    added = _write_block(session, version.id, computed, [a.id for a in universe])
    _save_state(session, state_row, version.id, computed)
    session.flush()
    as_of = write_metrics(session, version_id=version.id, result=result, mode=mode, now=now)
    if as_of is None:  # not enough history to form the index: nothing to serve
        # A full recompute removed what was served: readers must see "not computed", not a stale pointer.
        token = _unpublish(session) if published else None
        run.status, run.mode = ("publishing" if token else "noop"), mode
        run.finished_at = None if token else datetime.now(UTC)
        return ComputeOutcome(status="noop", run_id=run.id, mode=mode, strategy_version=version.id, version_token=token)
    before = publication.as_of if published and publication is not None else None
    newest = result.rebalances[-1].date if result.rebalances else None
    rebalanced_on = newest if newest is not None and (before is None or newest > before) else None
    notes_row = session.get(IndexMetric, (version.id, "notes"))
    run.disclosure = disclosure(notes_row.payload) if notes_row is not None else None
    data_version, published_at = _publish_row(session, version.id, as_of)
    # "succeeded" (and finished_at) are set by _finish once readers have been moved to this version.
    run.status, run.mode, run.data_version, run.days_added = "publishing", mode, data_version, added
    return ComputeOutcome(
        status="succeeded",
        run_id=run.id,
        mode=mode,
        strategy_version=version.id,
        data_version=data_version,
        days_added=added,
        as_of=as_of,
        version_token=read_cache.version_token(data_version, published_at),
        rebalanced_on=rebalanced_on,
    )


def _announce(outcome: ComputeOutcome) -> None:
    add_metric("IndexDaysComputed", outcome.days_added)
    detail: dict[str, Any] = {
        "data_version": outcome.data_version,
        "version_token": outcome.version_token,
        "strategy_version": outcome.strategy_version,
        "run_id": str(outcome.run_id),
        "mode": outcome.mode,
        "as_of": outcome.as_of.isoformat() if outcome.as_of else None,
        # A webhook's index.rebalanced (issue 14): the compute carried a rebalance newer than the last publication.
        "rebalanced_on": outcome.rebalanced_on.isoformat() if outcome.rebalanced_on else None,
    }
    transport.publish(EventName.INDEX_COMPUTED, detail)


def handle_trigger(*, new_uow: Callable[[], UnitOfWork], event: ComputeTrigger) -> ComputeOutcome:
    """The compute job for one parsed trigger; if it fails, the run it was queued for is marked failed first.

    The failed compute's transaction rolled back, so the queued run row is updated in a unit of work
    of its own; the exception then propagates so that the delivery is retried (and lands in the
    dead-letter queue when it keeps failing).
    """
    run_id = event.detail.compute_run_id
    try:
        return run_compute(uow=new_uow(), trigger=event.detail_type, event_id=event.id, run_id=run_id, full=event.full)
    except Exception as exc:
        if run_id is not None:
            mark_failed(uow=new_uow(), run_id=run_id, error=type(exc).__name__)
        raise


def mark_failed(*, uow: UnitOfWork, run_id: uuid.UUID, error: str) -> None:
    """Record a failed run the rolled-back transaction could not (a queued run from a strategy change)."""
    with uow:
        run = uow.session.get(ComputeRun, run_id)
        if run is not None and run.status == "queued":
            run.status, run.error, run.finished_at = "failed", error[:500], datetime.now(UTC)
