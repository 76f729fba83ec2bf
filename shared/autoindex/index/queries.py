"""The database side of the index reads: snapshots of what the published strategy version's compute stored.

Every read serves the version named by the ``index_publication`` row and reads it from one database
snapshot (REPEATABLE READ on PostgreSQL), so the data version it is cached under is the version of
the numbers in it. Nothing here runs the engine: before the first compute, reads answer 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from autoindex import pagination
from autoindex.errors import Conflict, ValidationFailed
from autoindex.index import read_cache
from autoindex.index.models import (
    IndexAllocation,
    IndexEngineState,
    IndexMetric,
    IndexPublication,
    IndexRebalance,
    IndexTotalValue,
)
from autoindex.index.models import IndexValue as Value
from autoindex.index.schemas import (
    Allocation,
    AllocationQuery,
    AllocationsRead,
    BenchmarkSeries,
    Currency,
    CurrencyList,
    Disclosure,
    HistoryQuery,
    IndexCurrent,
    IndexHistory,
    RebalanceList,
    RebalanceRead,
    RiskMetricsQuery,
    RiskMetricsRead,
    SeriesQuery,
)
from autoindex.market.models import Asset, DailyPrice

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork


class IndexNotReady(Conflict):
    slug, title = "index-not-ready", "Index Not Ready"


@contextmanager
def snapshot(uow: UnitOfWork) -> Iterator[tuple[Session, IndexPublication]]:
    """Open ``uow`` on one snapshot and yield it with the publication row (409 before the first compute)."""
    with uow:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        publication = session.get(IndexPublication, 1)
        if publication is None or publication.strategy_version is None or publication.data_version <= 0:
            raise IndexNotReady("The index has not been computed yet; it is available after the first compute.")
        yield session, publication


def series(session: Session, version: int, return_type: str = "price") -> list[tuple[date, float]]:
    """The version's index values (price or total return), oldest first."""
    model = IndexTotalValue if return_type == "total" else Value
    rows = session.execute(
        select(model.date, model.value).where(model.strategy_version == version).order_by(model.date)
    )
    points = [(d, float(v)) for d, v in rows]
    if not points:  # a total-return series not computed yet (a version published before it existed)
        raise IndexNotReady(f"The {return_type}-return index has not been computed yet.")
    return points


def data_source(session: Session, version: int) -> str | None:
    """The provider the version's prices came from, as its compute recorded it (``demo`` is synthetic)."""
    notes = session.get(IndexMetric, (version, "notes"))
    return notes.payload.get("data_source") if notes is not None else None


def disclosure_of(notes: dict[str, Any], rebalance: IndexRebalance | None = None) -> Disclosure:
    """The disclosure of the version's notes; of one rebalance's row when given (its leg, sources and notes)."""
    leg: str | None
    if rebalance is not None:
        leg, sources, messages = rebalance.market_cap_leg, rebalance.cap_sources, rebalance.notes
    else:
        leg, sources, messages = (
            notes.get("market_cap_leg"),
            notes.get("cap_sources", {}),
            notes.get("last_rebalance_notes", []),
        )
    return Disclosure.model_validate(
        {
            "market_cap_leg": leg if leg != "none" else None,
            "market_cap_note": notes.get("market_cap_note"),
            "cap_sources": sources or {},
            "skipped_rebalances": notes.get("skipped_rebalances", []),
            "notes": messages or [],
        }
    )


def check_overlap(start: date | None, end: date | None, first: date, last: date) -> None:
    """A 422 when the asked range lies wholly outside the data."""
    if (start and start > last) or (end and end < first):
        raise ValidationFailed(f"The dates asked for are outside the index data ({first} to {last}).")


def load_current(uow: UnitOfWork) -> tuple[str, BaseModel]:
    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        state_row = session.get(IndexEngineState, pub.strategy_version)
        notes_row = session.get(IndexMetric, (pub.strategy_version, "notes"))
        if state_row is None or state_row.last_date is None:
            raise IndexNotReady("The index has not been computed yet; it is available after the first compute.")
        state: dict[str, Any] = state_row.state
        value = float(state["value"])
        weights = [
            Allocation(symbol=symbol, weight=float(position) / value)
            for symbol, position in zip(state["assets"], state["positions"], strict=True)
            if position
        ]
        notes: dict[str, Any] = notes_row.payload if notes_row is not None else {}
        messages = [*notes.get("last_rebalance_notes", [])]
        return read_cache.version_token(pub.data_version, pub.updated_at), IndexCurrent(
            date=state_row.last_date,
            data_source=notes.get("data_source"),
            value=value,
            strategy_version=pub.strategy_version,
            data_version=pub.data_version,
            rebalance_date=state.get("last_rebalance"),
            allocations=sorted(weights, key=lambda a: -a.weight),
            notes=messages,
            disclosure=disclosure_of(notes),
        )


def _page(items: list[dict[str, Any]], query: SeriesQuery) -> tuple[list[dict[str, Any]], str | None]:
    """The page of a date-ordered series after the cursor's day, and the cursor to the next page."""
    if query.cursor:
        after = pagination.decode_date_cursor("d", query.cursor).isoformat()
        items = [item for item in items if item["date"] > after]
    page = items[: query.limit]
    more = len(items) > query.limit
    return page, pagination.encode_cursor("d", page[-1]["date"]) if more else None


def load_history(uow: UnitOfWork, query: HistoryQuery) -> tuple[str, BaseModel]:
    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        points = series(session, pub.strategy_version, query.return_type)
        source = data_source(session, pub.strategy_version)
    check_overlap(query.start, query.end, points[0][0], points[-1][0])
    items: list[dict[str, Any]] = []
    peak, previous = float("-inf"), None
    for day, value in points:
        peak = max(peak, value)
        if (query.start is None or day >= query.start) and (query.end is None or day <= query.end):
            figures = {
                "value": value,
                "daily_return": None if previous is None else value / previous - 1.0,
                "drawdown": value / peak - 1.0,
            }
            # In the order asked: the CSV export's columns follow the keys (docs/exports.md).
            items.append({"date": day.isoformat(), **{column: figures[column] for column in query.columns}})
        previous = value
    page, next_cursor = _page(items, query)
    return read_cache.version_token(pub.data_version, pub.updated_at), IndexHistory(
        strategy_version=pub.strategy_version,
        data_source=source,
        return_type=query.return_type,
        base_date=points[0][0],
        items=page,
        next_cursor=next_cursor,
    )


def load_allocations(uow: UnitOfWork, query: AllocationQuery) -> tuple[str, BaseModel]:
    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None and pub.as_of is not None
        version, on = pub.strategy_version, query.date or pub.as_of
        first = session.scalar(
            select(func.min(IndexAllocation.date)).where(IndexAllocation.strategy_version == version)
        )
        if first is None or not first <= on <= pub.as_of:
            raise ValidationFailed(f"date must be between {first} and {pub.as_of} (the index data).")
        effective = session.scalar(
            select(func.max(IndexAllocation.date)).where(
                IndexAllocation.strategy_version == version, IndexAllocation.date <= on
            )
        )
        rows = session.execute(
            select(Asset.symbol, IndexAllocation.weight, IndexAllocation.trigger)
            .join(Asset, Asset.id == IndexAllocation.asset_id)
            .where(IndexAllocation.strategy_version == version, IndexAllocation.date == effective)
            .order_by(IndexAllocation.weight.desc(), Asset.symbol)
        ).all()
        assert effective is not None
        notes_row = session.get(IndexMetric, (version, "notes"))
        in_effect = session.get(IndexRebalance, (version, effective))
        return read_cache.version_token(pub.data_version, pub.updated_at), AllocationsRead(
            disclosure=disclosure_of(notes_row.payload if notes_row else {}, in_effect),
            strategy_version=version,
            data_source=data_source(session, version),
            date=on,
            rebalance_date=effective,
            rebalance_trigger=rows[0][2] if rows else "schedule",
            allocations=[Allocation(symbol=s, weight=float(w)) for s, w, _ in rows],
        )


def load_currencies(uow: UnitOfWork) -> tuple[str, BaseModel]:
    with snapshot(uow) as (session, pub):
        spans = dict(
            (asset_id, (first, last))
            for asset_id, first, last in session.execute(
                select(DailyPrice.asset_id, func.min(DailyPrice.date), func.max(DailyPrice.date))
                .join(Asset, Asset.id == DailyPrice.asset_id)
                .where(Asset.asset_type == "fx")
                .group_by(DailyPrice.asset_id)
            )
        )
        fx = session.scalars(select(Asset).where(Asset.asset_type == "fx", Asset.symbol.like("USD/%"))).all()
        items = [Currency(code="USD", fx_symbol=None, first_date=None, last_date=None)]
        items += [Currency(code=a.currency, fx_symbol=a.symbol, **_span(spans.get(a.id))) for a in fx]
        return read_cache.version_token(pub.data_version, pub.updated_at), CurrencyList(
            items=sorted(items, key=lambda c: c.code)
        )


def _span(found: tuple[date, date] | None) -> dict[str, date | None]:
    return {"first_date": found[0] if found else None, "last_date": found[1] if found else None}


def benchmark_asset(session: Session) -> Asset:
    found = session.scalars(select(Asset).where(Asset.is_benchmark)).one_or_none()
    if found is None:
        raise Conflict("No benchmark asset is configured.")
    return found


def load_benchmark_series(uow: UnitOfWork, query: SeriesQuery) -> tuple[str, BaseModel]:
    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None and pub.as_of is not None
        asset = benchmark_asset(session)
        base = session.scalar(select(func.min(Value.date)).where(Value.strategy_version == pub.strategy_version))
        assert base is not None
        check_overlap(query.start, query.end, base, pub.as_of)
        # Within the index data, like the history it is drawn beside: a start before the base date would
        # add the warm-up closes and put the benchmark's 100 on another day than the index's.
        rows = session.execute(
            select(DailyPrice.date, DailyPrice.close)
            .where(
                DailyPrice.asset_id == asset.id,
                DailyPrice.date >= max(query.start or base, base),
                DailyPrice.date <= min(query.end or pub.as_of, pub.as_of),
            )
            .order_by(DailyPrice.date)
        ).all()
        first = float(rows[0][1]) if rows else 1.0
        items = [
            {"date": d.isoformat(), "close": format(c.normalize(), "f"), "value": float(c) / first * 100.0}
            for d, c in rows
        ]
        page, next_cursor = _page(items, query)
        return read_cache.version_token(pub.data_version, pub.updated_at), BenchmarkSeries(
            symbol=asset.symbol, items=page, next_cursor=next_cursor
        )


def load_risk_metrics(uow: UnitOfWork, query: RiskMetricsQuery) -> tuple[str, BaseModel]:
    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        prefix = "total_" if query.return_type == "total" else ""
        periods = session.get(IndexMetric, (pub.strategy_version, f"{prefix}periods"))
        rolling = session.get(IndexMetric, (pub.strategy_version, f"{prefix}rolling_{query.window}"))
        if periods is None or rolling is None:
            raise IndexNotReady("The risk metrics have not been computed yet.")
        payload = periods.payload
        return read_cache.version_token(pub.data_version, pub.updated_at), RiskMetricsRead(
            strategy_version=pub.strategy_version,
            as_of=periods.as_of,
            benchmark=payload.get("benchmark_symbol"),
            data_source=data_source(session, pub.strategy_version),
            return_type=query.return_type,
            benchmark_return_type=payload.get("benchmark_return_type", "price"),
            periods={"index": payload.get("index"), "benchmark": payload.get("benchmark")},
            rolling=rolling.payload,
        )


def load_rebalances(uow: UnitOfWork, query: SeriesQuery) -> tuple[str, BaseModel]:
    """Every rebalance, formation and skipped date of the served version in the range, oldest first."""
    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        statement = select(IndexRebalance).where(IndexRebalance.strategy_version == pub.strategy_version)
        if query.start is not None:
            statement = statement.where(IndexRebalance.date >= query.start)
        if query.end is not None:
            statement = statement.where(IndexRebalance.date <= query.end)
        rows = session.scalars(statement.order_by(IndexRebalance.date)).all()
        items = [
            RebalanceRead.model_validate(
                {
                    "date": r.date,
                    "kind": r.kind,
                    "trigger": r.trigger,
                    "turnover": r.turnover,
                    "cost": r.cost,
                    "market_cap_leg": r.market_cap_leg,
                    "cap_sources": r.cap_sources,
                    "notes": r.notes,
                }
            ).model_dump(mode="json")
            for r in rows
        ]
        page, next_cursor = _page(items, query)
        return read_cache.version_token(pub.data_version, pub.updated_at), RebalanceList(
            strategy_version=pub.strategy_version,
            items=[RebalanceRead.model_validate(i) for i in page],
            next_cursor=next_cursor,
        )
