"""Write and read the append-only audit trail. Writes join the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from autoindex.identity.models import AuditEvent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.identity.principal import RequestMeta

Outcome = Literal["success", "failure", "denied"]


def record(
    session: Session,
    *,
    action: str,
    outcome: Outcome,
    meta: RequestMeta | None,
    actor: tuple[str, str | None] = ("anonymous", None),
    target: tuple[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit row to the session's transaction: it commits or rolls back with the action."""
    event = AuditEvent(
        actor_type=actor[0],
        actor_id=actor[1],
        action=action,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        outcome=outcome,
        request_id=meta.request_id if meta else None,
        source_ip=meta.source_ip if meta else None,
        details=details or {},
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    actor_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def page(session: Session, flt: AuditFilter, *, limit: int, before_id: int | None) -> list[AuditEvent]:
    """Newest first, at most ``limit`` + 1 rows (the extra one says whether a next page exists)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.actor_id:
        query = query.where(AuditEvent.actor_id == flt.actor_id)
    if flt.outcome:
        query = query.where(AuditEvent.outcome == flt.outcome)
    if flt.since:
        query = query.where(AuditEvent.occurred_at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.occurred_at < flt.until)
    return list(session.scalars(query))
