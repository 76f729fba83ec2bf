"""The refresh pipeline end to end through its handlers: plan only what is missing, ingest exactly once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.models import DailyPrice, RefreshBatch, RefreshRun
from autoindex.market.refresh import request_refresh
from autoindex_dev.envelopes import sqs_event, sqs_record
from autoindex_dev.lambda_events import LocalContext, scheduled_event
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.integration.pipeline.handlers import LambdaClock, ingest_context, ingest_handler, refresh_handler
from tests.pipeline_fixtures import RECENT_START, RecordingDispatcher


def run_of(run_id: str | uuid.UUID) -> RefreshRun:
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, uuid.UUID(str(run_id)))
        assert run is not None
        return run


def price_count() -> int:
    with UnitOfWork(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(DailyPrice)) or 0)


def test_scheduled_refresh_fetches_history_once_and_publishes(market: Any, dispatcher: RecordingDispatcher) -> None:
    # Given four active symbols and no prices, when the schedule fires
    result = refresh_handler()(scheduled_event("after-close"), LocalContext(function_name="RefreshFunction"))
    assert dispatcher.drain(60)
    # Then the plan was two batches of two symbols, all written, and one PricesRefreshed went out
    run = run_of(result["run_id"])
    assert (run.status, run.batches_total, run.batches_done) == ("succeeded", 2, 2)
    assert run.rows_written == price_count() > 0
    with UnitOfWork(read_only=True) as uow:
        first = uow.session.scalar(select(func.min(DailyPrice.date)))
    assert first is not None and first >= RECENT_START
    assert [d for d, _ in dispatcher.published] == ["PricesRefreshed"]
    assert dispatcher.published[0][1]["run_id"] == str(run.id)


def test_a_refresh_right_after_a_complete_one_costs_nothing(market: Any, dispatcher: RecordingDispatcher) -> None:
    first = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(60) and run_of(first.run.id).status == "succeeded"
    stored = price_count()
    second = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(60)
    again = run_of(second.run.id)
    assert (again.batches_total, again.rows_written, again.credits_used, again.status) == (0, 0, 0, "succeeded")
    assert price_count() == stored
    assert len(dispatcher.published) == 1  # nothing new, nothing to recompute


def test_a_duplicate_schedule_event_joins_its_run(market: Any, dispatcher: RecordingDispatcher) -> None:
    event = scheduled_event("after-close")
    handler = refresh_handler()
    first = handler(event, LocalContext(function_name="RefreshFunction"))
    assert dispatcher.drain(60)
    duplicate = handler(event, LocalContext(function_name="RefreshFunction"))
    assert duplicate["run_id"] == first["run_id"] and duplicate["joined"] is True
    with UnitOfWork(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(RefreshRun)) == 1


def test_a_second_run_while_one_is_active_joins_it(market: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda queue, payloads: queued.extend(payloads))
    first = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    second = request_refresh(uow=UnitOfWork(), trigger="admin", requested_by="x", idempotency_key=None, meta=None)
    assert (first.joined, second.joined) == (False, True)
    assert second.run.id == first.run.id
    assert len(queued) == first.run.batches_total  # the work was queued once


def test_the_database_refuses_two_active_runs(market: Any) -> None:
    with pytest.raises(IntegrityError), UnitOfWork() as uow:
        for _ in range(2):
            uow.session.add(RefreshRun(id=uuid.uuid4(), trigger="cli", status="queued", errors={}))
            uow.session.flush()


def test_a_duplicate_sqs_message_does_no_duplicate_work(market: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda queue, payloads: queued.extend(payloads))
    published: list[str] = []
    monkeypatch.setattr("autoindex.events.transport.publish", lambda detail_type, detail: published.append(detail_type))
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    body = json.dumps(queued[0])
    handler = ingest_handler()
    first = handler(sqs_event([sqs_record(body, queue_name="ingest")]), ingest_context())
    rows_after_first = price_count()
    again = handler(sqs_event([sqs_record(body, queue_name="ingest")]), ingest_context())
    assert first == again == {"batchItemFailures": []}
    assert price_count() == rows_after_first > 0
    run = run_of(ticket.run.id)
    assert run.batches_done == 1 and run.rows_written == rows_after_first
    with UnitOfWork(read_only=True) as uow:
        batch = uow.session.get(RefreshBatch, (ticket.run.id, 0))
        assert batch is not None and batch.attempts == 1


def test_a_malformed_message_fails_alone(market: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda queue, payloads: queued.extend(payloads))
    monkeypatch.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)
    request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    good = sqs_record(json.dumps(queued[0]), queue_name="ingest")
    bad = sqs_record('{"run_id": "nope"}', queue_name="ingest")
    result = ingest_handler()(sqs_event([good, bad]), ingest_context())
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert price_count() > 0


def test_killing_the_connection_mid_batch_leaves_nothing_and_the_retry_completes(
    market: Any, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from autoindex.market import queries as market_repo
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda queue, payloads: queued.extend(payloads))
    monkeypatch.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    real_upsert = market_repo.upsert_prices
    killer = create_engine(database_url, poolclass=NullPool)

    def upsert_then_die(session: Any, rows: Any, **kwargs: Any) -> int:
        written = real_upsert(session, rows, **kwargs)  # the rows are in the transaction...
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with killer.connect() as other:  # ...when the database connection dies
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return written

    monkeypatch.setattr(market_repo, "upsert_prices", upsert_then_die)
    record = sqs_record(json.dumps(queued[0]), queue_name="ingest")
    # Every record of the delivery failed: Powertools raises, and Lambda returns the whole batch to the queue.
    with pytest.raises(BatchProcessingError, match="All records failed"):
        ingest_handler()(sqs_event([record]), ingest_context())
    assert price_count() == 0
    assert run_of(ticket.run.id).batches_done == 0

    monkeypatch.setattr(market_repo, "upsert_prices", real_upsert)
    retry = sqs_record(json.dumps(queued[0]), queue_name="ingest", receive_count=2)
    assert ingest_handler()(sqs_event([retry]), ingest_context()) == {"batchItemFailures": []}
    assert price_count() > 0 and run_of(ticket.run.id).batches_done == 1


def test_impossible_bars_are_refused_by_the_database_itself(market: Any) -> None:
    from datetime import date
    from decimal import Decimal

    from autoindex.market.models import Asset

    with UnitOfWork(read_only=True) as uow:
        asset_id = uow.session.scalars(select(Asset.id).where(Asset.symbol == "AAPL")).one()
    bad = {"open": Decimal(10), "high": Decimal(9), "low": Decimal(8), "close": Decimal(10), "volume": 1}
    for values in (bad, {**bad, "high": Decimal(11), "low": Decimal(-1)}, {**bad, "high": Decimal(11), "volume": -5}):
        with pytest.raises(DBAPIError, match="ck_daily_prices_ohlc_consistent"), UnitOfWork() as uow:
            uow.session.add(DailyPrice(asset_id=asset_id, date=date(2020, 1, 2), source="test", **values))
    assert price_count() == 0


def test_batches_that_cannot_finish_in_time_go_back_to_the_queue_untouched(
    market: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr("autoindex.events.transport.enqueue", lambda queue, payloads: queued.extend(payloads))
    monkeypatch.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    records = [sqs_record(json.dumps(payload), queue_name="ingest") for payload in queued]
    assert len(records) >= 2
    # A worst-case provider call (3 attempts x 10 s + 8 s backoff) plus the 20 s store margin needs 58 s:
    # the first batch starts with 60 s left, the others find 57 s and go back to the queue.
    clock = LambdaClock([60_000] + [57_000] * (len(records) - 1))
    result = ingest_handler()(sqs_event(records), clock)
    assert result == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records[1:]]}
    with UnitOfWork(read_only=True) as uow:
        batches = [uow.session.get(RefreshBatch, (ticket.run.id, seq)) for seq in range(len(records))]
        assert batches[0] is not None and batches[0].status == "done"
        assert all(b is not None and (b.status, b.attempts) == ("pending", 0) for b in batches[1:])
    rows_first = price_count()
    # The redelivery, with time enough, finishes the run.
    assert ingest_handler()(sqs_event(records[1:]), ingest_context()) == {"batchItemFailures": []}
    assert price_count() > rows_first > 0 and run_of(ticket.run.id).status == "succeeded"
