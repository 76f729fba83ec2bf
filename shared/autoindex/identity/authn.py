"""Authenticate a request's credential: from the principal cache when it can, from the database when it must.

This module imports no ORM: a cache hit never loads SQLAlchemy or the models. A miss (or an
unreachable cache, which never fails open) imports the identity service and reads the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from autoindex.errors import Unauthorized
from autoindex.identity import key_format, tokens
from autoindex.identity.credentials import INVALID_KEY, INVALID_TOKEN, check_key, key_is_live, last_use_due
from autoindex.identity.principal import Principal, scopes_for_role
from autoindex.identity.principal_cache import CacheUnavailable, PrincipalCache, get_principal_cache
from autoindex.observability import add_metric, logger

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork

T = TypeVar("T")


def now() -> float:
    """Seconds since the epoch; one place, so tests can move the clock."""
    return time.time()


def api_key_principal(
    presented: str,
    *,
    uow: UnitOfWork | None = None,
    cache: PrincipalCache | None = None,
    before_database: Callable[[], None] | None = None,
) -> Principal:
    """Format and checksum, then the cached facts (or one primary-key read), a constant-time HMAC compare,
    revocation and expiry. A cached key whose last use is over a minute old is read (and touched) again.
    ``before_database`` runs first when the database must be read (the caller's anonymous rate limit).
    """
    parsed = key_format.parse(presented)
    if parsed is None:
        raise Unauthorized(INVALID_KEY)
    presented_hmac = key_format.secret_hmac(parsed.secret)
    cache = cache or get_principal_cache()
    at = now()
    facts, reachable = _cached(lambda: cache.api_key(parsed.key_id, presented_hmac), cache)
    if facts is None or (key_is_live(facts, at) and last_use_due(facts, at)):
        if before_database is not None:
            before_database()
        from autoindex.identity import principal_facts  # the ORM, only on a miss

        facts = principal_facts.load_api_key(
            uow=uow or _write_uow(), key_id=parsed.key_id, presented_hmac=presented_hmac, at=at
        )
        if reachable:
            _store(lambda: cache.put_api_key(facts), cache)
    return check_key(facts, presented_hmac, at)


def bearer_principal(
    token: str,
    *,
    uow: UnitOfWork | None = None,
    cache: PrincipalCache | None = None,
    before_database: Callable[[], None] | None = None,
) -> Principal:
    """The JWT is verified locally; the role, the active flag and whether the token's session is still
    live come from the cache (one round trip), or the database on a miss (after ``before_database``,
    as for an API key).

    The role is never taken from the token, so a demotion applies once its cache entry is
    invalidated (``service.invalidate_user``) or, at the latest, after ``PRINCIPAL_CACHE_TTL_S``.
    A logout holds the session's entry, so its access tokens are refused from the next request on;
    an unreachable cache reads the database, never passes.
    """
    claims = tokens.decode_access_token(token)
    cache = cache or get_principal_cache()
    cached, reachable = _cached(lambda: cache.user_and_session(claims.subject, claims.session_id), cache)
    facts, live = cached if cached is not None else (None, False)
    if facts is None or not live:
        if before_database is not None:
            before_database()
        from autoindex.identity import principal_facts  # the ORM, only on a miss

        loaded = principal_facts.load_user(
            uow=uow or _write_uow(), user_id=claims.subject, session_id=claims.session_id, at=now()
        )
        if loaded is None or not loaded[1]:
            raise Unauthorized(INVALID_TOKEN)
        facts = loaded[0]
        if reachable:
            user_facts = facts
            _store(lambda: cache.put_user(user_facts), cache)
            _store(lambda: cache.put_session(claims.subject, claims.session_id), cache)
    if not facts.active:
        raise Unauthorized(INVALID_TOKEN)
    return Principal(
        kind="user", user_id=facts.user_id, email=facts.email, role=facts.role, scopes=scopes_for_role(facts.role)
    )


def _cached(lookup: Callable[[], T | None], cache: PrincipalCache) -> tuple[T | None, bool]:
    """(facts or None, whether the cache answered). A cache that cannot be reached is a miss, never a pass."""
    if not cache.enabled:
        return None, False
    try:
        return lookup(), True
    except CacheUnavailable as exc:
        add_metric("PrincipalCacheUnavailable")
        logger.warning("principal cache unavailable; reading the database", extra={"error": str(exc)})
        return None, False


def _store(write: Callable[[], None], cache: PrincipalCache) -> None:
    try:
        write()
    except CacheUnavailable as exc:  # the next request reads the database again; nothing else to do
        logger.warning("principal cache unavailable; not cached", extra={"error": str(exc)})


def _write_uow() -> UnitOfWork:
    from autoindex.db.uow import UnitOfWork

    return UnitOfWork()
