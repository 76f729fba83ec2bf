"""Retention and maintenance: the weekly job that deletes rows nobody needs any more, all or nothing.

Every table is pruned in ONE transaction: a failure anywhere leaves every table as it was, and the
next run starts over. Each statement is bounded: the keys to delete are read a page at a time in key
order, each page resuming after the previous one's last key (keyset pagination: no page rereads what
an earlier one covered), then deleted by key through the primary-key or family index.
``audit_events`` is append-only and is never touched. On PostgreSQL the pruned tables are analysed
after the commit so the planner learns how small they became; a failure there is only logged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, text, tuple_
from sqlalchemy.exc import SQLAlchemyError

from autoindex.backtests.models import Backtest
from autoindex.events.ledger import ProcessedEvent
from autoindex.identity.models import ApiKey, RefreshToken
from autoindex.index.models import ACTIVE_COMPUTE_STATUSES, ComputeRun
from autoindex.market.models import ACTIVE_RUN_STATUSES, RefreshBatch, RefreshRun
from autoindex.observability import add_metric, logger
from autoindex.settings import get_settings
from autoindex.webhooks.models import WebhookDelivery

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork

# Keys per statement: keeps every statement well inside DB_STATEMENT_TIMEOUT_MS and below SQLite's
# bound-parameter limit (a two-column key binds two values per row).
BATCH_SIZE = 400
METRIC = "MaintenanceRowsDeleted"
# A compute run in this state has not run yet: it is never pruned.
# Report field -> the table it counts (ANALYZE runs on the tables that lost rows).
PRUNED_TABLES = {
    "refresh_tokens": "refresh_tokens",
    "refresh_runs": "refresh_runs",
    "refresh_batches": "refresh_batches",
    "compute_runs": "compute_runs",
    "processed_events": "processed_events",
    "api_keys": "api_keys",
    "webhook_deliveries": "webhook_deliveries",
    "backtests": "backtests",
}


@dataclass(frozen=True, slots=True)
class RetentionCutoffs:
    """Rows that died (expired, were revoked, finished, were processed) before these instants are deleted."""

    refresh_tokens: datetime
    refresh_runs: datetime
    compute_runs: datetime
    processed_events: datetime
    api_keys: datetime
    webhook_deliveries: datetime
    backtests: datetime


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What one run deleted, per table, and the cutoffs it used."""

    now: datetime
    cutoffs: RetentionCutoffs
    refresh_tokens: int = 0
    refresh_runs: int = 0
    refresh_batches: int = 0
    compute_runs: int = 0
    processed_events: int = 0
    api_keys: int = 0
    webhook_deliveries: int = 0
    backtests: int = 0

    @property
    def deleted(self) -> dict[str, int]:
        return {field: int(getattr(self, field)) for field in PRUNED_TABLES}

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the handler's result and the CLI's output."""
        cutoffs = {field: getattr(self.cutoffs, field).isoformat() for field in RetentionCutoffs.__dataclass_fields__}
        return {"now": self.now.isoformat(), "deleted": self.deleted, "total": self.total, "cutoffs": cutoffs}


def cutoffs_at(now: datetime) -> RetentionCutoffs:
    settings = get_settings()

    def days_ago(days: int) -> datetime:
        return now - timedelta(days=days)

    return RetentionCutoffs(
        refresh_tokens=days_ago(settings.retention_refresh_tokens_days),
        refresh_runs=days_ago(settings.retention_refresh_runs_days),
        compute_runs=days_ago(settings.retention_compute_runs_days),
        processed_events=days_ago(settings.retention_processed_events_days),
        api_keys=days_ago(settings.retention_api_keys_days),
        webhook_deliveries=days_ago(settings.retention_webhook_deliveries_days),
        backtests=days_ago(settings.retention_backtests_days),
    )


def _key_pages(
    session: Session, query: Select[*tuple[Any, ...]], keys: Sequence[Any]
) -> Iterator[list[tuple[Any, ...]]]:
    """The key tuples ``query`` selects, in key order, at most BATCH_SIZE at a time.

    Each page starts after the last key of the previous one, so the pages together walk each key's
    index once, even though the previous page's rows are already deleted (but still visible to the
    index scan) within this transaction.
    """
    last: tuple[Any, ...] | None = None
    while True:
        page = query
        if last is not None:
            page = page.where(tuple_(*keys) > tuple_(*(literal(v, k.type) for k, v in zip(keys, last, strict=True))))
        rows = [tuple(row) for row in session.execute(page.order_by(*keys).limit(BATCH_SIZE))]
        if not rows:
            return
        yield rows
        if len(rows) < BATCH_SIZE:
            return
        last = rows[-1]


def _delete_by_key(session: Session, model: Any, keys: Sequence[Any], condition: ColumnElement[bool]) -> int:
    """Delete the rows matching ``condition`` by their key (one or more columns), one bounded page at a time."""
    deleted = 0
    for page in _key_pages(session, select(*keys).where(condition), keys):
        matched = keys[0].in_([k for (k,) in page]) if len(keys) == 1 else tuple_(*keys).in_(page)
        deleted += _rowcount(session.execute(delete(model).where(matched)))
    return deleted


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


def _prune_processed_events(session: Session, cutoff: datetime) -> int:
    keys = [ProcessedEvent.consumer, ProcessedEvent.event_id]
    return _delete_by_key(session, ProcessedEvent, keys, ProcessedEvent.processed_at < cutoff)


def _prune_compute_runs(session: Session, cutoff: datetime) -> int:
    # Nothing references a compute run; a queued one has no finished_at, and its status guards it too.
    finished = and_(ComputeRun.status.not_in(ACTIVE_COMPUTE_STATUSES), ComputeRun.finished_at < cutoff)
    return _delete_by_key(session, ComputeRun, [ComputeRun.id], finished)


def _prune_refresh_runs(session: Session, cutoff: datetime) -> tuple[int, int]:
    """(runs, batches): the batches go first, explicitly, not left to ON DELETE CASCADE (counted, any dialect)."""
    finished = and_(RefreshRun.status.not_in(ACTIVE_RUN_STATUSES), RefreshRun.finished_at < cutoff)
    runs = batches = 0
    for page in _key_pages(session, select(RefreshRun.id).where(finished), [RefreshRun.id]):
        ids = [run_id for (run_id,) in page]
        # refresh_batches' primary key starts with run_id: both deletes are index lookups.
        batches += _rowcount(session.execute(delete(RefreshBatch).where(RefreshBatch.run_id.in_(ids))))
        runs += _rowcount(session.execute(delete(RefreshRun).where(RefreshRun.id.in_(ids))))
    return runs, batches


def _prune_refresh_tokens(session: Session, cutoff: datetime) -> int:
    """Delete whole token families whose every token died (expired, or was revoked) before ``cutoff``.

    Not single dead rows: reuse detection (``identity.refresh``) works by finding a presented token's
    row already rotated, and then revokes its whole family. A rotated token's row must therefore live
    as long as any token of its family can still be used, or a thief holding the family's newest token
    would go undetected when the owner (or the thief) presents an old one. Once every token of a
    family is dead there is nothing left to protect, so the family goes as a whole.
    """
    revoked_first = and_(RefreshToken.revoked_at.is_not(None), RefreshToken.revoked_at < RefreshToken.expires_at)
    died_at = case((revoked_first, RefreshToken.revoked_at), else_=RefreshToken.expires_at)
    dead_families = select(RefreshToken.family_id).group_by(RefreshToken.family_id).having(func.max(died_at) < cutoff)
    deleted = 0
    for page in _key_pages(session, dead_families, [RefreshToken.family_id]):
        families = [family for (family,) in page]
        # ix_refresh_tokens_family_id serves both the grouping and this delete.
        deleted += _rowcount(session.execute(delete(RefreshToken).where(RefreshToken.family_id.in_(families))))
    return deleted


def _prune_api_keys(session: Session, cutoff: datetime) -> int:
    # No foreign key references api_keys (audit rows name a key by string), so a dead key can simply go.
    dead = or_(ApiKey.revoked_at < cutoff, ApiKey.expires_at < cutoff)
    return _delete_by_key(session, ApiKey, [ApiKey.id], dead)


def _prune_webhook_deliveries(session: Session, cutoff: datetime) -> int:
    # A pending delivery is still being retried (its schedule spans a day at most): never pruned, however old.
    settled = and_(WebhookDelivery.status != "pending", WebhookDelivery.created_at < cutoff)
    return _delete_by_key(session, WebhookDelivery, [WebhookDelivery.id], settled)


def _prune_backtests(session: Session, cutoff: datetime) -> int:
    # Queued and running backtests have no finished_at, and their status guards them too. A pruned
    # succeeded backtest no longer answers identical requests from the cache: they simply run again.
    # A deleted one (finished_at: when its owner deleted it) is kept only for the daily quota's count.
    finished = and_(Backtest.status.in_(("succeeded", "failed", "deleted")), Backtest.finished_at < cutoff)
    return _delete_by_key(session, Backtest, [Backtest.id], finished)


def _prune(session: Session, cutoffs: RetentionCutoffs) -> dict[str, int]:
    counts = {
        "processed_events": _prune_processed_events(session, cutoffs.processed_events),
        "compute_runs": _prune_compute_runs(session, cutoffs.compute_runs),
    }
    counts["refresh_runs"], counts["refresh_batches"] = _prune_refresh_runs(session, cutoffs.refresh_runs)
    counts["refresh_tokens"] = _prune_refresh_tokens(session, cutoffs.refresh_tokens)
    counts["api_keys"] = _prune_api_keys(session, cutoffs.api_keys)
    counts["webhook_deliveries"] = _prune_webhook_deliveries(session, cutoffs.webhook_deliveries)
    counts["backtests"] = _prune_backtests(session, cutoffs.backtests)
    return counts


def _analyze(uow: UnitOfWork, tables: list[str]) -> None:
    """Refresh the planner's statistics of the pruned tables; its own transaction, after the commit."""
    try:
        with uow:
            preparer = uow.session.get_bind().dialect.identifier_preparer
            uow.session.execute(text(f"ANALYZE {', '.join(preparer.quote(t) for t in tables)}"))
    except SQLAlchemyError as exc:
        # The deletions are committed; stale statistics only cost plan quality until autovacuum catches up.
        logger.warning("ANALYZE after maintenance failed", extra={"tables": tables, "error": type(exc).__name__})


def run_maintenance(*, uow: UnitOfWork, now: datetime | None = None) -> MaintenanceReport:
    """Delete what the retention settings allow, in one transaction, and report what went.

    Parameters
    ----------
    uow
        A unit of work that is not open yet.
    now
        The instant the cutoffs are measured from (timezone-aware); the clock by default.

    Returns
    -------
    MaintenanceReport
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cutoffs = cutoffs_at(now)
    with uow:
        dialect = uow.session.get_bind().dialect.name
        counts = _prune(uow.session, cutoffs)
    report = MaintenanceReport(now=now, cutoffs=cutoffs, **counts)
    pruned = [PRUNED_TABLES[field] for field, count in report.deleted.items() if count]
    if dialect == "postgresql" and pruned:
        _analyze(uow, pruned)
    for field, count in report.deleted.items():
        add_metric(f"{METRIC}.{field}", count)
    logger.info("maintenance finished", extra={"deleted": report.deleted, "total": report.total})
    return report
