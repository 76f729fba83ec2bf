"""The caller's usage today (UTC). Request counts come from the rate limiter's counters, read without counting.

Requests are counted by the authentication dependency inside the rate-limit script call it already
makes (a ``usage`` budget per route group), so counting costs no extra Redis round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

from autoindex.backtests import queries as backtests
from autoindex.ratelimit.limiter import get_limiter
from autoindex.settings import get_settings
from autoindex.usage.schemas import BacktestUsage, Quota, UsageRead
from autoindex.webhooks import queries as webhooks

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal


def _quota(limit: int, used: int) -> Quota:
    return Quota(limit=limit, used=used, remaining=max(limit - used, 0))


def report(*, uow: UnitOfWork, principal: Principal, groups: tuple[str, ...]) -> UsageRead:
    settings = get_settings()
    now = datetime.now(UTC)
    day_start = datetime.combine(now.date(), time(0), tzinfo=UTC)
    caller = principal.rate_limit_identity
    limiter = get_limiter()
    counts = limiter.counts([f"usage:{group}" for group in groups], caller)
    requests = None if counts is None else {g: c for g, c in zip(groups, counts, strict=True) if c}
    request_quota = None
    if principal.kind == "api_key":
        used = limiter.counts(["api_key_daily"], caller)
        request_quota = _quota(settings.api_key_daily_quota, used[0] if used else 0)
    with uow:
        today = backtests.started_since(uow.session, caller, day_start)
        running = backtests.in_flight(uow.session, caller)
        account_today = backtests.runs_since(uow.session, principal.user_id, day_start)
        deliveries = webhooks.deliveries_since(uow.session, principal.user_id, day_start)
    return UsageRead(
        date=now.date(),
        caller=principal.kind,
        requests=requests,
        request_quota=request_quota,
        backtests=BacktestUsage(
            today=today,
            daily_quota=_quota(settings.backtest_daily_quota, today),
            running=running,
            account_today=account_today,
        ),
        webhook_deliveries={status: deliveries.get(status, 0) for status in ("pending", "delivered", "failed")},
    )
