"""What operators see and change: runs, freshness, provider usage, and the universe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from autoindex.db import keyset as runs_repo
from autoindex.errors import Conflict, NotFound, ValidationFailed
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.identity import audit
from autoindex.market import queries as market_repo
from autoindex.market.models import Asset, RefreshRun
from autoindex.market.planning import last_final_session
from autoindex.market.schemas import FreshnessItem, FreshnessRead, ProviderUsageRead, RunPage, RunRead, UniverseChange
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal, RequestMeta


def get_run(*, uow: UnitOfWork, run_id: uuid.UUID) -> RunRead:
    with uow:
        run = uow.session.get(RefreshRun, run_id)
        if run is None:
            raise NotFound("No such refresh run.")
        return RunRead.model_validate(run)


def list_runs(*, uow: UnitOfWork, limit: int, cursor: str | None) -> RunPage:
    """Newest first; the cursor carries the last run's creation time and id."""
    with uow:
        rows, next_cursor = runs_repo.newest_first(uow.session, RefreshRun, kind="r", limit=limit, cursor=cursor)
        return RunPage(items=[RunRead.model_validate(r) for r in rows], next_cursor=next_cursor)


def freshness(*, uow: UnitOfWork, frozen_feed_days: int, now: datetime | None = None) -> FreshnessRead:
    """The newest stored bar per active symbol against the newest final session: stale when behind.

    ``frozen_feed_days`` is the active strategy's ``stale_feed_days``: a symbol whose close has not
    changed for that many trading days while others traded is reported ``frozen``.
    """
    settings = get_settings()
    expected = last_final_session(
        now or datetime.now(UTC),
        settings.market_timezone,
        settle=timedelta(minutes=settings.twelvedata_close_settle_min),
    )
    with uow:
        assets = market_repo.active_assets(uow.session)
        last = market_repo.last_price_dates(uow.session)
        frozen = market_repo.frozen_closes(uow.session, [a.id for a in assets], frozen_feed_days)
        items = []
        for asset in assets:
            last_date = last.get(asset.id)
            known = max((d for d in (last_date, asset.prices_checked_through) if d), default=None)
            items.append(
                FreshnessItem(
                    symbol=asset.symbol,
                    asset_type=asset.asset_type,
                    last_date=last_date,
                    checked_through=asset.prices_checked_through,
                    expected_through=expected,
                    stale=known is None or known < expected,
                    frozen=asset.id in frozen,
                )
            )
    return FreshnessRead(
        expected_through=expected,
        stale_count=sum(i.stale for i in items),
        frozen_feed_days=frozen_feed_days,
        frozen=[i.symbol for i in items if i.frozen],
        items=items,
    )


def provider_usage() -> ProviderUsageRead:
    from autoindex.market.providers.factory import get_circuit_breaker, get_credit_budget, get_provider

    usage = get_credit_budget().usage()
    return ProviderUsageRead(
        provider=get_provider().capabilities.name,
        minute_used=usage.minute_used,
        minute_limit=usage.minute_limit,
        day_used=usage.day_used,
        day_limit=usage.day_limit,
        minute_resets_in_s=round(usage.minute_resets_in_s, 3),
        day_resets_in_s=round(usage.day_resets_in_s, 3),
        circuit=str(get_circuit_breaker().state().state),
    )


def put_universe(
    *, uow: UnitOfWork, principal: Principal, symbol: str, change: UniverseChange, meta: RequestMeta
) -> tuple[Asset, bool]:
    """Add ``symbol`` to the universe (creating the asset) or change it; audited. Returns (asset, created)."""
    symbol = symbol.upper()
    with uow:
        session = uow.session
        asset = session.scalars(select(Asset).where(Asset.symbol == symbol)).one_or_none()
        created = asset is None
        was_constituent = asset is not None and _constituent(asset)
        if asset is None:
            if change.name is None or change.asset_type is None or change.currency is None:
                raise ValidationFailed("A new asset needs name, asset_type and currency.")
            asset = Asset(symbol=symbol, name=change.name, asset_type=change.asset_type, currency=change.currency)
            session.add(asset)
        for field in ("name", "asset_type", "exchange", "mic_code", "currency", "sector"):
            value = getattr(change, field)
            if value is not None:
                setattr(asset, field, value)
        asset.in_universe = change.in_universe and asset.asset_type != "fx"
        if change.is_active is not None:  # a metadata fix must not reactivate an asset an operator switched off
            asset.is_active = change.is_active
        elif created:
            asset.is_active = True
        looked_up = _set_cik(session, asset, change.cik)
        _check_benchmark(session, asset, change.is_benchmark)
        if change.is_benchmark:
            session.execute(update(Asset).where(Asset.is_benchmark, Asset.symbol != symbol).values(is_benchmark=False))
            asset.is_benchmark = True
        session.flush()
        audit.record(
            session,
            action="admin.universe.put",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("asset", symbol),
            details={
                "created": created,
                **change.model_dump(exclude_none=True),
                **({"cik_from_ticker_map": looked_up} if looked_up is not None else {}),
            },
        )
        universe_changed = _constituent(asset) != was_constituent
    if universe_changed:
        _queue_compute(symbol)
    return asset, created


def _set_cik(session: Session, asset: Asset, given: int | None) -> int | None:
    """The operator's CIK, else (a stock without one) SEC's from the cached ticker map; returns one found there.

    Cheap by design: one Redis read, never a request to SEC. A cold cache, a ticker the map lacks, or a CIK
    another asset holds (a second class of one issuer) leaves it to the weekly share-count job's rule.
    """
    if given is not None:
        asset.cik = given
        return None
    if asset.cik is not None or asset.asset_type != "stock":
        return None
    from autoindex.market.ticker_cache import ticker_cache_from_settings
    from autoindex.market.tickers import normalise_ticker

    ticker = normalise_ticker(asset.symbol)
    cik = (ticker_cache_from_settings().lookup([ticker]) or {}).get(ticker)
    if cik is None or session.scalar(select(Asset.id).where(Asset.cik == cik).limit(1)) is not None:
        return None
    asset.cik = cik
    return cik


def _check_benchmark(session: Session, asset: Asset, wanted: bool | None) -> None:
    """Refuse a change that would leave the index measured against nothing usable.

    Every compare, benchmark series and risk metric reads the benchmark asset: one without stored prices
    makes them all a 422, and no benchmark at all a 409. So the benchmark is chosen among priced, active
    assets (as a strategy's blend is), and the current one is replaced, never just unset or switched off.
    """
    if wanted is True:
        # A new asset has no closes yet (and no id before the flush).
        stored_usable = asset.id is not None and asset.symbol in market_repo.usable_as_benchmark(
            session, [asset.symbol]
        )
        if not (asset.is_active and stored_usable):
            reason = (
                f"{asset.symbol} cannot be the benchmark: it is not an active asset with stored prices. Add it, "
                "refresh it, then make it the benchmark."
            )
            raise ValidationFailed(
                reason, extensions={"errors": [{"loc": ["body", "is_benchmark"], "msg": reason, "type": "value_error"}]}
            )
    elif asset.is_benchmark and (wanted is False or not asset.is_active):
        raise Conflict(
            f"{asset.symbol} is the benchmark: it stays the benchmark, and active, until another asset is made "
            "the benchmark (is_benchmark: true on it)."
        )


def _constituent(asset: Asset) -> bool:
    """Whether the compute job takes the asset into the index (its ``universe`` rule)."""
    return bool(asset.in_universe and asset.is_active)


def _queue_compute(symbol: str) -> None:
    """After the commit: the index follows a changed universe now, not at the next price refresh."""
    transport.publish(EventName.COMPUTE_REQUESTED, {"reason": f"universe changed: {symbol}"})


def remove_from_universe(*, uow: UnitOfWork, principal: Principal, symbol: str, meta: RequestMeta) -> None:
    """Take a symbol out of the index universe; its price history stays (the index's past used it)."""
    symbol = symbol.upper()
    with uow:
        asset = uow.session.scalars(select(Asset).where(Asset.symbol == symbol)).one_or_none()
        if asset is None:
            raise NotFound("No such asset.")
        if asset.is_benchmark:
            raise Conflict("The benchmark cannot leave the universe; choose another benchmark first.")
        was_constituent = _constituent(asset)
        asset.in_universe = False
        audit.record(
            uow.session,
            action="admin.universe.delete",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("asset", symbol),
        )
    if was_constituent:
        _queue_compute(symbol)
