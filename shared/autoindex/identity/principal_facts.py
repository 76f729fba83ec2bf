"""The facts a principal needs, read from the database: what authentication falls back to on a principal-cache miss."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from autoindex.errors import Unauthorized
from autoindex.identity import queries as repo
from autoindex.identity.credentials import INVALID_KEY, key_is_live, last_use_due
from autoindex.identity.principal_cache import KeyFacts, UserFacts

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork


def load_user(
    *, uow: UnitOfWork, user_id: uuid.UUID, session_id: uuid.UUID, at: float
) -> tuple[UserFacts, bool] | None:
    """The facts a bearer principal needs and whether its session is live, read from the database
    (a principal-cache miss); None for a user that does not exist."""
    with uow:
        user = repo.user_by_id(uow.session, user_id)
        if user is None:
            return None
        live = repo.session_is_live(uow.session, session_id, user_id=user_id, at=datetime.fromtimestamp(at, UTC))
        return UserFacts(user_id=user.id, email=user.email, role=user.role, active=user.is_active), live


def load_api_key(*, uow: UnitOfWork, key_id: uuid.UUID, presented_hmac: str, at: float) -> KeyFacts:
    """One primary-key read with the owner; Unauthorized unless the presented secret is the key's own.

    A live key's ``last_used_at`` is touched here (at most once a minute per key). A revoked or
    expired key's facts are returned too, so that its refusal can be cached.
    """
    with uow:
        found = repo.api_key_with_owner(uow.session, key_id)
        if found is None:
            hmac.compare_digest(presented_hmac, "0" * 64)  # same work as a real comparison
            raise Unauthorized(INVALID_KEY)
        key, owner = found
        if not hmac.compare_digest(presented_hmac, key.secret_hmac):
            raise Unauthorized(INVALID_KEY)
        facts = KeyFacts(
            key_id=key.id,
            secret_hmac=key.secret_hmac,
            owner_id=owner.id,
            owner_email=owner.email,
            owner_role=owner.role,
            owner_active=owner.is_active,
            scopes=tuple(key.scopes),
            expires_at=key.expires_at.timestamp() if key.expires_at is not None else None,
            revoked=key.revoked_at is not None,
            last_used_at=key.last_used_at.timestamp() if key.last_used_at is not None else None,
        )
        if key_is_live(facts, at) and last_use_due(facts, at):
            key.last_used_at = datetime.fromtimestamp(at, UTC)
            facts = replace(facts, last_used_at=at)
    return facts
