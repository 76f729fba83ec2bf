"""Shared fixtures for the refresh pipeline: a clean market schema, the local runner's dispatcher, recorded events."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.events.ledger import ProcessedEvent
from autoindex.events.transport import use_local_dispatcher
from autoindex.market.ingest import ingest_batch
from autoindex.market.models import (
    Asset,
    AssetDividend,
    AssetShareCount,
    AssetSplit,
    DailyPrice,
    RefreshBatch,
    RefreshRun,
)
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex.market.refresh import request_refresh
from autoindex.settings import get_settings
from autoindex_dev.dispatch import LocalDispatcher
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from autoindex_dev.fake_twelvedata.state import RecordedRequest
from autoindex_dev.runner import Runner
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from tests.conftest import clear_process_caches
from tests.lambda_http import ROOT

RECENT_START = (datetime.now(UTC) - timedelta(days=45)).date()


class RecordingDispatcher(LocalDispatcher):
    """The runner's dispatcher, keeping a copy of every event published."""

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner)
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: dict[str, Any], *, source: str) -> None:
        self.published.append((detail_type, detail))
        super().publish(detail_type, detail, source=source)


_seeded: set[str] = set()


def reset_market(*, keep: set[str] | None = None) -> None:
    """No prices, no runs, no asset a test added; only the ``keep`` symbols active (all seeded ones when None)."""
    from sqlalchemy import select

    with UnitOfWork() as uow:
        if not _seeded:  # the universe the migration seeded, before any test changed it
            _seeded.update(uow.session.scalars(select(Asset.symbol)))
        for model in (RefreshBatch, RefreshRun, DailyPrice, AssetDividend, AssetSplit, AssetShareCount, ProcessedEvent):
            uow.session.execute(delete(model))
        uow.session.execute(delete(Asset).where(Asset.symbol.not_in(_seeded)))
        uow.session.execute(
            update(Asset).values(prices_checked_through=None, splits_checked_through=None, is_active=True)
        )
        if keep is not None:
            uow.session.execute(update(Asset).where(Asset.symbol.not_in(keep)).values(is_active=False))


@pytest.fixture
def market(migrated: Engine, fresh_settings: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A small, recent universe (four symbols, 45 days) so each test's refresh takes milliseconds."""
    fresh_settings.setenv("HISTORY_START", RECENT_START.isoformat())
    fresh_settings.setenv("REFRESH_BATCH_SYMBOLS", "2")
    reset_market(keep={"AAPL", "MSFT", "SPX", "USD/EUR"})
    yield fresh_settings
    reset_market()


@pytest.fixture
def dispatcher(migrated: Engine) -> Iterator[RecordingDispatcher]:
    recording = RecordingDispatcher(Runner.from_file(ROOT / "template.yaml"))
    use_local_dispatcher(recording)
    yield recording
    recording.close()
    use_local_dispatcher(None)


def weekdays_between(start: date, end: date) -> int:
    return sum(1 for i in range((end - start).days + 1) if (start + timedelta(days=i)).weekday() < 5)


def weekdays_before(day: date, count: int) -> date:
    """The weekday ``count`` weekdays before ``day``."""
    while count:
        day -= timedelta(days=1)
        count -= day.weekday() < 5
    return day


@contextmanager
def clocked_fake(
    market: pytest.MonkeyPatch, key: str, *, splits: tuple[str, ...] = ()
) -> Iterator[tuple[FakeTwelveData, list[float]]]:
    """The fake Twelve Data as the pipeline's provider, on a clock the test can move (``offset[0]`` seconds added).

    ``splits`` are the fake's ``--split SYMBOL:YYYY-MM-DD:RATIO`` faults, applied from the start.
    """
    offset = [0.0]
    with FakeTwelveData(api_key=key, credits_per_minute=800, clock=lambda: time.time() + offset[0]) as server:
        market.setenv("MARKET_DATA_PROVIDER", "twelvedata")
        market.setenv("TWELVEDATA_BASE_URL", server.url)
        market.setenv("TWELVEDATA_API_KEY", key)
        market.setenv("PROVIDER_CREDITS_PER_MINUTE", "800")
        market.setenv("PROVIDER_KEY_PREFIX", f"prov-{uuid.uuid4().hex[:8]}")
        if splits:
            server.set_faults(splits=list(splits))
        clear_process_caches()
        yield server, offset
    clear_process_caches()


def asked_adjust(requests: list[RecordedRequest]) -> dict[str, list[str]]:
    """The ``adjust`` of each /time_series call the fake received, by symbol, in the order they were asked."""
    out: dict[str, list[str]] = {}
    for r in requests:
        if r.path == "/time_series":
            for symbol in r.query["symbol"][0].split(","):
                out.setdefault(symbol, []).append(r.query["adjust"][0])
    return out


def credits_charged(requests: list[RecordedRequest]) -> int:
    """What the fake charged for these requests: one credit per symbol of each /time_series call."""
    return sum(len(r.query["symbol"][0].split(",")) for r in requests if r.path == "/time_series")


def last_weekdays(count: int) -> list[date]:
    """The ``count`` weekdays before today, oldest first."""
    out: list[date] = []
    day = datetime.now(UTC).date()
    while len(out) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            out.insert(0, day)
    return out


Refresh = Callable[[date], tuple[RefreshRun, list[RecordedRequest]]]


@contextmanager
def evening_refreshes(
    market: pytest.MonkeyPatch, key: str
) -> Iterator[tuple[FakeTwelveData, TwelveDataProvider, Refresh]]:
    """The fake, a client and the refresh on one clock; ``refresh(day)`` runs a whole refresh that evening.

    22:30 UTC, as the scheduled refresh runs: the day's bar is final and no later ex-date has come. The
    batches are ingested in turn, in this thread; ``refresh`` returns the run and the requests it made.
    """
    at = [datetime.now(UTC)]

    def seconds() -> float:  # read at each request: the test moves ``at``
        return at[0].timestamp()

    with FakeTwelveData(api_key=key, credits_per_minute=800, clock=seconds) as server:
        market.setenv("MARKET_DATA_PROVIDER", "twelvedata")
        market.setenv("TWELVEDATA_BASE_URL", server.url)
        market.setenv("TWELVEDATA_API_KEY", key)
        market.setenv("PROVIDER_CREDITS_PER_MINUTE", "800")
        market.setenv("PROVIDER_KEY_PREFIX", f"prov-{uuid.uuid4().hex[:8]}")
        clear_process_caches()
        provider = TwelveDataProvider.from_settings(get_settings(), clock=lambda: at[0])
        queued: list[dict[str, Any]] = []
        market.setattr("autoindex.events.transport.enqueue", lambda q, payloads: queued.extend(payloads))
        market.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)

        def refresh(day: date) -> tuple[RefreshRun, list[RecordedRequest]]:
            at[0] = datetime.combine(day, clock_time(22, 30), tzinfo=UTC)
            queued.clear()
            asked = len(server.requests)
            ticket = request_refresh(
                uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None, now=at[0]
            )
            for message in queued:
                run_id = uuid.UUID(message["run_id"])
                ingest_batch(run_id=run_id, seq=message["seq"], provider=provider, final_attempt=False, now=at[0])
            with UnitOfWork(read_only=True) as uow:
                run = uow.session.get(RefreshRun, ticket.run.id)
                assert run is not None
                uow.session.expunge(run)
            return run, server.requests[asked:]

        yield server, provider, refresh
        provider.close()
    clear_process_caches()
