"""The one authentication dependency every function uses: a bearer JWT or an API key, never a cookie.

Nothing here imports the ORM: a principal found in the principal cache costs no database access
and no SQLAlchemy import; a miss or an audited denial imports what it needs when it happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response

from autoindex.auth import authn
from autoindex.auth.principal import Principal, RequestMeta
from autoindex.errors import BadRequest, Forbidden, Unauthorized
from autoindex.web.problems import request_id_of
from autoindex.web.ratelimit import client_ip, enforce_rate_limits


async def authenticate(request: Request, response: Response) -> Principal:
    """Who is calling, from ``Authorization: Bearer …`` or ``X-API-Key``; then per-caller limits and quota.

    Cookies are never read: a browser's ambient credentials authenticate nothing, which is the
    API's CSRF posture.
    """
    authorization = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key")
    if authorization and api_key:
        raise BadRequest("Send either a bearer token or an API key, not both.")
    if api_key:
        principal = authn.api_key_principal(api_key)
    elif authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <access token>' or an X-API-Key header.")
        principal = authn.bearer_principal(token.strip())
    else:
        raise Unauthorized("Authentication required: a bearer token or an X-API-Key header.")
    request.state.principal = principal
    caller = principal.rate_limit_identity
    if principal.kind == "api_key":
        # The per-minute policy and the daily quota: one round trip, counted in both or in neither.
        enforce_rate_limits(response, [("api_key", caller), ("api_key_daily", caller)])
    else:
        enforce_rate_limits(response, [("user", caller)])
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_scope(scope: str) -> Callable[[Request, Principal], Awaitable[Principal]]:
    """A dependency that admits only principals holding ``scope``; refused admin attempts are audited."""

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        if principal.has(scope):
            return principal
        if scope == "admin":
            from autoindex import audit  # the ORM, only for an audited denial
            from autoindex.db.uow import UnitOfWork

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
