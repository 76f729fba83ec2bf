"""Named policies applied to identities, with each policy's stated behaviour when the store is down."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from autoindex.errors import ServiceUnavailable
from autoindex.observability import add_metric, logger
from autoindex.ratelimit.store import (
    Budget,
    CounterStore,
    MemoryCounterStore,
    RedisCounterStore,
    StoreUnavailable,
    WindowCount,
)
from autoindex.redis_scripts import hash_tag
from autoindex.settings import RateLimitPolicy, get_settings


@dataclass(frozen=True, slots=True)
class Decision:
    policy: str
    limit: int
    window_s: int
    allowed: bool
    remaining: int
    reset_s: int  # whole seconds until the window resets (at least 1)
    window_id: int | None = None  # which clock-aligned window counted this hit
    degraded: bool = False  # the store was down and the policy failed open

    def headers(self) -> dict[str, str]:
        """IETF draft-ietf-httpapi-ratelimit-headers: ``RateLimit-Policy`` and ``RateLimit``; ``Retry-After`` on 429."""
        out = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={self.window_s}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_s}',
        }
        if not self.allowed:
            out["Retry-After"] = str(self.reset_s)
        return out


class Limiter:
    def __init__(self, store: CounterStore, policies: dict[str, RateLimitPolicy], *, key_prefix: str = "rl") -> None:
        self._store = store
        self._policies = policies
        self._prefix = key_prefix

    def policy(self, name: str) -> RateLimitPolicy:
        try:
            return self._policies[name]
        except KeyError:
            raise KeyError(f"unknown rate-limit policy {name!r}") from None

    def hit(self, policy_name: str, identity: str) -> Decision:
        """Count one request of ``identity`` under ``policy_name`` and decide, in one store round trip.

        Raises ServiceUnavailable when the store is down and the policy fails closed.
        """
        policy = self.policy(policy_name)
        try:
            window = self._store.hit(self._key(policy_name, identity), policy.window_s * 1000)
        except StoreUnavailable as exc:
            return self._degraded(policy_name, policy, exc)
        return self._decision(policy_name, policy, window)

    def hit_all(self, checks: Sequence[tuple[str, str]], *, slot: str | None = None) -> list[Decision]:
        """Decide several ``(policy, identity)`` pairs in one store round trip, all or nothing.

        The request is counted in every budget only if every budget has room, so a refusal by one
        policy spends nothing of the others. Store down: ServiceUnavailable if any policy fails
        closed, else every decision is degraded (allowed).

        ``slot`` names the hash tag of checks about several identities (one Redis Cluster slot holds
        every key of one decision); the same budget must always be decided with the same ``slot``.
        Checks about one identity need none: that identity is the tag.
        """
        policies = [(name, self.policy(name)) for name, _ in checks]
        budgets = self.budgets(checks, slot)
        try:
            windows = self._store.hit_all(budgets)
        except StoreUnavailable as exc:
            closed = [(name, policy) for name, policy in policies if policy.fail_mode == "closed"]
            return [self._degraded(name, policy, exc) for name, policy in closed or policies]
        return self.decisions(checks, windows)

    def decisions(self, checks: Sequence[tuple[str, str]], windows: Sequence[WindowCount]) -> list[Decision]:
        """The decisions for ``checks`` whose budgets another caller counted (``windows``, in order)."""
        return [
            self._decision(name, self.policy(name), window) for (name, _), window in zip(checks, windows, strict=True)
        ]

    def release_all(
        self, checks: Sequence[tuple[str, str]], decisions: Sequence[Decision], *, slot: str | None = None
    ) -> None:
        """Give back the hits ``hit_all`` counted for ``checks`` (budgets that count failures only).

        A store that is down, or a decision that was degraded, has nothing to give back.
        """
        budgets, window_ids = [], []
        for budget, decision in zip(self.budgets(checks, slot), decisions, strict=True):
            if decision.window_id is None or not decision.allowed:
                continue
            budgets.append(budget)
            window_ids.append(decision.window_id)
        if not budgets:
            return
        try:
            self._store.release_all(budgets, window_ids)
        except StoreUnavailable as exc:
            logger.warning("rate-limit store unavailable; hit not given back", extra={"error": str(exc)})

    def counts(self, policy_names: Sequence[str], identity: str) -> list[int] | None:
        """This window's count of ``identity`` under each policy, counting nothing; None when the store is down.

        The policies must share one window length (the usage groups and the daily quota do: a day).
        """
        policies = [self.policy(name) for name in policy_names]
        if len({p.window_s for p in policies}) > 1:
            raise ValueError("counts() reads policies of one window length at a time")
        if not policies:
            return []
        try:
            return self._store.counts([self._key(name, identity) for name in policy_names], policies[0].window_s * 1000)
        except StoreUnavailable:
            return None

    def budgets(self, checks: Sequence[tuple[str, str]], slot: str | None = None) -> list[Budget]:
        """The counters behind ``checks``: their keys (see :meth:`_key`), windows and limits."""
        if slot is None and len({identity for _, identity in checks}) > 1:
            raise ValueError("checks about several identities need a slot (one hash tag per decision)")
        return [
            Budget(key=self._key(name, identity, slot), window_ms=policy.window_s * 1000, limit=policy.limit)
            for name, identity in checks
            for policy in (self.policy(name),)
        ]

    def _key(self, policy_name: str, identity: str, slot: str | None = None) -> str:
        """``{rl:<identity>}:<policy>``, or ``{rl:<slot>}:<policy>:<identity>`` for a decision about several
        identities: the hash tag keeps every key of one decision in one Redis Cluster slot."""
        if slot is None:
            return f"{hash_tag(f'{self._prefix}:{identity}')}:{policy_name}"
        return f"{hash_tag(f'{self._prefix}:{slot}')}:{policy_name}:{identity}"

    @staticmethod
    def _decision(name: str, policy: RateLimitPolicy, window: WindowCount) -> Decision:
        return Decision(
            policy=name,
            limit=policy.limit,
            window_s=policy.window_s,
            allowed=window.count <= policy.limit,
            remaining=max(policy.limit - window.count, 0),
            reset_s=max(math.ceil(window.reset_ms / 1000), 1),
            window_id=window.window_id,
        )

    def _degraded(self, name: str, policy: RateLimitPolicy, exc: StoreUnavailable) -> Decision:
        add_metric("RateLimitStoreUnavailable")
        if policy.fail_mode == "closed":
            logger.error("rate-limit store unavailable; failing closed", extra={"policy": name, "error": str(exc)})
            raise ServiceUnavailable(
                "Rate limiting is temporarily unavailable; try again shortly.", headers={"Retry-After": "5"}
            )
        logger.warning("rate-limit store unavailable; failing open", extra={"policy": name, "error": str(exc)})
        return Decision(
            policy=name,
            limit=policy.limit,
            window_s=policy.window_s,
            allowed=True,
            remaining=policy.limit,
            reset_s=policy.window_s,
            degraded=True,
        )


def most_restrictive(decisions: Sequence[Decision]) -> Decision:
    """The decision a response reports: the refusal that lasts longest, else the fewest requests left.

    Fewest left (not the smallest fraction) is what bounds the caller's next requests.
    """
    refused = [d for d in decisions if not d.allowed]
    if refused:
        return max(refused, key=lambda d: d.reset_s)
    return min(decisions, key=lambda d: (d.remaining, -d.reset_s))


@functools.cache
def get_limiter() -> Limiter:
    """The container's limiter: Redis when REDIS_URL is set, else in-process memory (embedded mode)."""
    from autoindex.clients import get_redis

    settings = get_settings()
    client = get_redis()
    store: CounterStore = RedisCounterStore(client) if client is not None else MemoryCounterStore()
    return Limiter(store, settings.rate_limit_policies, key_prefix=settings.rate_limit_key_prefix)
