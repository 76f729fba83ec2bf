"""The timing arguments of a circuit breaker, typed once for every test that builds one (memory, Redis, cluster)."""

from __future__ import annotations

from typing import TypedDict


class Timing(TypedDict):
    """``threshold``, ``window_ms``, ``cooldown_ms`` and ``lease_ms`` of ``market.providers.circuit``'s breakers."""

    threshold: int
    window_ms: int
    cooldown_ms: int
    lease_ms: int
