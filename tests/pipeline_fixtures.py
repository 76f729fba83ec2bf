"""Shared fixtures for the refresh pipeline: a clean market schema, the local runner's dispatcher, recorded events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.events.ledger import ProcessedEvent
from autoindex.events.transport import use_local_dispatcher
from autoindex.market.models import (
    Asset,
    AssetDividend,
    AssetShareCount,
    AssetSplit,
    DailyPrice,
    RefreshBatch,
    RefreshRun,
)
from autoindex_dev.dispatch import LocalDispatcher
from autoindex_dev.runner import Runner
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

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
