"""The caller's usage today (UTC). Request counts come from the rate limiter's counters, read without counting.

Requests are counted by the authentication dependency inside the rate-limit script call it already
makes (a ``usage`` budget per route group), so counting costs no extra Redis round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

from autoindex.backtests import queries as backtests
from autoindex.ratelimit.limiter import get_limiter
from autoindex.settings import USAGE_GROUPS, get_settings
from autoindex.usage.schemas import BacktestUsage, Quota, UsageRead
from autoindex.webhooks import queries as webhooks

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal


def _quota(limit: int, used: int) -> Quota:
    return Quota(limit=limit, used=used, remaining=max(limit - used, 0))


def report(*, uow: UnitOfWork, principal: Principal) -> UsageRead:
    settings = get_settings()
    now = datetime.now(UTC)
    day_start = datetime.combine(now.date(), time(0), tzinfo=UTC)
    caller = principal.rate_limit_identity
    limiter = get_limiter()
    # One read-only script call: the day's group counters and (for a key) its daily quota, all one identity's.
    names = [f"usage_{group}" for group in USAGE_GROUPS]
    is_key = principal.kind == "api_key"
    counts = limiter.counts([*names, "api_key_daily"] if is_key else names, caller)
    requests = None if counts is None else {g: c for g, c in zip(USAGE_GROUPS, counts, strict=False) if c}
    request_quota = None
    if is_key:
        request_quota = _quota(settings.api_key_daily_quota, counts[-1] if counts else 0)
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
