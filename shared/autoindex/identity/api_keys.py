"""B2B API keys: created by their owner with scopes the owner holds, listed without secrets, revoked at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from autoindex.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from autoindex.identity import audit, key_format
from autoindex.identity import queries as repo
from autoindex.identity.models import ApiKey
from autoindex.identity.principal import Principal, RequestMeta, scopes_for_role
from autoindex.identity.principal_cache import CacheUnavailable, get_principal_cache
from autoindex.identity.schemas import ApiKeyList, ApiKeyRead
from autoindex.pagination import decode_moment_id_cursor, encode_cursor
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from autoindex.db.uow import UnitOfWork


CURSOR_KIND = "ak"  # a key list's cursor: the last key's created_at|id


@dataclass(frozen=True, slots=True)
class CreatedKey:
    row: ApiKey
    key: str  # shown to the owner this once; only its HMAC is stored


def _owner_only(principal: Principal) -> None:
    # Keys manage keys only through their owner's own session: a leaked key cannot mint more keys.
    if principal.kind != "user":
        raise Forbidden("API keys can only be managed with a user's bearer token.")


def create(
    *,
    uow: UnitOfWork,
    principal: Principal,
    name: str,
    scopes: Sequence[str],
    expires_in_days: int | None,
    meta: RequestMeta,
) -> CreatedKey:
    _owner_only(principal)
    wanted = sorted(set(scopes))
    beyond = set(wanted) - scopes_for_role(principal.role)
    if beyond:
        raise Forbidden(f"You cannot grant scopes you do not hold: {', '.join(sorted(beyond))}.")
    settings = get_settings()
    if expires_in_days is not None and expires_in_days > settings.api_key_max_ttl_days:
        reason = f"expires_in_days may be at most {settings.api_key_max_ttl_days}."
        raise ValidationFailed(reason, extensions={"errors": [{"loc": ["body", "expires_in_days"], "msg": reason}]})
    now = datetime.now(UTC)
    with uow:
        if repo.active_api_key_count(uow.session, principal.user_id, now) >= settings.api_key_max_per_user:
            raise Conflict(f"An account may hold at most {settings.api_key_max_per_user} active API keys.")
        key_id = uuid.uuid4()
        key, digest = key_format.generate(key_id)
        row = ApiKey(
            id=key_id,
            user_id=principal.user_id,
            name=name,
            prefix=key_format.display_prefix(key_id),
            secret_hmac=digest,
            scopes=wanted,
            created_at=now,
            # No key lives forever (docs/security.md): left unsaid, a key lives the longest a key may.
            expires_at=now + timedelta(days=expires_in_days or settings.api_key_max_ttl_days),
        )
        uow.session.add(row)
        audit.record(
            uow.session,
            action="auth.api_key.create",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("api_key", str(key_id)),
            details={
                "name": name,
                "scopes": wanted,
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            },
        )
    return CreatedKey(row=row, key=key)


def list_for(*, uow: UnitOfWork, principal: Principal, limit: int, cursor: str | None) -> ApiKeyList:
    """A page of the caller's keys, newest first, revoked and expired ones too (so unbounded: paged)."""
    _owner_only(principal)
    before = decode_moment_id_cursor(CURSOR_KIND, cursor) if cursor else None
    with uow:
        rows = repo.api_key_page(uow.session, principal.user_id, limit=limit + 1, before=before)
        items = [ApiKeyRead.model_validate(row, from_attributes=True) for row in rows[:limit]]
    last = items[-1] if items and len(rows) > limit else None
    next_cursor = encode_cursor(CURSOR_KIND, f"{last.created_at.isoformat()}|{last.id}") if last else None
    return ApiKeyList(items=items, next_cursor=next_cursor)


def revoke(*, uow: UnitOfWork, principal: Principal, key_id: uuid.UUID, meta: RequestMeta) -> None:
    """Revoke one of the caller's keys; someone else's key is indistinguishable from a missing one (404)."""
    _owner_only(principal)
    with uow:
        found = repo.api_key_with_owner(uow.session, key_id)
        if found is None or found[0].user_id != principal.user_id:
            raise NotFound("No such API key.")
        key = found[0]
        if key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)
        audit.record(
            uow.session,
            action="auth.api_key.revoke",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("api_key", str(key_id)),
        )
        _invalidate_before_commit(key)


def _invalidate_before_commit(key: ApiKey) -> None:
    """Hold the key's principal-cache entry before the revocation commits, so every instance's next request reads it.

    If the cache cannot be reached the revocation fails with a 503 and rolls back: a revocation
    that committed while cached facts still said "live" would not apply at once everywhere.
    Holding (not deleting) also stops a request that read the row just before the commit from
    caching it again.
    """
    cache = get_principal_cache()
    if not cache.enabled:
        return
    try:
        cache.invalidate_api_key(key.id, key.secret_hmac)
    except CacheUnavailable:
        raise ServiceUnavailable(
            "The key could not be revoked everywhere at once; it is unchanged. Try again shortly.",
            headers={"Retry-After": "5"},
        ) from None
