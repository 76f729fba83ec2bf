"""The weekly maintenance job on real PostgreSQL: exactly the rows past retention go; live, recent and
active ones stay; a second run deletes nothing; a failure part-way (raised, or a killed connection)
leaves every table as it was; the append-only audit trail is never touched."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from autoindex.backtests.models import Backtest
from autoindex.db.base import Base
from autoindex.db.uow import UnitOfWork
from autoindex.events.ledger import ProcessedEvent
from autoindex.identity.models import ApiKey, AuditEvent, RefreshToken, User
from autoindex.index.models import ComputeRun
from autoindex.market.models import RefreshBatch, RefreshRun
from autoindex.observability import logger
from autoindex.ops import maintenance
from autoindex.ops.maintenance import MaintenanceReport, run_maintenance
from autoindex.settings import ConfigurationError, get_settings
from autoindex.webhooks.models import WebhookDelivery, WebhookEndpoint
from autoindex_dev.lambda_events import LocalContext, scheduled_event
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.lambda_http import function_handler

Snapshot = dict[str, set[Any]]
UowFactory = Callable[[], UnitOfWork]
DAY = timedelta(days=1)
# The tables the job prunes (audit_events is only ever compared, never pruned).
TABLES = (
    "refresh_tokens",
    "api_keys",
    "refresh_runs",
    "refresh_batches",
    "compute_runs",
    "processed_events",
    "webhook_deliveries",
    "backtests",
)


@dataclass
class Seeded:
    """What was seeded, keyed like a snapshot: the rows the job must delete, and every row it wrote."""

    now: datetime
    user_id: uuid.UUID
    doomed: Snapshot = field(default_factory=lambda: {name: set() for name in TABLES})


def snapshot(make_uow: UowFactory) -> Snapshot:
    """The primary keys of every table the job touches, and of the audit trail."""
    with make_uow() as uow:
        s = uow.session
        return {
            "refresh_tokens": set(s.scalars(select(RefreshToken.id))),
            "api_keys": set(s.scalars(select(ApiKey.id))),
            "refresh_runs": set(s.scalars(select(RefreshRun.id))),
            "refresh_batches": {tuple(r) for r in s.execute(select(RefreshBatch.run_id, RefreshBatch.seq))},
            "compute_runs": set(s.scalars(select(ComputeRun.id))),
            "processed_events": {tuple(r) for r in s.execute(select(ProcessedEvent.consumer, ProcessedEvent.event_id))},
            "webhook_deliveries": set(s.scalars(select(WebhookDelivery.id))),
            "backtests": set(s.scalars(select(Backtest.id))),
            "audit_events": set(s.scalars(select(AuditEvent.id))),
        }


def _token(session: Session, seeded: Seeded, family: uuid.UUID, *, doomed: bool, **times: datetime) -> None:
    row = RefreshToken(
        id=uuid.uuid4(),
        user_id=seeded.user_id,
        family_id=family,
        token_hash=secrets.token_hex(32),
        issued_at=times.pop("issued_at", seeded.now - 120 * DAY),
        session_expires_at=times.pop("session_expires_at", times["expires_at"]),
        **times,
    )
    session.add(row)
    if doomed:
        seeded.doomed["refresh_tokens"].add(row.id)


def _seed_tokens(session: Session, seeded: Seeded) -> None:
    now = seeded.now  # default retention: families whose last token died more than 30 days ago go
    # Rotated, then the newest token expired 40 days ago: the whole family is dead.
    family = uuid.uuid4()
    _token(session, seeded, family, doomed=True, expires_at=now - 70 * DAY, rotated_at=now - 100 * DAY)
    _token(session, seeded, family, doomed=True, expires_at=now - 40 * DAY)
    # Logged out 31 days ago (every row revoked), though the tokens would have lived on.
    family = uuid.uuid4()
    for _ in range(2):
        _token(session, seeded, family, doomed=True, expires_at=now - 5 * DAY, revoked_at=now - 31 * DAY)
    # Expired 40 days ago, revoked (reuse detected) 5 days ago: dead since its expiry.
    _token(session, seeded, uuid.uuid4(), doomed=True, expires_at=now - 40 * DAY, revoked_at=now - 5 * DAY)
    # Reuse detection needs the long-dead rotated token while its family's newest one lives: both stay.
    family = uuid.uuid4()
    _token(session, seeded, family, doomed=False, expires_at=now - 60 * DAY, rotated_at=now - 89 * DAY)
    _token(session, seeded, family, doomed=False, expires_at=now + 20 * DAY)
    # Dead, but not for long enough: expired 10 days ago; revoked 5 days ago.
    _token(session, seeded, uuid.uuid4(), doomed=False, expires_at=now - 10 * DAY)
    _token(session, seeded, uuid.uuid4(), doomed=False, expires_at=now + 9 * DAY, revoked_at=now - 5 * DAY)


def _seed_api_keys(session: Session, seeded: Seeded) -> None:
    now = seeded.now  # default retention: 365 days after revocation or expiry
    cases = [
        (True, {"revoked_at": now - 400 * DAY, "expires_at": now + 30 * DAY}),
        (True, {"expires_at": now - 366 * DAY}),
        (False, {"revoked_at": now - 100 * DAY}),
        (False, {"expires_at": now - 300 * DAY}),
        (False, {"expires_at": now + 30 * DAY}),
        (False, {}),  # never expires
    ]
    for doomed, times in cases:
        key = ApiKey(
            id=uuid.uuid4(),
            user_id=seeded.user_id,
            name="k",
            prefix="aik_test",
            secret_hmac=secrets.token_hex(32),
            scopes=["read"],
            created_at=now - 800 * DAY,
            **times,
        )
        session.add(key)
        if doomed:
            seeded.doomed["api_keys"].add(key.id)


def _seed_refresh_runs(session: Session, seeded: Seeded) -> None:
    now = seeded.now  # default retention: 180 days after the run finished
    cases = [  # (status, finished days ago or None, batches, doomed)
        ("succeeded", 200, 3, True),
        ("failed", 181, 1, True),
        ("partial", 10, 2, False),
        ("running", None, 1, False),  # started 400 days ago and never finished: an active run is never pruned
    ]
    for status, finished, batches, doomed in cases:
        run = RefreshRun(
            id=uuid.uuid4(),
            trigger="schedule",
            status=status,
            batches_total=batches,
            created_at=now - 400 * DAY,
            finished_at=None if finished is None else now - finished * DAY,
        )
        session.add(run)
        session.flush()  # batches reference the run
        for seq in range(batches):
            start = (now - 500 * DAY).date()
            session.add(RefreshBatch(run_id=run.id, seq=seq, symbols=["AAPL"], start_date=start, end_date=start))
            if doomed:
                seeded.doomed["refresh_batches"].add((run.id, seq))
        if doomed:
            seeded.doomed["refresh_runs"].add(run.id)


def _seed_compute_runs(session: Session, seeded: Seeded) -> None:
    now = seeded.now  # default retention: 180 days after the run finished
    cases = [
        ("succeeded", 200, True),
        ("noop", 190, True),
        ("failed", 181, True),
        ("succeeded", 30, False),
        ("queued", None, False),
        ("queued", 400, False),  # inconsistent on purpose: the status alone keeps a queued run
    ]
    for status, finished, doomed in cases:
        run = ComputeRun(
            id=uuid.uuid4(),
            trigger="cli",
            status=status,
            created_at=now - 400 * DAY,
            finished_at=None if finished is None else now - finished * DAY,
        )
        session.add(run)
        if doomed:
            seeded.doomed["compute_runs"].add(run.id)


def _seed_processed_events(session: Session, seeded: Seeded) -> None:
    now = seeded.now  # default retention: 14 days
    for consumer, event_id, age, doomed in [
        ("compute", f"old-{uuid.uuid4()}", 15, True),
        ("other", f"old-{uuid.uuid4()}", 100, True),
        ("compute", f"recent-{uuid.uuid4()}", 13, False),
    ]:
        session.add(ProcessedEvent(consumer=consumer, event_id=event_id, processed_at=now - age * DAY))
        if doomed:
            seeded.doomed["processed_events"].add((consumer, event_id))


def _seed_webhook_deliveries(session: Session, seeded: Seeded) -> None:
    now = seeded.now  # default retention: 30 days after the delivery was created
    endpoint = WebhookEndpoint(
        user_id=seeded.user_id, url="https://example.com/hook", events=["index.updated"], secret="s" * 32
    )
    session.add(endpoint)
    session.flush()  # deliveries reference the endpoint
    cases = [
        ("delivered", 31, True),
        ("failed", 100, True),
        ("delivered", 29, False),
        ("pending", 100, False),  # still being retried (inconsistently old on purpose): the status alone keeps it
    ]
    for status, age, doomed in cases:
        row = WebhookDelivery(
            endpoint_id=endpoint.id,
            user_id=seeded.user_id,
            event_id=uuid.uuid4().hex,
            event_type="index.updated",
            payload={},
            status=status,
            created_at=now - age * DAY,
        )
        session.add(row)
        session.flush()  # the id comes from the database
        if doomed:
            seeded.doomed["webhook_deliveries"].add(row.id)


def _seed_backtests(session: Session, seeded: Seeded) -> None:
    now = seeded.now  # default retention: 90 days after the backtest finished
    cases = [  # (status, finished days ago or None, doomed)
        ("succeeded", 91, True),
        ("failed", 200, True),
        ("succeeded", 89, False),
        ("running", None, False),
        ("queued", 400, False),  # inconsistent on purpose: the status alone keeps a queued backtest
        ("deleted", 91, True),  # deleted by its owner (finished_at: when), kept only for the day's quota
        ("deleted", 1, False),
    ]
    for status, finished, doomed in cases:
        row = Backtest(
            id=uuid.uuid4(),
            user_id=seeded.user_id,
            caller=f"user:{seeded.user_id}",
            status=status,
            params={},
            data_version=1,
            cache_key=secrets.token_hex(32),
            created_at=now - 400 * DAY,
            finished_at=None if finished is None else now - finished * DAY,
        )
        session.add(row)
        if doomed:
            seeded.doomed["backtests"].add(row.id)


def seed(make_uow: UowFactory, now: datetime) -> Seeded:
    with make_uow() as uow:
        session = uow.session
        user = User(email=f"maintenance-{uuid.uuid4().hex}@example.com", password_hash="x", role="user")
        session.add(user)
        session.flush()
        seeded = Seeded(now=now, user_id=user.id)
        _seed_tokens(session, seeded)
        _seed_api_keys(session, seeded)
        _seed_refresh_runs(session, seeded)
        _seed_compute_runs(session, seeded)
        _seed_processed_events(session, seeded)
        _seed_webhook_deliveries(session, seeded)
        _seed_backtests(session, seeded)
        # Audit rows far older than any retention: the job must never touch them.
        for age in (2_000, 400, 1):
            session.add(
                AuditEvent(
                    occurred_at=now - age * DAY, actor_type="system", action="test.maintenance", outcome="success"
                )
            )
    return seeded


def _clear_runs(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        for model in (RefreshBatch, RefreshRun, ComputeRun, ProcessedEvent):
            uow.session.execute(delete(model))


@pytest.fixture
def seeded(migrated: Engine) -> Iterator[Seeded]:
    """Old and recent rows of every kind, on a clean slate of runs and events (as the pipeline fixtures keep it)."""
    _clear_runs(UnitOfWork)
    seeded = seed(UnitOfWork, datetime.now(UTC))
    yield seeded
    with UnitOfWork() as uow:  # the user's tokens and keys go with it (ON DELETE CASCADE)
        uow.session.execute(delete(User).where(User.id == seeded.user_id))
    _clear_runs(UnitOfWork)


def expected_after(before: Snapshot, seeded: Seeded) -> Snapshot:
    return {name: rows - seeded.doomed.get(name, set()) for name, rows in before.items()}


def assert_report_counts(report: MaintenanceReport, seeded: Seeded) -> None:
    assert report.deleted == {
        "refresh_tokens": 5,
        "refresh_runs": 2,
        "refresh_batches": 4,
        "compute_runs": 3,
        "processed_events": 2,
        "api_keys": 2,
        "webhook_deliveries": 2,
        "backtests": 3,
    }
    assert report.deleted == {name: len(seeded.doomed[name]) for name in report.deleted}


@pytest.mark.parametrize("batch_size", [2, maintenance.BATCH_SIZE])
def test_exactly_the_rows_past_retention_go(seeded: Seeded, batch_size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages of two keys: every kind spans several pages, so the keyset walk is exercised too.
    monkeypatch.setattr(maintenance, "BATCH_SIZE", batch_size)
    before = snapshot(UnitOfWork)
    assert all(seeded.doomed[name] <= before[name] for name in TABLES)
    report = run_maintenance(uow=UnitOfWork(), now=seeded.now)
    assert snapshot(UnitOfWork) == expected_after(before, seeded)  # the audit trail included: unchanged
    assert_report_counts(report, seeded)
    assert report.total == 23
    settings = get_settings()
    assert report.cutoffs.refresh_tokens == seeded.now - settings.retention_refresh_tokens_days * DAY
    assert report.cutoffs.processed_events == seeded.now - 14 * DAY
    assert report.cutoffs.api_keys == seeded.now - 365 * DAY
    assert report.cutoffs.webhook_deliveries == seeded.now - 30 * DAY
    assert report.cutoffs.backtests == seeded.now - 90 * DAY


def test_a_second_run_deletes_nothing(seeded: Seeded) -> None:
    run_maintenance(uow=UnitOfWork(), now=seeded.now)
    after_first = snapshot(UnitOfWork)
    again = run_maintenance(uow=UnitOfWork(), now=seeded.now)
    assert again.total == 0 and set(again.deleted.values()) == {0}
    assert snapshot(UnitOfWork) == after_first


def test_a_failure_in_a_later_step_rolls_every_table_back(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(UnitOfWork)
    seen: dict[str, int] = {}

    def fail_after_the_others(session: Session, cutoff: datetime) -> int:
        # The earlier steps did delete, inside the transaction: this is what must be undone.
        seen["events"] = session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0
        seen["tokens"] = session.scalar(select(func.count()).select_from(RefreshToken)) or 0
        raise RuntimeError("injected failure in the last step")

    monkeypatch.setattr(maintenance, "_prune_api_keys", fail_after_the_others)
    with pytest.raises(RuntimeError, match="injected"):
        run_maintenance(uow=UnitOfWork(), now=seeded.now)
    assert seen["events"] == len(before["processed_events"]) - 2
    assert seen["tokens"] == len(before["refresh_tokens"]) - 5
    assert snapshot(UnitOfWork) == before


def test_a_killed_connection_mid_run_leaves_every_table_as_it_was(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    before = snapshot(UnitOfWork)
    real_step = maintenance._prune_refresh_tokens
    killer = create_engine(database_url, poolclass=NullPool)

    def delete_then_lose_the_connection(session: Session, cutoff: datetime) -> int:
        deleted = real_step(session, cutoff)  # runs, batches, events and tokens are deleted by now...
        pid: int = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with killer.connect() as other:  # ...when the database connection dies
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True
        return deleted

    monkeypatch.setattr(maintenance, "_prune_refresh_tokens", delete_then_lose_the_connection)
    try:
        with pytest.raises(DBAPIError):
            run_maintenance(uow=UnitOfWork(), now=seeded.now)
    finally:
        killer.dispose()
    assert snapshot(UnitOfWork) == before


def test_pruned_tables_are_analysed_after_the_commit(seeded: Seeded) -> None:
    from autoindex.db.engine import write_engine

    engine = write_engine()
    seen: list[str] = []

    def on_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    def on_commit(conn: Any) -> None:
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        run_maintenance(uow=UnitOfWork(), now=seeded.now)
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)
    analyses = [i for i, s in enumerate(seen) if s.startswith("ANALYZE")]
    deletes = [i for i, s in enumerate(seen) if s.startswith("DELETE")]
    assert len(analyses) == 1 and deletes
    # Every DELETE in one transaction (one COMMIT), and ANALYZE only after it, in a transaction of its own.
    assert seen[: analyses[0]].count("COMMIT") == 1
    assert max(deletes) < seen.index("COMMIT") < analyses[0]
    assert seen[analyses[0]] == (
        "ANALYZE refresh_tokens, refresh_runs, refresh_batches, compute_runs, processed_events, api_keys, "
        "webhook_deliveries, backtests"
    )


def test_only_tables_that_lost_rows_are_analysed(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    run_maintenance(uow=UnitOfWork(), now=seeded.now)
    with UnitOfWork() as uow:  # one more event past retention, nothing else
        uow.session.add(ProcessedEvent(consumer="compute", event_id="late", processed_at=seeded.now - 20 * DAY))
    analysed: list[str] = []
    real_analyze = maintenance._analyze

    def spy(uow: UnitOfWork, tables: list[str]) -> None:
        analysed.extend(tables)
        real_analyze(uow, tables)

    monkeypatch.setattr(maintenance, "_analyze", spy)
    assert run_maintenance(uow=UnitOfWork(), now=seeded.now).total == 1
    assert analysed == ["processed_events"]
    assert run_maintenance(uow=UnitOfWork(), now=seeded.now).total == 0
    assert analysed == ["processed_events"]  # nothing pruned: nothing analysed


def test_a_failed_analyze_is_logged_and_the_deletions_stand(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[tuple[str, Any]] = []
    monkeypatch.setitem(maintenance.PRUNED_TABLES, "api_keys", "no_such_table")  # PostgreSQL refuses the ANALYZE
    monkeypatch.setattr(logger, "warning", lambda msg, **kw: warnings.append((msg, kw)))
    before = snapshot(UnitOfWork)
    report = run_maintenance(uow=UnitOfWork(), now=seeded.now)
    assert_report_counts(report, seeded)
    assert snapshot(UnitOfWork) == expected_after(before, seeded)
    assert [msg for msg, _ in warnings] == ["ANALYZE after maintenance failed"]
    assert warnings[0][1]["extra"]["error"] == "ProgrammingError"


def test_one_metric_per_table(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics: list[tuple[str, float]] = []
    monkeypatch.setattr(maintenance, "add_metric", lambda name, value=1, unit="Count": metrics.append((name, value)))
    report = run_maintenance(uow=UnitOfWork(), now=seeded.now)
    assert metrics == [(f"MaintenanceRowsDeleted.{name}", count) for name, count in report.deleted.items()]
    assert len(metrics) == 8


def test_retention_settings_move_the_cutoffs(seeded: Seeded, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("RETENTION_COMPUTE_RUNS_DAYS", "20")  # the run that finished 30 days ago goes too
    fresh_settings.setenv("RETENTION_PROCESSED_EVENTS_DAYS", "365")  # no event is that old
    before = snapshot(UnitOfWork)
    report = run_maintenance(uow=UnitOfWork(), now=seeded.now)
    assert report.compute_runs == 4 and report.processed_events == 0
    assert report.cutoffs.compute_runs == seeded.now - 20 * DAY
    after = snapshot(UnitOfWork)
    assert seeded.doomed["compute_runs"] < before["compute_runs"] - after["compute_runs"]
    assert after["processed_events"] == before["processed_events"]
    with UnitOfWork() as uow:  # what is left: the two queued runs, nothing finished
        left = sorted(uow.session.scalars(select(ComputeRun.status)))
    assert left == ["queued", "queued"]


def test_the_webhook_and_backtest_retention_settings_move_their_cutoffs(
    seeded: Seeded, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("RETENTION_WEBHOOK_DELIVERIES_DAYS", "20")  # the delivery of 29 days ago goes too
    fresh_settings.setenv("RETENTION_BACKTESTS_DAYS", "365")  # the failed backtest of 200 days ago stays
    report = run_maintenance(uow=UnitOfWork(), now=seeded.now)
    assert report.webhook_deliveries == 3 and report.backtests == 0
    with UnitOfWork() as uow:  # in flight, whatever its age: the pending delivery and the unfinished backtests
        pending = uow.session.scalars(select(WebhookDelivery.status).where(WebhookDelivery.user_id == seeded.user_id))
        assert list(pending) == ["pending"]
        assert uow.session.scalar(select(func.count()).where(Backtest.user_id == seeded.user_id)) == 7


@pytest.mark.parametrize("value", ["4", "0", "3651"])
def test_the_ledger_cannot_be_pruned_inside_a_redelivery_window(value: str, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("RETENTION_PROCESSED_EVENTS_DAYS", value)
    with pytest.raises(ConfigurationError, match="RETENTION_PROCESSED_EVENTS_DAYS"):
        get_settings()


def test_nothing_references_api_keys_or_runs_by_foreign_key() -> None:
    # The job deletes api_keys and compute_runs rows outright; a new reference would need it revisited.
    referenced = {fk.column.table.name for table in Base.metadata.tables.values() for fk in table.foreign_keys}
    assert referenced.isdisjoint({"api_keys", "compute_runs", "webhook_deliveries", "backtests"})
    assert {
        (t.name, fk.ondelete)
        for t in Base.metadata.tables.values()
        for fk in t.foreign_keys
        if fk.column.table.name == "refresh_runs"
    } == {("refresh_batches", "CASCADE")}


def test_the_scheduled_handler_runs_the_job(seeded: Seeded) -> None:
    before = snapshot(UnitOfWork)
    handler = function_handler("maintenance")
    result = handler(scheduled_event("maintenance-weekly"), LocalContext(function_name="MaintenanceFunction"))
    assert result["deleted"] == {name: len(seeded.doomed[name]) for name in TABLES}
    assert result["total"] == 23 and set(result["cutoffs"]) == {
        "refresh_tokens",
        "refresh_runs",
        "compute_runs",
        "processed_events",
        "api_keys",
        "webhook_deliveries",
        "backtests",
    }
    assert snapshot(UnitOfWork) == expected_after(before, seeded)


def test_the_cli_prints_the_report(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    from autoindex_dev.cli import main

    assert main(["maintenance"]) == 0
    out = capsys.readouterr().out
    assert "maintenance: 23 rows deleted" in out
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.startswith("  ")}
    assert rows == {name: [str(len(seeded.doomed[name])), "dead"] for name in TABLES}


def test_the_embedded_sqlite_database_is_pruned_the_same_way(tmp_path: Path) -> None:
    """`autoindex serve` delivers the weekly schedule locally, on SQLite by default."""
    from autoindex.db.engine import build_engine
    from autoindex.migrations import migrate
    from sqlalchemy.engine import make_url

    engine = build_engine(make_url(f"sqlite+pysqlite:///{tmp_path / 'embedded.sqlite3'}"), get_settings())
    try:
        migrate.upgrade(engine)
        sessions = sessionmaker(bind=engine, expire_on_commit=False)

        def make_uow() -> UnitOfWork:
            return UnitOfWork(sessions)

        seeded = seed(make_uow, datetime.now(UTC))
        before = snapshot(make_uow)
        report = run_maintenance(uow=make_uow(), now=seeded.now)
        assert_report_counts(report, seeded)
        assert snapshot(make_uow) == expected_after(before, seeded)
        assert run_maintenance(uow=make_uow(), now=seeded.now).total == 0
    finally:
        engine.dispose()
