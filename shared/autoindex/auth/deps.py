"""The one authentication dependency every function uses: a bearer JWT or an API key, never a cookie.

Nothing here imports the ORM: a principal found in the principal cache costs no database access
and no SQLAlchemy import; a miss or an audited denial imports what it needs when it happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from autoindex.auth import fast_path
from autoindex.errors import AppError, BadRequest, Forbidden, Unauthorized
from autoindex.identity import authn
from autoindex.identity.principal import Principal, RequestMeta
from autoindex.web.problems import request_id_of
from autoindex.web.ratelimit import (
    AUTHENTICATES,
    apply_decisions,
    client_ip,
    deferred_policies,
    enforce_rate_limits,
    route_group,
)


async def authenticate(request: Request) -> Principal:
    """Who is calling, from ``Authorization: Bearer …`` or ``X-API-Key``; then the caller's rate limits.

    Cookies are never read: a browser's ambient credentials authenticate nothing, which is the
    API's CSRF posture.

    Rate limits: the route group's policies (deferred to here by ``rate_limit``) count per verified
    caller, together with the per-user or per-key policies and the key's daily quota, in one round
    trip. Until a credential is verified the caller is anonymous: a missing or failed credential,
    and any credential that needs a database read, is first counted per client IP.
    """
    groups = deferred_policies(request)
    anonymous = _AnonymousLimit(request, groups)
    try:
        # A cached caller: principal, limits and prefetched keys in one Redis round trip (fast_path).
        cached = fast_path.cached_caller(request, groups)
        principal = cached.principal if cached is not None else _verify(request, before_database=anonymous.count)
    except AppError:
        anonymous.count()  # a 429 here outranks the 401: guessing ends in Retry-After
        raise
    request.state.principal = principal
    if cached is not None:
        apply_decisions(request, cached.decisions)
        return principal
    caller = principal.rate_limit_identity
    own = [("api_key", caller), ("api_key_daily", caller)] if principal.kind == "api_key" else [("user", caller)]
    # The usage count (GET /v1/usage) rides in the same script call: no extra Redis round trip per request.
    usage = (f"usage_{route_group(request.url.path)}", caller)
    enforce_rate_limits(request, [(policy, caller) for policy in groups] + own + [usage])
    return principal


class _AnonymousLimit:
    """Counts the deferred route-group policies against the client IP, at most once per request."""

    def __init__(self, request: Request, groups: list[str]) -> None:
        self._request, self._groups = request, groups
        self._counted = False

    def count(self) -> None:
        if self._counted or not self._groups:
            return
        self._counted = True
        ip = f"ip:{client_ip(self._request)}"
        enforce_rate_limits(self._request, [(policy, ip) for policy in self._groups])


def _verify(request: Request, *, before_database: Callable[[], None]) -> Principal:
    authorization = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key")
    if authorization and api_key:
        raise BadRequest("Send either a bearer token or an API key, not both.")
    if api_key:
        return authn.api_key_principal(api_key, before_database=before_database)
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <access token>' or an X-API-Key header.")
        return authn.bearer_principal(token.strip(), before_database=before_database)
    raise Unauthorized("Authentication required: a bearer token or an X-API-Key header.")


setattr(authenticate, AUTHENTICATES, True)  # how rate_limit() knows a route authenticates its caller


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_scope(scope: str) -> Callable[[Request, Principal], Awaitable[Principal]]:
    """A dependency that admits only principals holding ``scope``; refused admin attempts are audited."""

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        if principal.has(scope):
            return principal
        if scope == "admin":
            from autoindex.db.uow import UnitOfWork
            from autoindex.identity import audit  # the ORM, only for an audited denial

            meta = RequestMeta(request_id=request_id_of(request), source_ip=client_ip(request))
            with UnitOfWork() as uow:
                audit.record(
                    uow.session,
                    action="access.denied",
                    outcome="denied",
                    meta=meta,
                    actor=principal.actor,
                    target=("route", f"{request.method} {request.url.path}"),
                )
        raise Forbidden(f"This action needs the '{scope}' scope.")

    dependency.__name__ = f"require_{scope}"
    return dependency


ReaderPrincipal = Annotated[Principal, Depends(require_scope("read"))]
WriterPrincipal = Annotated[Principal, Depends(require_scope("write"))]
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]
