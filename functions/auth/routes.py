"""Accounts, sessions and the caller's API keys."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from autoindex.auth.deps import CurrentPrincipal, WriterPrincipal
from autoindex.errors import Forbidden
from autoindex.identity.principal import Principal
from autoindex.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    LoginRequest,
    LogoutAllRead,
    MeRead,
    RefreshRequest,
    RegisterAccepted,
    RegisterRequest,
    SessionList,
    SessionRead,
    TokenPairRead,
    UserRead,
)
from autoindex.lazy import lazy
from autoindex.schemas import PageQuery
from autoindex.web.deps import ReadUowDep, RequestMetaDep, UowDep
from autoindex.web.ratelimit import client_ip, enforce_failure_budgets, rate_limit
from fastapi import APIRouter, Depends, Query, Request, Response, status

if TYPE_CHECKING:
    from autoindex.identity import api_keys, models
    from autoindex.identity import service as identity
else:  # SQLAlchemy and the models load with the first request that needs them (autoindex.lazy)
    api_keys = lazy("autoindex.identity.api_keys")
    identity = lazy("autoindex.identity.service")
    models = lazy("autoindex.identity.models")

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(rate_limit("register"))],
    responses={
        422: {
            "description": "Invalid body. Also when the password breaks the policy beyond its length: it contains "
            "the e-mail address, is a common password, or uses fewer than 5 different characters; or when the "
            "address, though well-formed, cannot receive mail: a special-use or reserved domain (`.test`, "
            "`.invalid`, `.local`, `.localhost`, ...) or a domain without a period."
        }
    },
)
def register(body: RegisterRequest, uow: UowDep, meta: RequestMetaDep) -> RegisterAccepted:
    """Create an account (role `user`), then log in. An address that already has an account gets the
    same answer, so this endpoint does not tell who has an account."""
    identity.register(uow=uow, email=body.email, password=body.password, meta=meta)
    return RegisterAccepted()


@router.post("/login")
def login(body: LoginRequest, request: Request, uow: UowDep, meta: RequestMetaDep, response: Response) -> TokenPairRead:
    """Exchange e-mail and password for an access token and a refresh token."""
    # Two budgets of failed logins in one decision: per address (spraying many accounts) and per account
    # (one account from many addresses); an attempt refused by either spends neither. A successful
    # login gives its hit back, so logging in never uses up the budget.
    address, account = f"ip:{client_ip(request)}", f"email:{identity.normalise_email(body.email)}"
    succeeded = enforce_failure_budgets(request, [("login", address), ("login", account)], slot="login")
    pair = identity.login(uow=uow, email=body.email, password=body.password, meta=meta)
    succeeded()
    response.headers["Cache-Control"] = "no-store"  # it carries a credential: no cache may keep it
    return TokenPairRead(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/refresh", dependencies=[Depends(rate_limit("auth"))])
def refresh(body: RefreshRequest, uow: UowDep, meta: RequestMetaDep, response: Response) -> TokenPairRead:
    """Rotate a refresh token into a new pair; a reused token revokes its whole family."""
    pair = identity.refresh(uow=uow, refresh_token=body.refresh_token, meta=meta)
    response.headers["Cache-Control"] = "no-store"  # it carries a credential: no cache may keep it
    return TokenPairRead(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(rate_limit("auth"))])
def logout(body: RefreshRequest, uow: UowDep, meta: RequestMetaDep) -> Response:
    """Revoke the session of this refresh token."""
    identity.logout(uow=uow, refresh_token=body.refresh_token, meta=meta)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout-all", dependencies=[Depends(rate_limit("auth"))])
def logout_all(principal: WriterPrincipal, uow: UowDep, meta: RequestMetaDep) -> LogoutAllRead:
    """End every session of the caller (refresh and access tokens, on every device) at once."""
    ended = identity.logout_all(uow=uow, user_id=principal.user_id, meta=meta)
    return LogoutAllRead(sessions_ended=ended)


def _bearer_session(request: Request, principal: Principal) -> uuid.UUID:
    """The session of this request's bearer token (verified already); API keys have no sessions."""
    if principal.kind != "user":
        raise Forbidden("Sessions are seen and ended with a bearer token, not an API key.")
    from autoindex.identity import tokens

    _, _, token = request.headers.get("authorization", "").partition(" ")
    return tokens.decode_access_token(token.strip()).session_id


@router.get("/sessions")
def list_sessions(
    request: Request, principal: CurrentPrincipal, uow: ReadUowDep, page: Annotated[PageQuery, Query()]
) -> SessionList:
    """The caller's signed-in sessions, newest first, the current one marked; no token material."""
    current = _bearer_session(request, principal)
    rows, next_cursor = identity.sessions_of(
        uow=uow, user_id=principal.user_id, current=current, limit=page.limit, cursor=page.cursor
    )
    return SessionList(
        items=[
            SessionRead(id=sid, started_at=start, last_refreshed_at=last, expires_at=end, current=now)
            for sid, start, last, end, now in rows
        ],
        next_cursor=next_cursor,
    )


@router.delete(
    "/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(rate_limit("auth"))]
)
def end_session(
    session_id: uuid.UUID, request: Request, principal: WriterPrincipal, uow: UowDep, meta: RequestMetaDep
) -> Response:
    """End one of the caller's sessions (its refresh and access tokens) at once; another user's is a 404."""
    _bearer_session(request, principal)
    identity.end_session(uow=uow, user_id=principal.user_id, session_id=session_id, meta=meta)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
def me(principal: CurrentPrincipal, uow: ReadUowDep) -> MeRead:
    """Who the caller is, for a bearer token or an API key alike."""
    with uow:
        user = uow.session.get(models.User, principal.user_id)
        assert user is not None  # authentication just read it
        base = UserRead.model_validate(user, from_attributes=True)
    return MeRead(
        **base.model_dump(),
        auth="api_key" if principal.kind == "api_key" else "bearer",
        scopes=sorted(principal.scopes),
        api_key_id=principal.api_key_id,
    )


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
def create_api_key(
    body: ApiKeyCreate, principal: CurrentPrincipal, uow: UowDep, meta: RequestMetaDep, response: Response
) -> ApiKeyCreated:
    """Create an API key; the full key is in this response only."""
    created = api_keys.create(
        uow=uow,
        principal=principal,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
        meta=meta,
    )
    row = created.row
    response.headers["Cache-Control"] = "no-store"  # it carries a credential: no cache may keep it
    return ApiKeyCreated(
        id=row.id,
        name=row.name,
        key=created.key,
        prefix=row.prefix,
        scopes=row.scopes,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


@router.get("/api-keys")
def list_api_keys(principal: CurrentPrincipal, uow: ReadUowDep, page: Annotated[PageQuery, Query()]) -> ApiKeyList:
    """The caller's keys, newest first (revoked and expired ones too), without secrets."""
    return api_keys.list_for(uow=uow, principal=principal, limit=page.limit, cursor=page.cursor)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(key_id: uuid.UUID, principal: CurrentPrincipal, uow: UowDep, meta: RequestMetaDep) -> Response:
    """Revoke one of the caller's keys, effective immediately."""
    api_keys.revoke(uow=uow, principal=principal, key_id=key_id, meta=meta)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
