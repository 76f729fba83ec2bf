"""Accounts, sessions (access + rotating refresh tokens) and authentication of each request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy.exc import IntegrityError

from autoindex import pagination
from autoindex.errors import Conflict, NotFound, ServiceUnavailable, Unauthorized, ValidationFailed
from autoindex.identity import audit, authn, passwords, tokens
from autoindex.identity import queries as repo
from autoindex.identity.models import RefreshToken, User
from autoindex.identity.principal import Principal, RequestMeta
from autoindex.identity.principal_cache import CacheUnavailable, get_principal_cache
from autoindex.observability import add_metric, logger
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork

_BAD_LOGIN = "Invalid e-mail or password."
_BAD_REFRESH = "The refresh token is invalid, expired or already used."


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _now() -> datetime:
    """The service's clock: the authentication clock, so tests move both at once."""
    return datetime.fromtimestamp(authn.now(), UTC)


def _check_password_policy(email: str, password: str) -> None:
    reason = passwords.policy_violation(password, email)
    if reason:
        raise ValidationFailed(
            reason, extensions={"errors": [{"loc": ["body", "password"], "msg": reason, "type": "value_error"}]}
        )


def _new_user(uow: UnitOfWork, *, email: str, password: str, role: str) -> User:
    _check_password_policy(email, password)
    if repo.user_by_email(uow.session, email) is not None:
        raise Conflict("An account with this e-mail already exists.")
    user = User(
        email=email, password_hash=passwords.hash_password(password, rounds=get_settings().bcrypt_rounds), role=role
    )
    uow.session.add(user)
    try:
        uow.session.flush()
    except IntegrityError:  # a concurrent registration of the same address won the race
        raise Conflict("An account with this e-mail already exists.") from None
    return user


def register(*, uow: UnitOfWork, email: str, password: str, meta: RequestMeta) -> None:
    """Create an account; an address that already has one gets the same answer after the same work.

    The caller cannot tell the two apart (no account enumeration): both hash the password, both
    end in the same response. The audit trail records which it was.
    """
    email = normalise_email(email)
    _check_password_policy(email, password)
    try:
        with uow:
            existing = repo.user_by_email(uow.session, email)
            if existing is not None:
                passwords.burn_equal_time(password, rounds=get_settings().bcrypt_rounds)
                audit.record(
                    uow.session,
                    action="auth.register",
                    outcome="failure",
                    meta=meta,
                    actor=("anonymous", None),
                    target=("user", str(existing.id)),
                    details={"reason": "email-taken"},
                )
                return
            user = _new_user(uow, email=email, password=password, role="user")
            audit.record(
                uow.session,
                action="auth.register",
                outcome="success",
                meta=meta,
                actor=("user", str(user.id)),
                target=("user", str(user.id)),
            )
    except Conflict:  # a concurrent registration of the same new address won the race: the same answer
        return


def create_admin(*, uow: UnitOfWork, email: str, password: str) -> User:
    """The only way an admin comes to be: the management command, against the configured database."""
    email = normalise_email(email)
    with uow:
        user = _new_user(uow, email=email, password=password, role="admin")
        audit.record(
            uow.session,
            action="admin.create",
            outcome="success",
            meta=None,
            actor=("system", "cli"),
            target=("user", str(user.id)),
        )
    return user


def _issue_pair(
    uow: UnitOfWork, user: User, *, family_id: uuid.UUID, session_expires_at: datetime, now: datetime
) -> TokenPair:
    """A new pair in the session ``family_id``; neither token outlives the session's absolute end."""
    access, ttl = tokens.issue_access_token(
        user.id, user.role, session_id=family_id, session_expires_at=session_expires_at, now=now
    )
    refresh, refresh_hash = tokens.new_refresh_token()
    uow.session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=refresh_hash,
            issued_at=now,
            expires_at=min(now + timedelta(seconds=get_settings().refresh_token_ttl_s), session_expires_at),
            session_expires_at=session_expires_at,
        )
    )
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)


def login(*, uow: UnitOfWork, email: str, password: str, meta: RequestMeta) -> TokenPair:
    """A token pair for good credentials; the same 401, after the same bcrypt cost, for anything else."""
    email = normalise_email(email)
    now = _now()
    pair: TokenPair | None = None
    with uow:
        user = repo.user_by_email(uow.session, email)
        if user is None:
            passwords.burn_equal_time(password, rounds=get_settings().bcrypt_rounds)
            ok = False
        else:
            ok = passwords.verify_password(password, user.password_hash) and user.is_active
        if ok and user is not None:
            session_end = now + timedelta(seconds=get_settings().session_max_age_s)
            pair = _issue_pair(uow, user, family_id=uuid.uuid4(), session_expires_at=session_end, now=now)
            audit.record(uow.session, action="auth.login", outcome="success", meta=meta, actor=("user", str(user.id)))
        else:
            audit.record(
                uow.session,
                action="auth.login",
                outcome="failure",
                meta=meta,
                actor=("user", str(user.id)) if user else ("anonymous", None),
                target=("email", email),
            )
    if pair is None:
        raise Unauthorized(_BAD_LOGIN)
    return pair


def refresh(*, uow: UnitOfWork, refresh_token: str, meta: RequestMeta) -> TokenPair:
    """Rotate: the presented token is spent and a new pair issued in its family.

    Presenting a spent token again means it leaked: the whole family is revoked, so neither the
    thief nor the owner can go on with it (the owner logs in again). No rotation goes past the
    session's absolute end (``SESSION_MAX_AGE_S`` after the login).
    """
    now = _now()
    pair: TokenPair | None = None
    with uow:
        row = repo.refresh_token_for_update(uow.session, tokens.hash_refresh_token(refresh_token))
        user = repo.user_by_id(uow.session, row.user_id) if row else None
        if row is None or user is None:
            audit.record(uow.session, action="auth.refresh", outcome="failure", meta=meta)
        elif row.rotated_at is not None or row.revoked_at is not None:
            _end_family(uow, row, now=now, meta=meta, reason="reuse-detected", outcome="denied")
        elif row.expires_at <= now or row.session_expires_at <= now or not user.is_active:
            audit.record(uow.session, action="auth.refresh", outcome="failure", meta=meta, actor=("user", str(user.id)))
        else:
            row.rotated_at = now
            pair = _issue_pair(uow, user, family_id=row.family_id, session_expires_at=row.session_expires_at, now=now)
            audit.record(uow.session, action="auth.refresh", outcome="success", meta=meta, actor=("user", str(user.id)))
    if pair is None:
        raise Unauthorized(_BAD_REFRESH)
    return pair


def _end_family(
    uow: UnitOfWork,
    row: RefreshToken,
    *,
    now: datetime,
    meta: RequestMeta,
    reason: Literal["logout", "reuse-detected"],
    outcome: audit.Outcome,
) -> None:
    """Revoke a session's refresh-token family, end its access tokens in the shared cache, and audit it.

    A logout must reach every instance or change nothing (strict: 503 when the cache cannot be told);
    reuse detection revokes in the database whatever the cache says.
    """
    revoked = repo.revoke_family(uow.session, row.family_id, at=now, reason=reason)
    _end_sessions_in_cache(row.user_id, [row.family_id], strict=reason == "logout")
    audit.record(
        uow.session,
        action="auth.logout" if reason == "logout" else "auth.refresh.reuse_detected",
        outcome=outcome,
        meta=meta,
        actor=("user", str(row.user_id)),
        target=("token_family", str(row.family_id)),
        details={"tokens_revoked": revoked},
    )


def logout(*, uow: UnitOfWork, refresh_token: str, meta: RequestMeta) -> None:
    """Revoke the session the refresh token belongs to, its access tokens included, on every instance at once.

    Idempotent: an unknown token changes nothing. If the cache cannot be told, nothing changes (503).
    """
    now = _now()
    with uow:
        row = repo.refresh_token_for_update(uow.session, tokens.hash_refresh_token(refresh_token))
        if row is None:
            audit.record(uow.session, action="auth.logout", outcome="failure", meta=meta)
            return
        _end_family(uow, row, now=now, meta=meta, reason="logout", outcome="success")


def logout_all(*, uow: UnitOfWork, user_id: uuid.UUID, meta: RequestMeta) -> int:
    """End every session of the user (refresh and access tokens alike) at once; the number ended.

    If the cache cannot be told, nothing changes (503), as for a single logout.
    """
    now = _now()
    with uow:
        sessions = repo.live_sessions_of(uow.session, user_id, at=now)
        revoked = repo.revoke_sessions_of(uow.session, user_id, at=now, reason="logout-all")
        _end_sessions_in_cache(user_id, sessions, strict=True)
        audit.record(
            uow.session,
            action="auth.logout_all",
            outcome="success",
            meta=meta,
            actor=("user", str(user_id)),
            target=("user", str(user_id)),
            details={"sessions_ended": len(sessions), "tokens_revoked": revoked},
        )
    return len(sessions)


SESSION_CURSOR_KIND = "as"  # a sessions list's cursor: the last session's started_at|id


def sessions_of(
    *, uow: UnitOfWork, user_id: uuid.UUID, current: uuid.UUID | None, limit: int, cursor: str | None
) -> tuple[list[tuple[uuid.UUID, datetime, datetime, datetime, bool]], str | None]:
    """A page of the user's live sessions, newest first: (id, started, last refreshed, absolute end, is
    ``current``), and the next page's cursor."""
    before = pagination.decode_moment_id_cursor(SESSION_CURSOR_KIND, cursor) if cursor else None
    with uow:
        rows = repo.session_summaries(uow.session, user_id, at=_now(), limit=limit + 1, before=before)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last_id, last_start = page[-1][0], page[-1][1]
        next_cursor = pagination.encode_cursor(SESSION_CURSOR_KIND, f"{last_start.isoformat()}|{last_id}")
    return [(sid, started, last, end, sid == current) for sid, started, last, end in page], next_cursor


def end_session(*, uow: UnitOfWork, user_id: uuid.UUID, session_id: uuid.UUID, meta: RequestMeta) -> None:
    """End one of the user's own sessions, its access tokens included, as a logout does.

    Another user's session, an ended one and an unknown id are the same 404: ids of other people's
    sessions are not confirmed to exist.
    """
    now = _now()
    with uow:
        row = repo.live_token_of_session(uow.session, session_id, user_id=user_id, at=now)
        if row is None:
            raise NotFound("No such session.")
        _end_family(uow, row, now=now, meta=meta, reason="logout", outcome="success")


def _end_sessions_in_cache(user_id: uuid.UUID, session_ids: list[uuid.UUID], *, strict: bool) -> None:
    """Hold the sessions' cache entries, so every instance reads them from the database (where they are over).

    Call it inside the open unit of work, before the commit. ``strict``: an unreachable cache
    raises ServiceUnavailable, so the revocation rolls back rather than leaves access tokens
    working; otherwise (a reuse detection, which must stand) it is logged and the cached entries
    expire within ``PRINCIPAL_CACHE_TTL_S``.
    """
    cache = get_principal_cache()
    if not cache.enabled or not session_ids:
        return
    try:
        cache.invalidate_sessions(user_id, session_ids)
    except CacheUnavailable:
        if strict:
            raise ServiceUnavailable(
                "The sign-out could not be applied everywhere at once; nothing was changed. Try again shortly.",
                headers={"Retry-After": "5"},
            ) from None
        add_metric("SessionHoldUnavailable")
        logger.warning("principal cache unavailable; revoked sessions stay cached until their entries expire")


def authenticate_bearer(*, uow: UnitOfWork, token: str) -> Principal:
    """A verified access token's principal; the role comes from the principal cache or the database, never the token."""
    return authn.bearer_principal(token, uow=uow)


def authenticate_api_key(*, uow: UnitOfWork, presented: str) -> Principal:
    """An API key's principal: cached facts or one primary-key read, a constant-time compare, revocation, expiry."""
    return authn.api_key_principal(presented, uow=uow)


def invalidate_user(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """Make the user's role, active flag and API keys be read from the database on every instance's next request.

    Call it inside the (open) unit of work that changes the user's role or active flag, after the
    change is flushed and before it commits: if the cache cannot be reached it raises
    ServiceUnavailable, so the change rolls back rather than lingers in the cache. No route
    changes a role or the active flag yet; this is the hook such a route must use.
    """
    cache = get_principal_cache()
    if not cache.enabled:
        return
    keys = [(key.id, key.secret_hmac) for key in repo.api_keys_of(uow.session, user_id)]
    try:
        cache.invalidate_user(user_id)
        for key_id, stored_hmac in keys:
            cache.invalidate_api_key(key_id, stored_hmac)
    except CacheUnavailable:
        raise ServiceUnavailable(
            "The change could not be applied everywhere at once; nothing was changed. Try again shortly.",
            headers={"Retry-After": "5"},
        ) from None
