"""Data freshness as the index sees it: symbols behind the last final session, and frozen feeds.

Spans the market (the stored bars) and the index (the active strategy's ``stale_feed_days``), so it
lives above both.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.strategy import active_version
from autoindex.market.admin import freshness

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.schemas import FreshnessRead


def data_freshness(*, uow: UnitOfWork, now: datetime | None = None) -> FreshnessRead:
    """The freshness report, with frozen feeds judged by the active strategy's stale-feed rule."""
    with uow:
        params = StrategyParams.model_validate(active_version(uow.session).params)
    return freshness(uow=uow, frozen_feed_days=params.stale_feed_days, now=now)
