"""Read side of market data: assets, paginated prices and normalised history, from the read engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from autoindex import pagination
from autoindex.errors import NotFound
from autoindex.market.models import Asset, AssetSplit, DailyPrice
from autoindex.market.schemas import (
    AssetDetail,
    AssetPage,
    AssetQuery,
    AssetRead,
    HistoryPoint,
    HistoryQuery,
    HistoryRead,
    PricePage,
    PriceQuery,
    SplitRead,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork


def _asset(session: Session, symbol: str) -> Asset:
    asset = session.scalars(select(Asset).where(Asset.symbol == symbol.upper())).one_or_none()
    if asset is None:
        raise NotFound(f"No asset with symbol {symbol.upper()!r}.")
    return asset


def list_assets(*, uow: UnitOfWork, query: AssetQuery) -> AssetPage:
    statement = select(Asset).order_by(Asset.symbol).limit(query.limit + 1)
    if query.type:
        statement = statement.where(Asset.asset_type == query.type)
    if query.in_universe is not None:
        statement = statement.where(Asset.in_universe == query.in_universe)
    if query.q:
        # Escape LIKE wildcards: the search is for the text as typed.
        needle = query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(
            or_(Asset.symbol.ilike(f"%{needle}%", escape="\\"), Asset.name.ilike(f"%{needle}%", escape="\\"))
        )
    if query.cursor:
        statement = statement.where(Asset.symbol > pagination.decode_cursor("s", query.cursor))
    with uow:
        rows = list(uow.session.scalars(statement))
        items = [AssetRead.model_validate(a) for a in rows[: query.limit]]
    next_cursor = pagination.encode_cursor("s", items[-1].symbol) if len(rows) > query.limit else None
    return AssetPage(items=items, next_cursor=next_cursor)


def get_asset(*, uow: UnitOfWork, symbol: str) -> AssetDetail:
    with uow:
        asset = _asset(uow.session, symbol)
        splits = uow.session.scalars(
            select(AssetSplit).where(AssetSplit.asset_id == asset.id).order_by(AssetSplit.effective_date)
        )
        return AssetDetail(
            **AssetRead.model_validate(asset).model_dump(),
            splits=[
                SplitRead(
                    date=s.effective_date,
                    shares_after=s.shares_after,
                    shares_before=s.shares_before,
                    ratio=s.ratio,
                    source=s.source,
                )
                for s in splits
            ],
        )


def _decimal_text(value: Decimal) -> str:
    # Exact, without the column's padding: Decimal("187.25000000") -> "187.25".
    return format(value.normalize(), "f")


def prices(*, uow: UnitOfWork, symbol: str, query: PriceQuery) -> PricePage:
    """Bars oldest first between ``start`` and ``end`` inclusive, ``limit`` at a time; prices as decimal strings."""
    after: date | None = None
    if query.cursor:
        after = pagination.decode_date_cursor("p", query.cursor)
    columns = query.columns
    with uow:
        asset = _asset(uow.session, symbol)
        statement = (
            select(DailyPrice.date, *(getattr(DailyPrice, c) for c in columns))
            .where(DailyPrice.asset_id == asset.id)
            .order_by(DailyPrice.date)
            .limit(query.limit + 1)
        )
        if query.start:
            statement = statement.where(DailyPrice.date >= query.start)
        if query.end:
            statement = statement.where(DailyPrice.date <= query.end)
        if after:
            statement = statement.where(DailyPrice.date > after)
        rows = uow.session.execute(statement).all()
        currency, canonical = asset.currency, asset.symbol
    items: list[dict[str, Any]] = []
    for row in rows[: query.limit]:
        item: dict[str, Any] = {"date": row[0].isoformat()}
        for name, value in zip(columns, row[1:], strict=True):
            item[name] = _decimal_text(value) if isinstance(value, Decimal) else value
        items.append(item)
    next_cursor = pagination.encode_cursor("p", items[-1]["date"]) if len(rows) > query.limit else None
    return PricePage(symbol=canonical, currency=currency, items=items, next_cursor=next_cursor)


def history(*, uow: UnitOfWork, symbol: str, query: HistoryQuery) -> HistoryRead:
    """Closes normalised to 100 at the first date in range (float64, rounded to 6 decimals), ``limit`` a page.

    Every page is normalised to the range's first close, not its own: pages chained together are the
    unpaged series.
    """
    after = pagination.decode_date_cursor("h", query.cursor) if query.cursor else None
    with uow:
        asset = _asset(uow.session, symbol)
        in_range = select(DailyPrice.date, DailyPrice.close).where(DailyPrice.asset_id == asset.id)
        if query.start:
            in_range = in_range.where(DailyPrice.date >= query.start)
        if query.end:
            in_range = in_range.where(DailyPrice.date <= query.end)
        first = uow.session.execute(in_range.order_by(DailyPrice.date).limit(1)).one_or_none()
        page = in_range.where(DailyPrice.date > after) if after else in_range
        rows = uow.session.execute(page.order_by(DailyPrice.date).limit(query.limit + 1)).all()
        canonical = asset.symbol
    if first is None:
        return HistoryRead(symbol=canonical, start=None, items=[])
    base = float(first[1])
    items = [HistoryPoint(date=d, value=round(float(close) / base * 100.0, 6)) for d, close in rows[: query.limit]]
    more = len(rows) > query.limit
    next_cursor = pagination.encode_cursor("h", items[-1].date.isoformat()) if more else None
    return HistoryRead(symbol=canonical, start=first[0], items=items, next_cursor=next_cursor)
