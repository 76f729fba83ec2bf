"""The provider error tree.

Every message here is written by this package, never copied from a request, so no error,
log line or problem response can carry the API key. The provider's own message, where one
exists, is kept apart in ``provider_message`` (Twelve Data messages never echo the key).
These are :class:`~autoindex.errors.AppError` subclasses, so a route that lets one escape
answers with a problem, never a traceback; AuthenticationFailed is a 502 because it is the
service's credential that failed, not the caller's.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, ClassVar

from autoindex.errors import AppError


class ProviderError(AppError):
    """Base of every market-data provider failure."""

    status: ClassVar[int] = 502
    slug: ClassVar[str] = "provider-error"
    title: ClassVar[str] = "Market Data Provider Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        provider: str = "twelvedata",
        code: int | None = None,
        provider_message: str | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, headers=headers, extensions=extensions)
        self.provider = provider
        self.code = code
        self.provider_message = provider_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, code={self.code!r}, detail={self.detail!r})"


class MinuteLimitExceeded(ProviderError):
    """The plan's per-minute credits are spent; the call may go ahead after ``retry_after_s``."""

    status, slug, title = 503, "provider-minute-limit", "Market Data Provider Busy"

    def __init__(self, detail: str | None = None, *, retry_after_s: float, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(max(math.ceil(retry_after_s), 1))})
        super().__init__(detail or "The provider's per-minute credits are spent; retry shortly.", **kwargs)
        self.retry_after_s = retry_after_s


class DailyLimitExhausted(ProviderError):
    """The plan's daily credits are spent; nothing more until ``resets_at`` (00:00 UTC)."""

    status, slug, title = 503, "provider-daily-limit", "Market Data Provider Exhausted"

    def __init__(self, detail: str | None = None, *, resets_at: datetime, **kwargs: Any) -> None:
        super().__init__(
            detail or f"The provider's daily credits are spent until {resets_at.isoformat()}.",
            **kwargs,
        )
        self.resets_at = resets_at


class SymbolNotFound(ProviderError):
    """The provider does not know the symbol, or the plan does not cover it."""

    status, slug, title = 404, "symbol-not-found", "Symbol Not Found"

    def __init__(self, symbol: str, *, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or f"The provider has no data for symbol {symbol!r}.", **kwargs)
        self.symbol = symbol


class ProviderUnavailable(ProviderError):
    """The provider did not answer usefully (5xx, timeouts, HTML error pages) after the retries."""

    status, slug, title = 503, "provider-unavailable", "Market Data Provider Unavailable"


class CircuitOpen(ProviderUnavailable):
    """Recent calls failed, so calls are refused without reaching the provider until the cooldown ends."""

    def __init__(self, *, retry_after_s: float, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(max(math.ceil(retry_after_s), 1))})
        super().__init__("The market-data provider is failing; calls are paused briefly.", **kwargs)
        self.retry_after_s = retry_after_s


class BudgetUnavailable(ProviderUnavailable):
    """The shared credit budget could not be reached, so no call is made (it could cause a 429)."""


class InvalidResponse(ProviderError):
    """The provider answered with something this client cannot read (malformed JSON, wrong shape)."""


class AuthenticationFailed(ProviderError):
    """The provider refused the configured API key (401)."""
