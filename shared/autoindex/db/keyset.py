"""Run tables (refresh runs, compute runs) read newest first with keyset pagination."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy import select

from autoindex import pagination

if TYPE_CHECKING:
    from sqlalchemy.orm import InstrumentedAttribute, Session


class RunRow(Protocol):
    id: uuid.UUID
    created_at: datetime


R = TypeVar("R", bound=RunRow)


def newest_first(
    session: Session, model: type[R], *, kind: str, limit: int, cursor: str | None
) -> tuple[list[R], str | None]:
    """Up to ``limit`` rows of ``model`` ordered by (created_at, id) descending, and the next page's cursor.

    The cursor carries the last row's creation time and id, so a page never skips or repeats a row
    while new runs are being added.
    """
    created: InstrumentedAttribute[datetime] = model.created_at  # type: ignore[assignment]
    ident: InstrumentedAttribute[uuid.UUID] = model.id  # type: ignore[assignment]
    statement = select(model).order_by(created.desc(), ident.desc()).limit(limit + 1)
    if cursor:
        after_at, after_id = pagination.decode_moment_id_cursor(kind, cursor)
        statement = statement.where((created < after_at) | ((created == after_at) & (ident < after_id)))
    rows = list(session.scalars(statement))
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = pagination.encode_cursor(kind, f"{last.created_at.isoformat()}|{last.id}")
    return page, next_cursor
