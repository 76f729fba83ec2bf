"""Market-data providers: the interface, Twelve Data, the demo generator, the credit budget, the circuit.

:func:`get_provider` picks the provider named by ``MARKET_DATA_PROVIDER`` once per process. The
Twelve Data client shares :func:`get_credit_budget` and :func:`get_circuit_breaker` with every
other caller in the container, and through Redis with every other container.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from autoindex.market.providers.protocol import (
    Bar,
    MarketDataProvider,
    ProviderCapabilities,
    ProviderError,
    RejectedRow,
    SymbolBars,
    SymbolError,
)
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from autoindex.market.providers.budget import CreditBudget
    from autoindex.market.providers.circuit import CircuitBreaker

__all__ = [
    "Bar",
    "MarketDataProvider",
    "ProviderCapabilities",
    "ProviderError",
    "RejectedRow",
    "SymbolBars",
    "SymbolError",
    "clear_provider_caches",
    "get_circuit_breaker",
    "get_credit_budget",
    "get_provider",
]


@functools.cache
def get_credit_budget() -> CreditBudget:
    """The plan's credit budget: in Redis when REDIS_URL is set, else in this process."""
    from autoindex.clients import get_redis
    from autoindex.market.providers.budget import MemoryCreditBudget, RedisCreditBudget

    settings = get_settings()
    client = get_redis()
    if client is None:
        return MemoryCreditBudget(
            minute_limit=settings.provider_credits_per_minute,
            day_limit=settings.provider_credits_per_day,
            guard_ms=settings.provider_budget_guard_ms,
        )
    return RedisCreditBudget(
        client,
        minute_limit=settings.provider_credits_per_minute,
        day_limit=settings.provider_credits_per_day,
        key_prefix=f"{settings.provider_key_prefix}:credits",
        guard_ms=settings.provider_budget_guard_ms,
    )


@functools.cache
def get_circuit_breaker() -> CircuitBreaker:
    """The provider's circuit breaker: shared through Redis when REDIS_URL is set, else in this process."""
    from autoindex.clients import get_redis
    from autoindex.market.providers.circuit import MemoryCircuitBreaker, RedisCircuitBreaker

    settings = get_settings()
    threshold = settings.provider_circuit_failure_threshold
    window_ms = settings.provider_circuit_window_s * 1000
    cooldown_ms = settings.provider_circuit_cooldown_s * 1000
    # The trial call's lease covers its own retries; a caller that dies frees it after this.
    lease_ms = int(settings.twelvedata_timeout_s * settings.twelvedata_retry_attempts * 1000) + 5_000
    client = get_redis()
    if client is None:
        return MemoryCircuitBreaker(
            threshold=threshold, window_ms=window_ms, cooldown_ms=cooldown_ms, lease_ms=lease_ms
        )
    return RedisCircuitBreaker(
        client,
        key=f"{settings.provider_key_prefix}:circuit:twelvedata",
        threshold=threshold,
        window_ms=window_ms,
        cooldown_ms=cooldown_ms,
        lease_ms=lease_ms,
    )


@functools.cache
def get_provider() -> MarketDataProvider:
    """The configured provider, built once per process.

    Returns
    -------
    MarketDataProvider
        :class:`~autoindex.market.providers.demo.DemoProvider` for ``MARKET_DATA_PROVIDER=demo``
        (unset means demo only in the local stage), else
        :class:`~autoindex.market.providers.twelvedata.client.TwelveDataProvider` with the shared credit budget
        and circuit breaker.
    """
    settings = get_settings()
    if settings.market_data_provider == "twelvedata":
        from autoindex.market.providers.twelvedata.client import TwelveDataProvider

        return TwelveDataProvider.from_settings(settings, budget=get_credit_budget(), circuit=get_circuit_breaker())
    from autoindex.market.providers.demo import DemoProvider

    return DemoProvider()


def clear_provider_caches() -> None:
    """Forget the cached provider, budget and circuit (after a settings change, in tests)."""
    if get_provider.cache_info().currsize:
        get_provider().close()
    for cached in (get_provider, get_credit_budget, get_circuit_breaker):
        cached.cache_clear()
