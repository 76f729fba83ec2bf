"""Backtests for their owners: submit (limits, the deterministic cache, the job queued), read, list, delete.

A backtest belongs to the account that asked; limits count per caller (the API key, or the account
for a bearer token). Someone else's backtest is a 404, the same as a missing one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

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
from autoindex.errors import Conflict, NotFound, RateLimited, ValidationFailed
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.pagination import decode_moment_id_cursor, encode_cursor
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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


def request_hash(body: BacktestCreate) -> str:
    """The body as the schema read it (defaults filled, symbols sorted): equal bodies hash equal."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit(
    *, uow: UnitOfWork, principal: Principal, body: BacktestCreate, idempotency_key: str | None = None
) -> BacktestAccepted:
    """Queue (or answer from the cache) one backtest; with an ``Idempotency-Key``, at most one per key.

    A key the owner used within BACKTEST_IDEMPOTENCY_HOURS answers its backtest again (``joined``),
    before any limit is counted: no second row, quota unit or job. Two requests with one key at once:
    the same caller's wait on its lock and the second finds the first's row; another caller of the same
    owner (a second API key) meets the unique index, and is answered as a replay once the first commits.
    """
    fingerprint = request_hash(body) if idempotency_key is not None else None
    try:
        return _submit(uow=uow, principal=principal, body=body, key=idempotency_key, fingerprint=fingerprint)
    except IntegrityError:
        if idempotency_key is None or fingerprint is None:
            raise
        with uow:  # the other request committed its row with this key: answer as it did
            found = _live_keyed(uow.session, principal.user_id, idempotency_key, datetime.now(UTC))
            if found is None:
                raise
            return _replay(found, fingerprint)


def _live_keyed(session: Session, user_id: uuid.UUID, key: str, now: datetime) -> Backtest | None:
    """The backtest the key names, or None; a key older than the window is released for a new backtest."""
    found = repo.keyed(session, user_id, key)
    if found is None:
        return None
    if found.created_at >= now - timedelta(hours=get_settings().backtest_idempotency_hours):
        return found
    found.idempotency_key = None
    session.flush()  # released before this request's row takes the key
    return None


def _replay(found: Backtest, fingerprint: str) -> BacktestAccepted:
    if found.request_hash != fingerprint:
        raise ValidationFailed("This Idempotency-Key was used for a backtest with another body; use a new key.")
    if found.status == repo.DELETED:
        raise Conflict("The backtest this Idempotency-Key created was deleted; use a new key to run it again.")
    return BacktestAccepted(id=found.id, status=found.status, cached=found.cached, joined=True)


def _check_dates(body: BacktestCreate, span: tuple[date, date] | None) -> None:
    """Refuse a range no stored close falls in, before it is queued and counted: it could only fail later."""
    if span is None:
        raise Conflict("No closes are stored for these assets yet: a price refresh must run first.")
    first, last = span
    if body.end is not None and body.end < first:
        raise field_error("end", f"before the first stored close ({first}): there is nothing to report")
    if body.start is not None and body.start > last:
        raise field_error("start", f"after the last stored close ({last}): there is nothing to report")


def _submit(
    *, uow: UnitOfWork, principal: Principal, body: BacktestCreate, key: str | None, fingerprint: str | None
) -> BacktestAccepted:
    from autoindex.index import compute_inputs
    from autoindex.index.strategy import active_version

    settings = get_settings()
    now = datetime.now(UTC)
    caller = principal.rate_limit_identity
    with uow:
        # Count-then-insert must be atomic per caller: held until this transaction commits the row. Taken
        # first, so the same caller's second request with a key finds the first one's row.
        repo.lock_caller(uow.session, caller)
        if key is not None and fingerprint is not None:
            found = _live_keyed(uow.session, principal.user_id, key, now)
            if found is not None:
                return _replay(found, fingerprint)
        try:
            strategy = resolve_params(dict(active_version(uow.session).params), body)
        except ValueError as exc:
            raise field_error("strategy", str(exc)) from None
        universe = [a.symbol for a in compute_inputs.universe(uow.session)]
        unknown = sorted(set(body.symbols or ()) - set(universe))
        if unknown:
            raise field_error("symbols", f"not in the universe: {', '.join(unknown)}"[:200])
        _check_dates(body, repo.closes_span(uow.session, body.symbols or universe))
        params = {
            "strategy": strategy.model_dump(mode="json"),
            "scheme": body.scheme,
            "symbols": body.symbols,
            "start": body.start.isoformat() if body.start else None,
            "end": body.end.isoformat() if body.end else None,
            "return_type": body.return_type,
        }
        version = repo.data_version(uow.session)
        cache = cache_key(params, version)
        day_start = datetime.combine(now.date(), time(0), tzinfo=UTC)
        if repo.started_since(uow.session, caller, day_start) >= settings.backtest_daily_quota:
            wait = int((_midnight_after(now) - now).total_seconds()) + 1
            raise RateLimited("The daily backtest quota is used up.", headers={"Retry-After": str(wait)})
        earlier = repo.finished_with(uow.session, cache)
        row = Backtest(
            id=uuid.uuid4(),
            user_id=principal.user_id,
            caller=caller,
            params=params,
            data_version=version,
            cache_key=cache,
            created_at=now,
            idempotency_key=key,
            request_hash=fingerprint,
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
        accepted = BacktestAccepted(id=row.id, status=row.status, cached=row.cached, joined=False)
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
