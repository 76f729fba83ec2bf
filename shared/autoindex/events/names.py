"""The names (``detail-type``) of the events this product publishes on its bus."""

from __future__ import annotations

from enum import StrEnum


class EventName(StrEnum):
    PRICES_REFRESHED = "PricesRefreshed"  # a refresh run's last batch landed (market -> compute)
    STRATEGY_CHANGED = "StrategyChanged"  # a new strategy version is active (index -> compute)
    COMPUTE_REQUESTED = "ComputeRequested"  # an operator asked for a recompute (admin -> compute)
    INDEX_COMPUTED = "IndexComputed"  # a new data version is published (compute -> warm)
    CACHE_INVALIDATED = "CacheInvalidated"  # an operator republished the same data (admin -> warm)
    BACKTEST_FINISHED = "BacktestFinished"  # a backtest job ended, succeeded or failed (backtest -> webhooks)
    REFRESH_FAILED = "RefreshFailed"  # a refresh run ended with failed batches (market -> webhooks)
