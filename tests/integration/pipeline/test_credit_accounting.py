"""A refresh's credits are what its calls took from the shared budget, counted call by call, whatever happened.

Against the fake Twelve Data over HTTP: a paged whole-history re-fetch, a per-minute 429 waited out, 5xx
retries, and a batch that failed half way all record what the fake's request log shows was asked for.
The budget tests run on a clock that only the calls' own waits move (the fake, the Redis budget and the
client all read it), so a minute turns exactly when the transport waits for it, never by accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.ingest import BatchOutcome, ingest_batch
from autoindex.market.models import RefreshBatch, RefreshRun
from autoindex.market.providers.budget import RedisCreditBudget
from autoindex.market.providers.protocol import ProviderUnavailable
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex.market.refresh import request_refresh
from autoindex.settings import get_settings
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from autoindex_dev.fake_twelvedata.state import RecordedRequest
from redis import Redis
from sqlalchemy import select

from tests.conftest import REDIS_URL, clear_process_caches
from tests.pipeline_fixtures import (
    RecordingDispatcher,
    asked_adjust,
    clocked_fake,
    credits_charged,
    last_weekdays,
    reset_market,
    weekdays_before,
)

KEY = "credits-fake-key-3e9a"


def _run(run_id: uuid.UUID) -> RefreshRun:
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, run_id)
        assert run is not None
        uow.session.expunge(run)
        return run


def _batch_credits(run_id: uuid.UUID) -> list[int]:
    with UnitOfWork(read_only=True) as uow:
        return list(uow.session.scalars(select(RefreshBatch.credits_used).where(RefreshBatch.run_id == run_id)))


def test_a_paged_whole_history_re_fetch_counts_every_page(
    market: pytest.MonkeyPatch, dispatcher: RecordingDispatcher
) -> None:
    # Given a history from 2005 (more sessions than one call's 5,000 bars) stored a week ago, before AAPL's split
    history_start = date(2005, 1, 3)
    split_day = weekdays_before(datetime.now(UTC).date(), 3)
    with clocked_fake(market, KEY, splits=(f"AAPL:{split_day.isoformat()}:10",)) as (fake, offset):
        market.setenv("HISTORY_START", history_start.isoformat())
        reset_market(keep={"AAPL"})
        clear_process_caches()
        offset[0] = -7 * 86_400.0
        first = request_refresh(
            uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None,
            now=datetime.now(UTC) - timedelta(days=7),
        )  # fmt: skip
        assert dispatcher.drain(180) and _run(first.run.id).status == "succeeded"
        # When today's refresh sees the overlap ten times lower and re-fetches the whole history
        offset[0] = 0.0
        mark = len(fake.requests)
        second = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
        assert dispatcher.drain(180)
        asked = fake.requests[mark:]
    run = _run(second.run.id)
    assert run.status == "succeeded" and [r["symbol"] for r in run.revisions] == ["AAPL"], run.errors
    # Then the re-fetch came in two pages per basis (newest 5,000 bars, then the older ones), after the window's
    # adjust=all call and the split-adjusted one the fallen overlap asked for
    assert asked_adjust(asked)["AAPL"] == ["all", "splits", "all", "all", "splits", "splits", "none", "none"]
    # And the run and its batch paid for every one of them, as the fake's log has them (the plan knew of five)
    assert run.credits_used == 8 == credits_charged(asked) == sum(_batch_credits(second.run.id))
    # And the run says why AAPL's dividends took the second call
    assert list(run.dividend_fallbacks) == ["AAPL"] and "fell by a factor" in run.dividend_fallbacks["AAPL"]


@dataclass
class FrozenClock:
    """Time that stands still until a wait moves it: the fake, the budget and the client all read it."""

    at: datetime
    waits: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.at

    def seconds(self) -> float:
        return self.at.timestamp()

    def ms(self) -> int:
        return int(self.at.timestamp() * 1000)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.at += timedelta(seconds=seconds)


@dataclass
class Plan:
    """The Basic plan's 8 credits a minute, at the fake and in the shared Redis budget, on one frozen clock."""

    fake: FakeTwelveData
    clock: FrozenClock
    provider: TwelveDataProvider
    queued: list[dict[str, Any]]

    def request_refresh(self) -> uuid.UUID:
        self.queued.clear()
        ticket = request_refresh(
            uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None, now=self.clock.now()
        )
        return ticket.run.id

    def ingest(self, message: dict[str, Any], *, final_attempt: bool = False) -> BatchOutcome:
        return ingest_batch(run_id=uuid.UUID(message["run_id"]), seq=message["seq"], provider=self.provider,
                            final_attempt=final_attempt, now=self.clock.now())  # fmt: skip

    def spend_elsewhere(self, symbols: list[str]) -> None:
        """Another client on the same key spends credits the shared budget never sees."""
        with httpx.Client(base_url=self.fake.url, trust_env=False, timeout=60) as client:
            got = client.get("/time_series", params={"symbol": ",".join(symbols), "interval": "1day"},
                             headers={"Authorization": f"apikey {KEY}"})  # fmt: skip
        assert got.status_code == 200


@contextmanager
def basic_plan(market: pytest.MonkeyPatch, *, per_day: int = 800) -> Iterator[Plan]:
    """AAPL and MSFT (one batch: their first fill, three calls of two credits) on the Basic plan's minute."""
    yesterday = last_weekdays(1)[0]
    clock = FrozenClock(datetime.combine(yesterday, time(22, 30, 5), tzinfo=UTC))  # well clear of a minute's end
    reset_market(keep={"AAPL", "MSFT"})
    with FakeTwelveData(api_key=KEY, credits_per_minute=8, credits_per_day=per_day, clock=clock.seconds) as fake:
        market.setenv("MARKET_DATA_PROVIDER", "twelvedata")
        market.setenv("TWELVEDATA_BASE_URL", fake.url)
        market.setenv("TWELVEDATA_API_KEY", KEY)
        clear_process_caches()
        redis = Redis.from_url(REDIS_URL)
        budget = RedisCreditBudget(
            redis, minute_limit=8, day_limit=per_day, key_prefix=f"acct-{uuid.uuid4().hex[:8]}", clock_ms=clock.ms
        )
        provider = TwelveDataProvider.from_settings(get_settings(), budget=budget, clock=clock.now, sleep=clock.sleep)
        queued: list[dict[str, Any]] = []
        market.setattr("autoindex.events.transport.enqueue", lambda q, payloads: queued.extend(payloads))
        market.setattr("autoindex.events.transport.publish", lambda detail_type, detail: None)
        try:
            yield Plan(fake=fake, clock=clock, provider=provider, queued=queued)
        finally:
            provider.close()
            redis.close()
    clear_process_caches()


def _time_series(requests: list[RecordedRequest]) -> list[tuple[str, str]]:
    return [(r.query["symbol"][0], r.query["adjust"][0]) for r in requests if r.path == "/time_series"]


def test_a_call_refused_with_a_429_and_asked_again_is_counted_twice(market: pytest.MonkeyPatch) -> None:
    with basic_plan(market) as plan:
        # Given another client on the same key has spent 7 of this minute's 8 credits
        plan.spend_elsewhere(["AAPL", "MSFT", "SPX", "GOOGL", "AMZN", "META", "TSLA"])
        mark = len(plan.fake.requests)
        run_id = plan.request_refresh()
        assert len(plan.queued) == 1
        # When the batch's first call (two credits) gets the provider's per-minute 429 and waits for the next minute
        outcome = plan.ingest(plan.queued[0])
        asked = plan.fake.requests[mark:]
        assert plan.fake.status_count(429) == 1 and len(plan.clock.waits) == 1
        charged_by_fake = plan.fake.credits_used()[1] - 7
    # Then the batch is stored, having asked for the refused call twice (then its other two calls)
    assert outcome.status == "done"
    assert _time_series(asked) == [("AAPL,MSFT", "all"), ("AAPL,MSFT", "all"), ("AAPL,MSFT", "splits"),
                                   ("AAPL,MSFT", "none")]  # fmt: skip
    # And the run and its batch record the four calls' credits the budget reserved, as the fake's log has them:
    # the refused call's too (this fake counts a refusal as nothing, so its own ledger shows two fewer)
    run = _run(run_id)
    assert run.status == "succeeded"
    assert run.credits_used == 8 == credits_charged(asked) == sum(_batch_credits(run_id))
    assert charged_by_fake == 6


def test_calls_retried_after_5xx_and_a_batch_handed_back_keep_what_they_spent(market: pytest.MonkeyPatch) -> None:
    with basic_plan(market) as plan:
        run_id = plan.request_refresh()
        # Given the provider answers 500 to every attempt of the batch's first call (three, the retry limit)
        plan.fake.set_faults(server_errors=3)
        # When that delivery gives up and hands the batch back, and the next delivery stores it
        with pytest.raises(ProviderUnavailable):
            plan.ingest(plan.queued[0])
        spent_first = _run(run_id).credits_used
        assert plan.ingest(plan.queued[0]).status == "done"
        asked = plan.fake.requests
    # Then the run counts the three refused attempts (two credits each, reserved before each) and the three
    # calls of the delivery that stored it: everything the fake's log shows was asked for
    assert spent_first == 6
    run = _run(run_id)
    assert run.status == "succeeded"
    assert run.credits_used == 6 + 6 == credits_charged(asked) == sum(_batch_credits(run_id))


def test_a_batch_that_fails_after_spending_records_what_it_spent(market: pytest.MonkeyPatch) -> None:
    # Given a day of only 4 credits: room for the batch's first two calls, not its third
    with basic_plan(market, per_day=4) as plan:
        run_id = plan.request_refresh()
        # When the batch runs into the day's limit on its third call
        outcome = plan.ingest(plan.queued[0])
        asked = plan.fake.requests
        charged_by_fake = plan.fake.credits_used()[1]
    # Then the batch failed, and it and the run still record the two calls it paid for, as the fake counted them
    assert outcome.status == "failed"
    run = _run(run_id)
    assert run.status == "failed" and "DailyLimitExhausted" in run.errors["AAPL"]
    assert _time_series(asked) == [("AAPL,MSFT", "all"), ("AAPL,MSFT", "splits")]
    assert run.credits_used == 4 == credits_charged(asked) == charged_by_fake == sum(_batch_credits(run_id))
