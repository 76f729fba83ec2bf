"""Versioned strategy: read the active version, add a new one (audited, then ``StrategyChanged``), list them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select, text, update

from autoindex import pagination
from autoindex.errors import Conflict, PreconditionFailed
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.identity import audit
from autoindex.index import benchmark_check
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.models import ComputeRun, StrategyVersion
from autoindex.index.schemas import StrategyAccepted, StrategyChange, StrategyHistory, StrategyVersionRead

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal, RequestMeta

# Serialises strategy changes across instances (the partial unique index is the last line of defence).
_STRATEGY_LOCK = 0x41_49_53_54  # "AIST"


def active_version(session: Session) -> StrategyVersion:
    """The one active strategy version (the migration seeds version 1)."""
    version = session.scalars(select(StrategyVersion).where(StrategyVersion.is_active)).one_or_none()
    if version is None:
        raise Conflict("No strategy version is active; run the migrations.")
    return version


def _read(version: StrategyVersion, *, show_author: bool) -> StrategyVersionRead:
    """A version as the API shows it; the author (an internal account or key id) only to admins."""
    return StrategyVersionRead(
        version=version.id,
        params=version.params,
        author=version.author if show_author else None,
        reason=version.reason,
        created_at=version.created_at,
        is_active=version.is_active,
    )


def _config(session: Session, version: StrategyVersion, *, show_author: bool) -> StrategyVersionRead:
    """``version`` with what its served index rests on (the market-cap leg above all)."""
    from autoindex.index.models import IndexMetric
    from autoindex.index.queries import disclosure_of

    notes = session.get(IndexMetric, (version.id, "notes"))
    read = _read(version, show_author=show_author)
    if notes is not None:
        read.disclosure = disclosure_of(notes.payload)
    return read


def _effective(stored: dict[str, Any]) -> dict[str, Any]:
    # A version stored before a parameter existed leaves it out and runs on its default; one the rules of today
    # would refuse is compared as stored (it cannot equal a change that passed them).
    try:
        return StrategyParams.model_validate(stored).model_dump(mode="json")
    except ValidationError:
        return stored


def get_config(*, uow: UnitOfWork, show_author: bool) -> StrategyVersionRead:
    """The active strategy version, with what its served index rests on (the market-cap leg above all)."""
    with uow:
        return _config(uow.session, active_version(uow.session), show_author=show_author)


def update_config(
    *,
    uow: UnitOfWork,
    principal: Principal,
    change: StrategyChange,
    meta: RequestMeta,
    precondition: Callable[[StrategyVersionRead], bool] | None = None,
) -> StrategyAccepted:
    """Add a new active version, queue its compute run and audit it in one transaction; then publish.

    ``precondition`` (an ``If-Match``) is judged on the active version as its author-showing GET reads it,
    under the lock that serialises changes: of two admins editing what they both read, the second gets a
    412 instead of silently undoing the first. The event goes out only after the commit, so the compute
    job always sees the new version. Should publishing fail, the next ``PricesRefreshed`` (or
    ``autoindex compute``) computes it anyway: the job always computes the active version.
    """
    params = change.params.model_dump(mode="json")
    actor_type, actor_id = principal.actor
    with uow:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _STRATEGY_LOCK})
        current = active_version(session)
        if precondition is not None and not precondition(_config(session, current, show_author=True)):
            raise PreconditionFailed(
                f"If-Match does not name the strategy config as it is now (active version {current.id}; a finished "
                "compute also changes its disclosure). Read GET /v1/strategy/config again and re-apply your change."
            )
        benchmark_check.check_blend(session, change.params)
        if _effective(current.params) == params:
            raise Conflict(f"These parameters are those of the active version {current.id}; nothing changed.")
        session.execute(update(StrategyVersion).where(StrategyVersion.is_active).values(is_active=False))
        session.flush()
        version = StrategyVersion(
            params=params, author=f"{actor_type}:{actor_id}", reason=change.reason, is_active=True
        )
        session.add(version)
        session.flush()
        run = ComputeRun(
            id=uuid.uuid4(), trigger=EventName.STRATEGY_CHANGED, strategy_version=version.id, status="queued"
        )
        session.add(run)
        audit.record(
            session,
            action="strategy.update",
            outcome="success",
            meta=meta,
            actor=principal.actor,
            target=("strategy_version", str(version.id)),
            details={"previous": current.id, "reason": change.reason, "compute_run_id": str(run.id)},
        )
        accepted = StrategyAccepted(version=version.id, compute_run_id=run.id, status=run.status)
    transport.publish(EventName.STRATEGY_CHANGED, {"strategy_version": accepted.version, "compute_run_id": str(run.id)})
    return accepted


def history(*, uow: UnitOfWork, limit: int, cursor: str | None, show_author: bool) -> StrategyHistory:
    """Every version, newest first, keyset-paginated."""
    statement = select(StrategyVersion).order_by(StrategyVersion.id.desc()).limit(limit + 1)
    if cursor:
        before = pagination.decode_int_cursor("sv", cursor, max_value=pagination.INTEGER_MAX)
        statement = statement.where(StrategyVersion.id < before)
    with uow:
        rows = list(uow.session.scalars(statement))
        items = [_read(v, show_author=show_author) for v in rows[:limit]]
    next_cursor = pagination.encode_cursor("sv", str(items[-1].version)) if len(rows) > limit else None
    return StrategyHistory(items=items, next_cursor=next_cursor)
