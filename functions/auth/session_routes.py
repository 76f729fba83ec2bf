"""Browser sessions: the refresh token in an HttpOnly cookie scoped to these routes, the access token in
the body (the page keeps it in memory). Each route needs the CSRF defence of ``web/csrf.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from autoindex.errors import Unauthorized
from autoindex.identity.schemas import LoginRequest, SessionTokenRead
from autoindex.lazy import lazy
from autoindex.settings import get_settings
from autoindex.web.csrf import CSRF_REFUSED, require_same_origin
from autoindex.web.deps import RequestMetaDep, UowDep
from autoindex.web.ratelimit import client_ip, enforce_failure_budgets, rate_limit
from fastapi import APIRouter, Cookie, Depends, Request, Response, status

if TYPE_CHECKING:
    from autoindex.identity import service as identity
else:  # SQLAlchemy and the models load with the first request that needs them (autoindex.lazy)
    identity = lazy("autoindex.identity.service")

SESSION_PATH = "/v1/auth/session"
COOKIE = "autoindex_refresh"
_NO_COOKIE = "No session cookie: sign in again."

router = APIRouter(
    prefix=SESSION_PATH, tags=["auth"], dependencies=[Depends(require_same_origin)], responses=CSRF_REFUSED
)
# The same bounds as a refresh token in a body (an over-long cookie is no session, not a 422).
RefreshCookie = Annotated[str | None, Cookie(alias=COOKIE, include_in_schema=False)]


def _token(cookie: str | None) -> str | None:
    return cookie if cookie and 16 <= len(cookie) <= 128 and cookie.isascii() else None


def _set_cookie(response: Response, refresh_token: str) -> None:
    response.set_cookie(
        COOKIE,
        refresh_token,
        max_age=get_settings().refresh_token_ttl_s,
        path=SESSION_PATH,  # sent to these three routes only, never to the API's other routes
        httponly=True,  # no script reads it: a cross-site script injection cannot steal the session
        secure=True,
        samesite="strict",
    )


def _clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=SESSION_PATH, httponly=True, secure=True, samesite="strict")


def _answer(response: Response, pair: identity.TokenPair) -> SessionTokenRead:
    _set_cookie(response, pair.refresh_token)
    response.headers["Cache-Control"] = "no-store"
    return SessionTokenRead(access_token=pair.access_token, expires_in=pair.expires_in)


@router.post("/login")
def session_login(
    body: LoginRequest, request: Request, response: Response, uow: UowDep, meta: RequestMetaDep
) -> SessionTokenRead:
    """Sign in from the dashboard: the access token in the body, the refresh token in an HttpOnly cookie.

    Needs the header `X-AutoIndex-CSRF: 1` and a same-origin request (Sec-Fetch-Site or Origin);
    the same failed-login limits as `/v1/auth/login`."""
    address, account = f"ip:{client_ip(request)}", f"email:{identity.normalise_email(body.email)}"
    succeeded = enforce_failure_budgets(request, [("login", address), ("login", account)], slot="login")
    pair = identity.login(uow=uow, email=body.email, password=body.password, meta=meta)
    succeeded()
    return _answer(response, pair)


@router.post("/refresh", dependencies=[Depends(rate_limit("auth"))])
def session_refresh(
    response: Response, uow: UowDep, meta: RequestMetaDep, cookie: RefreshCookie = None
) -> SessionTokenRead:
    """Rotate the cookie's refresh token: a new access token in the body, a new cookie. A reused
    cookie ends its whole session, as on `/v1/auth/refresh`."""
    token = _token(cookie)
    if token is None:
        raise Unauthorized(_NO_COOKIE)
    return _answer(response, identity.refresh(uow=uow, refresh_token=token, meta=meta))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(rate_limit("auth"))])
def session_logout(uow: UowDep, meta: RequestMetaDep, cookie: RefreshCookie = None) -> Response:
    """End the cookie's session (its access tokens too) and clear the cookie; without a cookie, only clears it."""
    token = _token(cookie)
    if token is not None:
        identity.logout(uow=uow, refresh_token=token, meta=meta)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookie(response)
    return response
