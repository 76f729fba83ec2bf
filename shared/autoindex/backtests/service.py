"""Backtests for their owners: submit (limits, the deterministic cache, the job queued), read, list, delete.

A backtest belongs to the account that asked; limits count per caller (the API key, or the account
for a bearer token). Someone else's backtest is a 404, the same as a missing one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from autoindex.backtests import queries as repo
from autoindex.backtests.models import Backtest
from autoindex.backtests.schemas import (
    BacktestAccepted,
    BacktestCreate,
    BacktestList,
    BacktestRead,
    BacktestSummary,
    resolve_params,
)
from autoindex.errors import NotFound, RateLimited, ValidationFailed
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.pagination import decode_moment_id_cursor, encode_cursor
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal

QUEUE = "backtests"
_CURSOR_KIND = "bt"


def field_error(field: str, message: str) -> ValidationFailed:
    """A 422 whose ``errors[]`` names the body field, like a schema error would."""
    return ValidationFailed(
        f"{field}: {message}",
        extensions={"errors": [{"loc": ["body", field], "msg": message, "type": "value_error"}]},
    )


def cache_key(params: dict[str, Any], data_version: int) -> str:
    canonical = json.dumps({"params": params, "data_version": data_version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _midnight_after(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)


def submit(*, uow: UnitOfWork, principal: Principal, body: BacktestCreate) -> BacktestAccepted:
    from autoindex.index import compute_inputs
    from autoindex.index.strategy import active_version

    settings = get_settings()
    now = datetime.now(UTC)
    caller = principal.rate_limit_identity
    with uow:
        try:
            strategy = resolve_params(dict(active_version(uow.session).params), body)
        except ValueError as exc:
            raise field_error("strategy", str(exc)) from None
        universe = [a.symbol for a in compute_inputs.universe(uow.session)]
        unknown = sorted(set(body.symbols or ()) - set(universe))
        if unknown:
            raise field_error("symbols", f"not in the universe: {', '.join(unknown)}"[:200])
        params = {
            "strategy": strategy.model_dump(mode="json"),
            "scheme": body.scheme,
            "symbols": body.symbols,
            "start": body.start.isoformat() if body.start else None,
            "end": body.end.isoformat() if body.end else None,
            "return_type": body.return_type,
        }
        version = repo.data_version(uow.session)
        key = cache_key(params, version)
        day_start = datetime.combine(now.date(), time(0), tzinfo=UTC)
        # Count-then-insert must be atomic per caller: held until this transaction commits the row.
        repo.lock_caller(uow.session, caller)
        if repo.started_since(uow.session, caller, day_start) >= settings.backtest_daily_quota:
            wait = int((_midnight_after(now) - now).total_seconds()) + 1
            raise RateLimited("The daily backtest quota is used up.", headers={"Retry-After": str(wait)})
        earlier = repo.finished_with(uow.session, key)
        row = Backtest(
            id=uuid.uuid4(),
            user_id=principal.user_id,
            caller=caller,
            params=params,
            data_version=version,
            cache_key=key,
            created_at=now,
        )
        if earlier is not None:
            row.status, row.progress, row.cached, row.result = "succeeded", 1.0, True, earlier.result
            row.started_at = row.finished_at = now
        else:
            if repo.in_flight(uow.session, caller) >= settings.backtest_max_concurrent_per_key:
                raise RateLimited(
                    f"At most {settings.backtest_max_concurrent_per_key} backtests may run at once.",
                    headers={"Retry-After": "5"},
                )
            row.status, row.progress, row.cached = "queued", 0.0, False
        uow.session.add(row)
        uow.session.flush()
        accepted = BacktestAccepted(id=row.id, status=row.status, cached=row.cached)
    if accepted.cached:
        announce(row.id, row.user_id, "succeeded")
    else:
        transport.enqueue(QUEUE, [{"backtest_id": str(row.id)}])  # after the commit: the job must find the row
    return accepted


def announce(backtest_id: uuid.UUID, user_id: uuid.UUID, status: str) -> None:
    """BacktestFinished on the bus: the owner's webhooks get ``backtest.finished``."""
    transport.publish(
        EventName.BACKTEST_FINISHED, {"backtest_id": str(backtest_id), "user_id": str(user_id), "status": status}
    )


def get(*, uow: UnitOfWork, principal: Principal, backtest_id: uuid.UUID) -> BacktestRead:
    with uow:
        row = repo.owned(uow.session, backtest_id, principal.user_id)
        if row is None:
            raise NotFound("No such backtest.")
        return BacktestRead.model_validate(row, from_attributes=True)


def list_for(*, uow: UnitOfWork, principal: Principal, limit: int, cursor: str | None) -> BacktestList:
    before = None
    if cursor:
        before = decode_moment_id_cursor(_CURSOR_KIND, cursor)
    with uow:
        rows = repo.page(uow.session, principal.user_id, limit=limit, before=before)
        items = [BacktestSummary.model_validate(r) for r in rows[:limit]]
    last = items[-1] if items else None
    next_cursor = (
        encode_cursor(_CURSOR_KIND, f"{last.created_at.isoformat()}|{last.id}") if last and len(rows) > limit else None
    )
    return BacktestList(items=items, next_cursor=next_cursor)


def delete(*, uow: UnitOfWork, principal: Principal, backtest_id: uuid.UUID) -> None:
    """Gone for its owner (404 from now on), its parameters and result dropped; the row stays, marked
    ``deleted``, because the daily quota counts submissions, and the maintenance job prunes it later."""
    with uow:
        row = repo.owned(uow.session, backtest_id, principal.user_id)
        if row is None:
            raise NotFound("No such backtest.")
        row.status, row.params, row.result, row.error = repo.DELETED, {}, None, None
        row.finished_at = datetime.now(UTC)
