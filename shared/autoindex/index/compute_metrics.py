"""Risk-metric snapshots of a strategy version, written by the compute job after its index values.

Stored per version as ``index_metrics`` rows: ``periods`` (since inception, YTD, 1y, 3y for the index
against the benchmark, and for the benchmark alone), ``rolling_30`` and ``rolling_90``, and ``notes``
(fallbacks that stood in, such as equal weights for a missing market capitalisation); the same three
snapshots of the total-return index as ``total_periods``, ``total_rolling_30`` and ``total_rolling_90``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from autoindex.index import compute_inputs as inputs
from autoindex.index.engine.periods import ROLLING_WINDOWS, period_metrics, rolling_metrics
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.models import IndexMetric, IndexRebalance, IndexTotalValue, IndexValue, StrategyVersion
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.index.engine.index import IndexResult


def _periods(dates: np.ndarray, values: np.ndarray, bench: np.ndarray | None, rf: float) -> dict[str, Any]:
    index = period_metrics(dates, values, bench, risk_free_rate=rf)
    out: dict[str, Any] = {"index": {k: (m.to_dict() if m else None) for k, m in index.items()}, "benchmark": None}
    if bench is not None:
        alone = period_metrics(dates, bench, risk_free_rate=rf)
        out["benchmark"] = {k: (m.to_dict() if m else None) for k, m in alone.items()}
    return out


def _notes(session: Session, version_id: int, result: IndexResult, mode: str) -> dict[str, Any]:
    previous: dict[str, Any] = {}
    if mode == "incremental":
        row = session.get(IndexMetric, (version_id, "notes"))
        previous = dict(row.payload) if row is not None else {}
    notes = {
        "data_source": inputs.data_source(session),
        "market_cap_note": result.market_cap_note or previous.get("market_cap_note"),
        "skipped_rebalances": [
            *previous.get("skipped_rebalances", []),
            *(d.isoformat() for d in result.skipped_rebalances),
        ],
        "last_rebalance": previous.get("last_rebalance"),
        "last_rebalance_notes": previous.get("last_rebalance_notes", []),
    }
    if result.rebalances:
        last = result.rebalances[-1]
        notes["last_rebalance"] = last.date.isoformat()
        notes["last_rebalance_notes"] = list(last.notes)
    latest = session.scalars(
        select(IndexRebalance)
        .where(IndexRebalance.strategy_version == version_id, IndexRebalance.kind != "skipped")
        .order_by(IndexRebalance.date.desc())
        .limit(1)
    ).first()
    notes["market_cap_leg"] = latest.market_cap_leg if latest is not None else None
    notes["cap_sources"] = latest.cap_sources if latest is not None else {}
    return notes


def disclosure(notes: dict[str, Any]) -> dict[str, Any]:
    """What a compute run discloses: the market-cap leg and its note, skipped rebalances, the data source."""
    return {
        "data_source": notes.get("data_source"),
        "market_cap_leg": notes.get("market_cap_leg"),
        "market_cap_note": notes.get("market_cap_note"),
        "skipped_rebalances": notes.get("skipped_rebalances", []),
        "cap_sources": notes.get("cap_sources", {}),
        "notes": notes.get("last_rebalance_notes", []),
    }


def _snapshots(
    session: Session,
    params: StrategyParams,
    model: type[IndexValue] | type[IndexTotalValue],
    version_id: int,
    kind: str,
) -> dict[str, dict[str, Any]]:
    """``periods`` and rolling snapshots of one of the version's series (``kind``: price or total)."""
    rows = session.execute(
        select(model.date, model.value).where(model.strategy_version == version_id).order_by(model.date)
    ).all()
    if not rows:
        return {}
    days = [d for d, _ in rows]
    dates = np.array([np.datetime64(d, "D") for d in days])
    values = np.array([float(v) for _, v in rows])
    name, bench, bench_type = inputs.benchmark_for(session, params, days, kind)
    rf = get_settings().risk_free_rate
    prefix = "" if kind == "price" else "total_"
    payloads: dict[str, dict[str, Any]] = {
        f"{prefix}periods": {
            "benchmark_symbol": name if bench is not None else None,
            "benchmark_return_type": bench_type,
            **_periods(dates, values, bench, rf),
        }
    }
    for window in ROLLING_WINDOWS:
        rolling = rolling_metrics(dates, values, bench, window=window, risk_free_rate=rf)
        payloads[f"{prefix}rolling_{window}"] = rolling.to_dict()
    return payloads


def write_metrics(session: Session, *, version_id: int, result: IndexResult, mode: str, now: datetime) -> date | None:
    """Recompute and store the version's metric snapshots from its stored index values (price and total).

    Returns
    -------
    date or None
        The last index date, or ``None`` when the version has no index value yet.
    """
    version = session.get(StrategyVersion, version_id)
    assert version is not None
    params = StrategyParams.model_validate(version.params)
    payloads = _snapshots(session, params, IndexValue, version_id, "price")
    if not payloads:
        return None
    payloads.update(_snapshots(session, params, IndexTotalValue, version_id, "total"))
    payloads["notes"] = _notes(session, version_id, result, mode)
    as_of = session.scalar(select(func.max(IndexValue.date)).where(IndexValue.strategy_version == version_id))
    assert as_of is not None
    for name, payload in payloads.items():
        row = session.get(IndexMetric, (version_id, name))
        if row is None:
            row = IndexMetric(strategy_version=version_id, name=name)
            session.add(row)
        row.as_of, row.payload, row.computed_at = as_of, payload, now
    session.flush()
    return as_of
