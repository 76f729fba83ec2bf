"""The backtest job: the engine on the stored closes with the backtest's parameters, then the report.

The engine runs from the first stored close (as the live compute does), so a backtest of the live
parameters on the live universe is the live index; the report then covers ``start``..``end``, every
series rebased to 100 on the first day of that range. A backtest of the whole live universe replays
operators' off-schedule rebalance requests too, as the live index does.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from autoindex.backtests.models import Backtest
from autoindex.backtests.queries import DELETED
from autoindex.backtests.service import announce
from autoindex.db.uow import UnitOfWork
from autoindex.index import compute_inputs as inputs
from autoindex.index.engine.index import compute_index
from autoindex.index.engine.periods import period_metrics
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.engine.total_return import total_return_index
from autoindex.index.models import IndexPublication, IndexTotalValue, IndexValue
from autoindex.observability import add_metric, logger
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.index.engine.index import IndexResult


class NothingToReport(ValueError):
    """The range holds no index value (too little history before it for the look-back windows)."""


@dataclass(frozen=True, slots=True)
class _Inputs:
    ids: list[int]
    symbols: tuple[str, ...]
    dates: list[date]
    matrix: Any
    requested: list[date]


def run(backtest_id: uuid.UUID) -> str:
    """Run one queued backtest; returns its final status (or ``skipped`` for a duplicate or deleted one)."""
    with UnitOfWork() as uow:
        row = uow.session.get(Backtest, backtest_id, with_for_update=True)
        if row is None or row.status != "queued":
            return "skipped"
        row.status, row.started_at, row.progress = "running", datetime.now(UTC), 0.1
        params, user_id = dict(row.params), row.user_id
    try:
        result = _report(backtest_id, params)
    except Exception as exc:
        if not _finish(backtest_id, status="failed", error=_public_error(exc)):
            return "skipped"
        logger.warning("backtest failed", extra={"backtest_id": str(backtest_id), "error": type(exc).__name__})
        announce(backtest_id, user_id, "failed")
        return "failed"
    if not _finish(backtest_id, status="succeeded", result=result):
        return "skipped"
    add_metric("BacktestsSucceeded", 1)
    announce(backtest_id, user_id, "succeeded")
    return "succeeded"


def _public_error(exc: Exception) -> str:
    if isinstance(exc, NothingToReport):
        return str(exc)
    return "The backtest could not be computed."


def _finish(
    backtest_id: uuid.UUID, *, status: str, result: dict[str, Any] | None = None, error: str | None = None
) -> bool:
    """Record the outcome; ``False`` (nothing written, nothing to announce) when its owner deleted it meanwhile."""
    with UnitOfWork() as uow:
        row = uow.session.get(Backtest, backtest_id, with_for_update=True)
        if row is None or row.status == DELETED:
            return False
        row.status, row.result, row.error = status, result, error
        row.progress, row.finished_at = 1.0, datetime.now(UTC)
        return True


def _progress(backtest_id: uuid.UUID, value: float) -> None:
    with UnitOfWork() as uow:
        row = uow.session.get(Backtest, backtest_id)
        if row is not None:
            row.progress = value


def _load(session: Session, symbols: list[str] | None, end: date | None) -> _Inputs:
    universe = inputs.universe(session)
    chosen = [a for a in universe if symbols is None or a.symbol in symbols]
    closes = inputs.load_closes(session, [a.id for a in chosen])
    keep = len(closes.dates) if end is None else bisect.bisect_right(closes.dates, end)
    requested = inputs.rebalance_requests(session) if symbols is None else []
    return _Inputs(
        ids=[a.id for a in chosen],
        symbols=tuple(a.symbol for a in chosen),
        dates=closes.dates[:keep],
        matrix=closes.matrix[:keep],
        requested=requested,
    )


def _live(session: Session, days: list[date], *, total: bool) -> np.ndarray | None:
    """The published live index (price or total return) on ``days``; None when not computed or missing a day."""
    version = session.scalar(select(IndexPublication.strategy_version).where(IndexPublication.id == 1))
    if version is None or not days:
        return None
    table = IndexTotalValue if total else IndexValue
    rows = session.execute(
        select(table.date, table.value).where(
            table.strategy_version == version, table.date >= days[0], table.date <= days[-1]
        )
    ).all()
    by_day = {d: float(v) for d, v in rows}
    if any(d not in by_day for d in days):
        return None
    return np.array([by_day[d] for d in days])


def _rebased(values: np.ndarray | None) -> np.ndarray | None:
    if values is None or not len(values) or not np.isfinite(values[0]) or values[0] == 0:
        return None
    rebased: np.ndarray = values / values[0] * 100.0
    return rebased


def _metrics(dates: np.ndarray, values: np.ndarray | None, bench: np.ndarray | None) -> dict[str, Any] | None:
    if values is None:
        return None
    found = period_metrics(dates, values, bench, risk_free_rate=get_settings().risk_free_rate)
    return {period: (m.to_dict() if m else None) for period, m in found.items()}


def _report(backtest_id: uuid.UUID, params: dict[str, Any]) -> dict[str, Any]:
    strategy = StrategyParams.model_validate(params["strategy"])
    start = date.fromisoformat(params["start"]) if params.get("start") else None
    end = date.fromisoformat(params["end"]) if params.get("end") else None
    with UnitOfWork(read_only=True) as uow:
        data = _load(uow.session, params.get("symbols"), end)
    _progress(backtest_id, 0.4)
    result = compute_index(data.dates, data.matrix, strategy, assets=data.symbols, requested=data.requested)
    total = params.get("return_type") == "total"
    all_dates, all_values = result.dates, result.values
    if total:  # the same portfolio with every distribution reinvested (engine.total_return)
        with UnitOfWork(read_only=True) as uow:
            paid = inputs.load_dividends(uow.session, data.ids, data.dates)
        reinvested = total_return_index(
            data.dates, data.matrix, paid, result.rebalances, transaction_cost_bps=strategy.transaction_cost_bps
        )
        all_dates, all_values = reinvested.dates, reinvested.values
    _progress(backtest_id, 0.8)
    days = [d.item() for d in all_dates]
    first = 0 if start is None else bisect.bisect_left(days, start)
    days = days[first:]
    if not days:
        raise NothingToReport("No index value in the range: the look-back windows need more history before it.")
    values = _rebased(all_values[first:])
    with UnitOfWork(read_only=True) as uow:
        live = _rebased(_live(uow.session, days, total=total))
        name, bench_raw = inputs.benchmark_series(uow.session, strategy, days)
    bench = _rebased(bench_raw)
    assert values is not None
    dates = np.array([np.datetime64(d, "D") for d in days])
    return {
        "assets": list(data.symbols),
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "metrics": {
            "benchmark_symbol": name,
            "backtest": _metrics(dates, values, bench),
            "live": _metrics(dates, live, bench),
            "benchmark": _metrics(dates, bench, None),
        },
        "series": _series(days, values, live, bench),
        "allocations": _allocations(result, days[0]),
        "notes": _notes(result, days[0]),
    }


def _series(days: list[date], values: np.ndarray, live: np.ndarray | None, bench: np.ndarray | None) -> list[Any]:
    live_list = live.tolist() if live is not None else [None] * len(days)
    bench_list = bench.tolist() if bench is not None else [None] * len(days)
    return [
        {"date": d.isoformat(), "value": v, "live": lv, "benchmark": bv}
        for d, v, lv, bv in zip(days, values.tolist(), live_list, bench_list, strict=True)
    ]


def _allocations(result: IndexResult, start: date) -> list[dict[str, Any]]:
    """Rebalances in the range, and the one in effect on its first day."""
    rebalances = list(result.rebalances)
    in_effect = [r for r in rebalances if r.date <= start][-1:]
    chosen = in_effect + [r for r in rebalances if r.date > start]
    return [
        {
            "date": r.date.isoformat(),
            "trigger": r.trigger,
            "weights": {s: w for s, w in zip(result.assets, r.weights.tolist(), strict=True) if w > 0.0},
        }
        for r in chosen
    ]


def _notes(result: IndexResult, start: date) -> list[str]:
    notes = [result.market_cap_note] if result.market_cap_note else []
    if result.skipped_rebalances:
        notes.append(f"{len(result.skipped_rebalances)} scheduled rebalances skipped: no asset was eligible")
    return notes + _fallback_notes(result, start)


def _fallback_notes(result: IndexResult, start: date) -> list[str]:
    """The engine's other fallbacks in the reported rebalances: a client asking for a cap or a momentum
    threshold that could not be met must not mistake the equal weights for the parameters' effect."""
    reported = [r for r in result.rebalances if r.date > start] + [r for r in result.rebalances if r.date <= start][-1:]
    capped = sum(r.decision.cap_relaxed for r in reported)
    no_momentum = sum(r.decision.momentum_fallback for r in reported)
    notes = []
    if capped:
        notes.append(f"too few eligible assets for the per-asset cap at {capped} rebalances: weights were equal")
    if no_momentum:
        notes.append(
            f"no asset's momentum was above the threshold at {no_momentum} rebalances: "
            "equal weights stood in for the momentum scheme"
        )
    return notes
