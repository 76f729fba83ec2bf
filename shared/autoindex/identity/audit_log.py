"""Reading the audit trail for operators."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoindex.identity import audit
from autoindex.identity.audit_schemas import AuditEventRead, AuditPage, AuditQuery, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork


def list_events(*, uow: UnitOfWork, query: AuditQuery) -> AuditPage:
    """One page, newest first, with a cursor to the next (None on the last page)."""
    before = decode_cursor(query.cursor) if query.cursor else None
    flt = audit.AuditFilter(
        action=query.action, actor_id=query.actor_id, outcome=query.outcome, since=query.since, until=query.until
    )
    with uow:
        rows = audit.page(uow.session, flt, limit=query.limit, before_id=before)
        items = [AuditEventRead.model_validate(row) for row in rows[: query.limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > query.limit else None
    return AuditPage(items=items, next_cursor=next_cursor)
