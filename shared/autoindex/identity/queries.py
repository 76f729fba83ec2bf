"""Queries for users, refresh tokens and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from autoindex.identity.models import ApiKey, RefreshToken, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.lower())).one_or_none()


def user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def refresh_token_for_update(session: Session, token_hash: str) -> RefreshToken | None:
    """The token row, locked so two concurrent refreshes with one token cannot both rotate it."""
    return session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    ).one_or_none()


def revoke_family(session: Session, family_id: uuid.UUID, *, at: datetime, reason: str) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def session_is_live(session: Session, family_id: uuid.UUID, *, user_id: uuid.UUID, at: datetime) -> bool:
    """Whether the user's session (refresh-token family) was neither logged out nor revoked, and has not ended."""
    query = select(RefreshToken.id).where(
        RefreshToken.family_id == family_id,
        RefreshToken.user_id == user_id,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.session_expires_at > at,
    )
    return session.execute(query.limit(1)).first() is not None


def live_sessions_of(session: Session, user_id: uuid.UUID, *, at: datetime) -> list[uuid.UUID]:
    """The user's sessions that are neither revoked nor over, locked so a concurrent refresh waits for the revoke."""
    query = (
        select(RefreshToken.family_id)
        .where(
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.session_expires_at > at,
        )
        .with_for_update()
    )
    return sorted(set(session.scalars(query)))


def session_summaries(
    session: Session,
    user_id: uuid.UUID,
    *,
    at: datetime,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[tuple[uuid.UUID, datetime, datetime, datetime]]:
    """The user's live sessions, newest first: (family_id, started_at, last_refreshed_at, expires_at).

    Live as ``session_is_live`` has it: no token of the family revoked, and its absolute end not reached.
    ``before``: the (started_at, family_id) of the previous page's last session; only older ones follow.
    """
    started = func.min(RefreshToken.issued_at)
    query = (
        select(
            RefreshToken.family_id,
            started.label("started_at"),
            func.max(RefreshToken.issued_at).label("last_refreshed_at"),
            func.max(RefreshToken.session_expires_at).label("expires_at"),
        )
        .where(RefreshToken.user_id == user_id)
        .group_by(RefreshToken.family_id)
        .having(func.count(RefreshToken.revoked_at) == 0, func.max(RefreshToken.session_expires_at) > at)
        .order_by(started.desc(), RefreshToken.family_id.desc())
        .limit(limit)
    )
    if before is not None:
        after_at, after_id = before
        query = query.having((started < after_at) | ((started == after_at) & (RefreshToken.family_id < after_id)))
    return [(row[0], row[1], row[2], row[3]) for row in session.execute(query)]


def live_token_of_session(
    session: Session, family_id: uuid.UUID, *, user_id: uuid.UUID, at: datetime
) -> RefreshToken | None:
    """One token of the user's live session ``family_id``, locked (a concurrent refresh waits); None otherwise."""
    query = (
        select(RefreshToken)
        .where(
            RefreshToken.family_id == family_id,
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.session_expires_at > at,
        )
        .with_for_update()
    )
    return session.scalars(query).first()


def revoke_sessions_of(session: Session, user_id: uuid.UUID, *, at: datetime, reason: str) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def api_keys_of(session: Session, user_id: uuid.UUID) -> list[ApiKey]:
    """Every key of the user (a cache invalidation must reach them all); lists read ``api_key_page``."""
    return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user_id)))


def api_key_page(
    session: Session, user_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None = None
) -> list[ApiKey]:
    """Up to ``limit`` of the user's keys (revoked and expired ones too), newest first; with ``before`` (the
    previous page's last created_at and id), only older ones."""
    query = (
        select(ApiKey)
        .where(ApiKey.user_id == user_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        .limit(limit)
    )
    if before is not None:
        after_at, after_id = before
        query = query.where((ApiKey.created_at < after_at) | ((ApiKey.created_at == after_at) & (ApiKey.id < after_id)))
    return list(session.scalars(query))


def active_api_key_count(session: Session, user_id: uuid.UUID, now: datetime) -> int:
    query = select(func.count()).where(
        ApiKey.user_id == user_id,
        ApiKey.revoked_at.is_(None),
        (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
    )
    return int(session.execute(query).scalar_one())


def api_key_with_owner(session: Session, key_id: uuid.UUID) -> tuple[ApiKey, User] | None:
    row = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.id == key_id)
    ).one_or_none()
    return (row[0], row[1]) if row else None
