"""The FastAPI side of rate limiting: who the caller is, and the dependency each route group uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

from fastapi import Request

from autoindex.errors import RateLimited
from autoindex.observability import add_metric
from autoindex.ratelimit.limiter import Decision, get_limiter, most_restrictive
from autoindex.settings import USAGE_GROUPS, get_settings
from autoindex.web.middleware import RATE_LIMIT_HEADERS


def client_ip(request: Request) -> str:
    """The caller's address: API Gateway's source IP, or X-Forwarded-For only when configured as trusted."""
    settings = get_settings()
    if settings.trust_forwarded_for:
        forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
        if len(forwarded) >= settings.trusted_proxy_count:
            return forwarded[-settings.trusted_proxy_count]
    event = request.scope.get("aws.event") or {}
    source_ip = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    if source_ip:
        return str(source_ip)
    return request.client.host if request.client else "unknown"


def enforce_rate_limit(request: Request, *, policy: str, identity: str) -> Decision | None:
    """Apply one policy to one identity (``ip:…``, ``user:…``, ``key:…``); raise RateLimited when over."""
    return enforce_rate_limits(request, [(policy, identity)])


def enforce_rate_limits(request: Request, checks: Sequence[tuple[str, str]]) -> Decision | None:
    """Apply several ``(policy, identity)`` pairs in one store round trip; raise RateLimited if any refuses.

    The response (or the 429) reports the most restrictive decision.
    """
    if not get_settings().rate_limit_enabled or not checks:
        return None
    return _apply(request, most_restrictive(get_limiter().hit_all(checks)))


def apply_decisions(request: Request, decisions: Sequence[Decision]) -> None:
    """Report (or refuse with 429 on) decisions counted elsewhere, as :func:`enforce_rate_limits` does its own."""
    if decisions:
        _apply(request, most_restrictive(decisions))


def enforce_failure_budgets(
    request: Request, checks: Sequence[tuple[str, str]], *, slot: str | None = None
) -> Callable[[], None]:
    """Like :func:`enforce_rate_limits`, for budgets that count failed attempts only.

    The attempt is counted up front (so concurrent attempts cannot overrun the budget) and the
    returned function gives the hit back; call it when the attempt succeeded. ``slot``: see
    :meth:`Limiter.hit_all` (checks about several identities).
    """
    if not get_settings().rate_limit_enabled or not checks:
        return lambda: None
    limiter = get_limiter()
    decisions = limiter.hit_all(checks, slot=slot)
    _apply(request, most_restrictive(decisions))

    def succeeded() -> None:
        limiter.release_all(checks, decisions, slot=slot)
        # The headers were set before the attempt's outcome was known: they report the budget as it now
        # stands, with the success's hit given back.
        _apply(request, most_restrictive([_given_back(d) for d in decisions]))

    return succeeded


def _given_back(decision: Decision) -> Decision:
    if decision.window_id is None or not decision.allowed:
        return decision  # release_all gives nothing back for these
    return dataclasses.replace(decision, remaining=min(decision.limit, decision.remaining + 1))


def _apply(request: Request, decision: Decision) -> Decision:
    if not decision.allowed:
        add_metric("RateLimitRejected")
        raise RateLimited(
            f"Too many requests for policy '{decision.policy}'; retry after {decision.reset_s} s.",
            headers=decision.headers(),
            extensions={"policy": decision.policy, "retry_after": decision.reset_s},
        )
    # The middleware adds them to whatever response goes out, including one a route built itself
    # (FastAPI drops a dependency's response headers when the route returns a Response).
    setattr(request.state, RATE_LIMIT_HEADERS, None if decision.degraded else decision.headers())
    return decision


AUTHENTICATES = "authenticates_caller"  # set on the authentication dependency; see route_authenticates
_DEFERRED = "deferred_rate_limit_policies"
_MEMO = "_autoindex_authenticates"  # the answer, kept on the route object itself (routes are not hashable)


def route_authenticates(request: Request) -> bool:
    """Whether the matched route runs the authentication dependency (directly or through another)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return False
    known: bool | None = getattr(route, _MEMO, None)
    if known is None:
        pending, known = [dependant], False
        while pending and not known:
            node = pending.pop()
            known = bool(getattr(node.call, AUTHENTICATES, False))
            pending.extend(node.dependencies)
        setattr(route, _MEMO, known)
    return known


def deferred_policies(request: Request) -> list[str]:
    """The route-group policies left for the authentication dependency to count (see :func:`rate_limit`)."""
    return list(getattr(request.state, _DEFERRED, ()))


def rate_limit(policy: str) -> Callable[[Request], Awaitable[Decision | None]]:
    """A dependency that applies a route-group policy to each caller.

    On a route that authenticates, the policy is counted by the authentication dependency, against
    the verified principal (with the principal's own policies, in one round trip), or against the
    client IP when the credential is missing, wrong or not yet verified. Elsewhere it is counted
    here, per client IP.
    """
    if policy not in get_settings().rate_limit_policies:
        raise KeyError(f"unknown rate-limit policy {policy!r}")  # fail at cold start, not on a request

    async def dependency(request: Request) -> Decision | None:
        if route_authenticates(request):
            setattr(request.state, _DEFERRED, [*deferred_policies(request), policy])
            return None
        return enforce_rate_limit(request, policy=policy, identity=f"ip:{client_ip(request)}")

    dependency.__name__ = f"rate_limit_{policy}"
    return dependency


def route_group(path: str) -> str:
    """The usage group of a request path, from a fixed set (settings.USAGE_GROUPS): a client cannot mint counters."""
    parts = path.split("/")
    group = parts[2] if len(parts) > 2 and parts[1] == "v1" else "other"
    return group if group in USAGE_GROUPS else "other"
