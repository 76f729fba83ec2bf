"""The usage report."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class Quota(BaseModel):
    limit: int
    used: int
    remaining: int


class BacktestUsage(BaseModel):
    today: int = Field(
        description="Backtests submitted today (UTC) by this caller, cached answers and deleted ones included."
    )
    daily_quota: Quota
    running: int = Field(description="Queued or running now; at most BACKTEST_MAX_CONCURRENT_PER_KEY.")
    account_today: int = Field(description="Backtests submitted today by the whole account (every key).")


class UsageRead(BaseModel):
    date: date
    caller: str = Field(description="api_key or user: what the counts below are per.")
    requests: dict[str, int] | None = Field(
        description="Authenticated requests today (UTC) by route group; null when the counter store is unreachable."
    )
    request_quota: Quota | None = Field(description="The API key's daily request quota (null for a bearer token).")
    backtests: BacktestUsage
    webhook_deliveries: dict[str, int] = Field(
        description="The account's webhook deliveries created today, by status (pending, delivered, failed)."
    )
