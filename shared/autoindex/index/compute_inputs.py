"""What the compute job reads: the universe, its closes as a (dates x assets) matrix, the benchmark.

Prices are NUMERIC in the database and become float64 here, deliberately and in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import exists, func, or_, select

from autoindex.index.engine.benchmark import blend_values
from autoindex.index.models import RebalanceRequest
from autoindex.market.models import Asset, AssetDividend, AssetShareCount, AssetSplit, DailyPrice
from autoindex.market.shares import KnownShares, ShareFact, shares_by_day

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.orm import Session

    from autoindex.index.engine._arrays import FloatArray
    from autoindex.index.engine.strategy import StrategyParams


@dataclass(frozen=True, slots=True)
class Closes:
    """Closes of some assets on the dates any of them traded (NaN where one did not)."""

    dates: list[date]
    matrix: FloatArray
    seen_at: datetime | None  # newest ingested_at among the rows read


def universe(session: Session) -> list[Asset]:
    """The index's constituents: active assets of the universe, by symbol (the engine's column order)."""
    statement = select(Asset).where(Asset.in_universe, Asset.is_active).order_by(Asset.symbol)
    return list(session.scalars(statement))


def rebalance_requests(session: Session) -> list[date]:
    """The effective dates of operators' off-schedule rebalance requests (the engine's ``requested``)."""
    return list(
        session.scalars(select(RebalanceRequest.effective_date).distinct().order_by(RebalanceRequest.effective_date))
    )


def benchmark(session: Session) -> Asset | None:
    return session.scalars(select(Asset).where(Asset.is_benchmark)).one_or_none()


def load_closes(session: Session, asset_ids: Sequence[int], *, after: date | None = None) -> Closes:
    """Closes of ``asset_ids`` (in that column order) on dates after ``after``."""
    statement = select(DailyPrice.asset_id, DailyPrice.date, DailyPrice.close, DailyPrice.ingested_at).where(
        DailyPrice.asset_id.in_(list(asset_ids))
    )
    if after is not None:
        statement = statement.where(DailyPrice.date > after)
    rows = session.execute(statement).all()
    dates = sorted({row[1] for row in rows})
    row_of = {day: i for i, day in enumerate(dates)}
    column_of = {asset_id: j for j, asset_id in enumerate(asset_ids)}
    matrix = np.full((len(dates), len(asset_ids)), np.nan)
    for asset_id, day, close, _ in rows:
        matrix[row_of[day], column_of[asset_id]] = float(close)
    seen = max((row[3] for row in rows), default=None)
    return Closes(dates=dates, matrix=matrix, seen_at=seen)


def revised_since(session: Session, asset_ids: Sequence[int], *, through: date, seen_at: datetime | None) -> bool:
    """Whether a bar or a dividend dated on or before ``through`` was written after ``seen_at``: a revision, a
    late bar, or a dividend found late. Either changes the stored states, so the compute runs in full."""
    if seen_at is None:
        return False
    ids = list(asset_ids)
    written = [
        exists().where(model.asset_id.in_(ids), day <= through, model.ingested_at > seen_at)
        for model, day in ((DailyPrice, DailyPrice.date), (AssetDividend, AssetDividend.ex_date))
    ]
    return bool(session.scalar(select(or_(*written))))


def load_dividends(
    session: Session, asset_ids: Sequence[int], dates: Sequence[date], *, after: date | None = None
) -> FloatArray:
    """Cash per share by (date, asset) on ``dates``, 0 where none.

    Ex-dates from the first of ``dates`` count (after ``after`` instead, for an extension: the stored state
    paid the earlier ones). A distribution whose ex-date is not among ``dates`` (no asset traded that day)
    lands on the next date.
    """
    matrix = np.zeros((len(dates), len(asset_ids)))
    if not dates:
        return matrix
    column_of = {asset_id: j for j, asset_id in enumerate(asset_ids)}
    days = np.array([np.datetime64(d, "D") for d in dates])
    since = AssetDividend.ex_date > after if after is not None else AssetDividend.ex_date >= dates[0]
    rows = session.execute(
        select(AssetDividend.asset_id, AssetDividend.ex_date, AssetDividend.amount).where(
            AssetDividend.asset_id.in_(list(asset_ids)), since, AssetDividend.ex_date <= dates[-1]
        )
    ).all()
    for asset_id, ex_date, amount in rows:
        row = int(np.searchsorted(days, np.datetime64(ex_date, "D"), side="left"))
        matrix[row, column_of[asset_id]] += float(amount)
    return matrix


def dividends_seen_at(session: Session, asset_ids: Sequence[int]) -> datetime | None:
    """Newest ``ingested_at`` among the assets' dividends (a later one on an old ex-date is a revision)."""
    return session.scalar(
        select(func.max(AssetDividend.ingested_at)).where(AssetDividend.asset_id.in_(list(asset_ids)))
    )


def aligned_closes(session: Session, asset_id: int, dates: Sequence[date]) -> FloatArray | None:
    """One asset's closes on ``dates``, the last close standing in on days it did not trade.

    ``None`` when some date has no close on or before it (relative figures are then left out).
    """
    if not dates:
        return None
    rows = session.execute(
        select(DailyPrice.date, DailyPrice.close)
        .where(DailyPrice.asset_id == asset_id, DailyPrice.date <= dates[-1])
        .order_by(DailyPrice.date)
    ).all()
    if not rows:
        return None
    known = np.array([np.datetime64(d, "D") for d, _ in rows])
    closes = np.array([float(c) for _, c in rows])
    wanted = np.array([np.datetime64(d, "D") for d in dates])
    position = np.searchsorted(known, wanted, side="right") - 1
    if (position < 0).any():
        return None
    out: FloatArray = closes[position]
    return out


def benchmark_series(
    session: Session, params: StrategyParams, dates: Sequence[date]
) -> tuple[str | None, FloatArray | None]:
    """(name, values on ``dates``) of the strategy's benchmark: its blend if it has one, else the benchmark asset.

    The name is ``None`` when there is no benchmark at all; the values are ``None`` when some date has no
    close on or before it for one of the assets.
    """
    if params.benchmark_blend is None:
        asset = benchmark(session)
        if asset is None:
            return None, None
        return asset.symbol, aligned_closes(session, asset.id, dates)
    symbols = [part.symbol for part in params.benchmark_blend]
    ids = {
        symbol: asset_id
        for symbol, asset_id in session.execute(select(Asset.symbol, Asset.id).where(Asset.symbol.in_(symbols)))
    }
    columns = [aligned_closes(session, ids[s], dates) if s in ids else None for s in symbols]
    if not dates or any(c is None for c in columns):
        return params.benchmark_name, None
    matrix = np.column_stack([c for c in columns if c is not None])
    days = np.array([np.datetime64(d, "D") for d in dates])
    weights = [part.weight for part in params.benchmark_blend]
    return params.benchmark_name, blend_values(days, matrix, weights, params.benchmark_rebalance)


def total_return_benchmark(session: Session, symbol: str, dates: Sequence[date]) -> FloatArray | None:
    """The total return of one stored asset on ``dates``: its closes with each dividend reinvested.

    A dividend counts on the first of ``dates`` on or after its ex-date (after the first date: the series
    starts there). ``None`` when the asset is unknown or some date has no close on or before it.
    """
    asset_id = session.scalar(select(Asset.id).where(Asset.symbol == symbol))
    closes = aligned_closes(session, asset_id, dates) if asset_id is not None else None
    if closes is None or asset_id is None:
        return None
    paid = np.zeros(len(dates))
    days = np.array([np.datetime64(d, "D") for d in dates])
    rows = session.execute(
        select(AssetDividend.ex_date, AssetDividend.amount).where(
            AssetDividend.asset_id == asset_id, AssetDividend.ex_date > dates[0], AssetDividend.ex_date <= dates[-1]
        )
    ).all()
    for ex_date, amount in rows:
        paid[int(np.searchsorted(days, np.datetime64(ex_date, "D"), side="left"))] += float(amount)
    growth = np.ones(len(dates))
    growth[1:] = (closes[1:] + paid[1:]) / closes[:-1]
    out: FloatArray = closes[0] * np.cumprod(growth)
    return out


def benchmark_for(
    session: Session, params: StrategyParams, dates: Sequence[date], return_type: str
) -> tuple[str | None, FloatArray | None, str]:
    """(name, values, its return type) of the benchmark to measure a ``return_type`` index against.

    The total-return index is measured against ``TOTAL_RETURN_BENCHMARK`` when one is set (and stored);
    otherwise against the price benchmark, which then says "price" (SPX is a price index).
    """
    from autoindex.settings import get_settings

    symbol = get_settings().total_return_benchmark
    if return_type == "total" and symbol:
        values = total_return_benchmark(session, symbol, dates) if dates else None
        if values is not None:
            return symbol, values, "total"
    name, values = benchmark_series(session, params, dates)
    return name, values, "price"


def data_source(session: Session) -> str | None:
    """Where the universe's stored prices came from: one provider's name (``demo`` is synthetic), or ``mixed``."""
    ids = select(Asset.id).where(Asset.in_universe, Asset.is_active)
    sources = set(session.scalars(select(DailyPrice.source).where(DailyPrice.asset_id.in_(ids)).distinct()))
    if not sources:
        return None
    return sources.pop() if len(sources) == 1 else "mixed"


@dataclass(frozen=True, slots=True)
class MarketCaps:
    """Capitalisations by (date, asset) for the engine (0: excluded by rule, NaN: unknown), and their provenance."""

    matrix: FloatArray
    known: dict[str, list[KnownShares | None]]  # per stock, the count in force on each date
    excluded: frozenset[str]  # funds: no capitalisation by rule


def share_facts(session: Session, asset_ids: Sequence[int]) -> dict[int, list[ShareFact]]:
    rows = session.scalars(select(AssetShareCount).where(AssetShareCount.asset_id.in_(list(asset_ids))))
    out: dict[int, list[ShareFact]] = {}
    for r in rows:
        out.setdefault(r.asset_id, []).append(ShareFact(r.concept, r.end_date, r.filed, r.shares, r.accn, r.form))
    return out


def market_caps(
    session: Session,
    universe: Sequence[Asset],
    dates: Sequence[date],
    closes: FloatArray,
    splits: Mapping[str, Sequence[tuple[date, float]]],
) -> MarketCaps | None:
    """Shares known on each date (filed on or before it) times that date's close; ``None`` before any is stored.

    Funds (every asset that is not a stock) are excluded by rule; a stock without a count in force is
    unknown (an equal share stands in, and the disclosure says so).
    """
    facts = share_facts(session, [a.id for a in universe])
    if not facts or not dates:
        return None
    matrix = np.full((len(dates), len(universe)), np.nan)
    known: dict[str, list[KnownShares | None]] = {}
    excluded = set()
    for j, asset in enumerate(universe):
        if asset.asset_type != "stock":
            matrix[:, j] = 0.0
            excluded.add(asset.symbol)
            continue
        series = shares_by_day(facts.get(asset.id, []), dates, splits.get(asset.symbol, ()))
        known[asset.symbol] = series
        counts = np.array([np.nan if k is None else float(k.shares) for k in series])
        matrix[:, j] = counts * closes[:, j]
    return MarketCaps(matrix=matrix, known=known, excluded=frozenset(excluded))


def known_splits(session: Session) -> dict[str, list[tuple[date, float]]]:
    """Stored splits by symbol, oldest first: a share count from before one is multiplied by its ratio (and every
    later one's) to be on the split-adjusted closes' basis."""
    rows = session.execute(
        select(Asset.symbol, AssetSplit.effective_date, AssetSplit.shares_after, AssetSplit.shares_before)
        .join(Asset, Asset.id == AssetSplit.asset_id)
        .order_by(Asset.symbol, AssetSplit.effective_date)
    )
    out: dict[str, list[tuple[date, float]]] = {}
    for symbol, day, after, before in rows:
        out.setdefault(symbol, []).append((day, after / before))
    return out


def splits_seen_at(session: Session) -> datetime | None:
    """Newest ``ingested_at`` of any stored split: a newer one changes the caps before it."""
    return session.scalar(select(func.max(AssetSplit.ingested_at)))


def provenance(
    caps: MarketCaps | None, dates: Sequence[date], on: Sequence[date]
) -> dict[date, dict[str, dict[str, Any]]]:
    """Per rebalance date in ``on``, each asset's cap source as of the close before it (the weights' data)."""
    if caps is None:
        return {}
    row_of = {d: i for i, d in enumerate(dates)}
    out: dict[date, dict[str, dict[str, Any]]] = {}
    for day in on:
        row = max(row_of.get(day, 0) - 1, 0)
        sources: dict[str, dict[str, Any]] = {s: {"source": "excluded", "filed": None} for s in caps.excluded}
        for symbol, series in caps.known.items():
            known = series[row] if row < len(series) else None
            if known is not None:
                sources[symbol] = {"source": "edgar", "filed": known.filed.isoformat()}
        out[day] = sources
    return out


def shares_seen_at(session: Session) -> datetime | None:
    """Newest ``ingested_at`` of any stored share count: a newer one means the caps' history may have changed."""
    return session.scalar(select(func.max(AssetShareCount.ingested_at)))
