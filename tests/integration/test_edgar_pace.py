"""EDGAR's pace held by every process together (the fake EDGAR over real HTTP, the real Redis): SEC counts
all of our containers as one client, so what must hold is the count per second in the fake's own request log."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.edgar_client import EdgarClient, EdgarOutOfTime
from autoindex.market.models import AssetShareCount
from autoindex.ratelimit.pace import LocalPace, SharedPace
from autoindex_dev.fake_edgar import FakeEdgar
from autoindex_dev.lambda_events import LocalContext, scheduled_event
from redis import Redis
from sqlalchemy import func, select

from tests.conftest import REDIS_URL
from tests.edgar_fixtures import AGENT, edgar_source
from tests.edgar_workers import EACH, arrivals, ask_edgar, busiest_second, container_ciks, ran_together
from tests.lambda_http import function_handler
from tests.workers import race

MAX_RPS = 4
WORKERS = 3


@pytest.fixture
def edgar(market: pytest.MonkeyPatch) -> Iterator[FakeEdgar]:
    """The fake EDGAR as the configured source, at MAX_RPS, with EDGAR's Redis keys this test's own."""
    prefix = f"test-pace-{uuid.uuid4().hex[:10]}"
    with edgar_source(market, prefix, max_rps=MAX_RPS) as server:
        yield server


def _stored_counts() -> int:
    with UnitOfWork(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(AssetShareCount)) or 0)


@pytest.mark.slow
def test_processes_asking_at_once_keep_to_edgar_max_rps_together(edgar: FakeEdgar) -> None:
    # Given three containers (the weekly job, its retry, the CLI), each pacing itself at MAX_RPS, released at once
    outcomes = race(ask_edgar, [(container_ciks(w),) for w in range(WORKERS)], start_at=lambda now: now + 0.2)
    # Then every request was answered (404: no facts, nothing failed)
    assert outcomes == [[None] * EACH] * WORKERS
    seen = arrivals(edgar)
    assert len(seen) == WORKERS * EACH
    # and they really ran together: every one had asked before any one was done
    assert ran_together(edgar, WORKERS)
    # and SEC's side never saw more than MAX_RPS in a second, all three together (each alone would send MAX_RPS)
    assert busiest_second(seen) <= MAX_RPS


@pytest.mark.slow
def test_with_redis_stopped_each_process_keeps_its_own_pace_and_nothing_fails(
    edgar: FakeEdgar, market: pytest.MonkeyPatch, own_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    # Given two containers configured with a Redis that has stopped
    url, server = own_redis
    server.kill()
    server.wait()
    market.setenv("REDIS_URL", url)
    outcomes = race(ask_edgar, [(container_ciks(w),) for w in range(2)], start_at=lambda now: now + 0.2)
    # Then every request was made and answered (the circuit and the pace fail open)
    assert outcomes == [[None] * EACH] * 2
    assert len(arrivals(edgar)) == 2 * EACH
    # and each process still kept MAX_RPS on its own (together they may not: that is what Redis was for)
    for worker in range(2):
        assert busiest_second(arrivals(edgar, container_ciks(worker))) <= MAX_RPS


def test_a_request_whose_slot_is_past_the_deadline_is_not_made(edgar: FakeEdgar) -> None:
    # Given another container that took the next two seconds of slots (the server clock held still)
    key = f"{{{uuid.uuid4().hex}:edgar}}:pace"
    now_ms = 1_710_342_000_000
    theirs = SharedPace(
        Redis.from_url(REDIS_URL), key=key, rps=MAX_RPS, fallback=LocalPace(MAX_RPS), clock_ms=lambda: now_ms
    )
    for _ in range(8):
        theirs.reserve()
    slept: list[float] = []
    ours = SharedPace(
        Redis.from_url(REDIS_URL), key=key, rps=MAX_RPS, fallback=LocalPace(MAX_RPS), clock_ms=lambda: now_ms
    )

    def client(time_left_s: float) -> EdgarClient:
        return EdgarClient(
            base_url=edgar.url, user_agent=AGENT, pace=ours, time_left_s=lambda: time_left_s, sleep=slept.append
        )

    # When our invocation has 21 s left: 1 s to wait, after keeping a request's 20 s timeout
    with pytest.raises(EdgarOutOfTime, match=r"2\.2 s away"):
        client(21.0).companyfacts("AAPL", 320193)
    # Then it neither slept nor asked
    assert slept == [] and edgar.requests == []
    # With room for the wait, the very same slot is had (the refusal reserved nothing)
    assert client(22.5).companyfacts("AAPL", 320193) is not None
    assert slept == [pytest.approx(2.2)] and len(edgar.requests) == 1


def test_the_weekly_job_stops_rather_than_wait_past_its_timeout(edgar: FakeEdgar) -> None:
    # Given EDGAR's pace booked about three seconds ahead by other containers (on the real server clock)
    from autoindex.settings import get_settings

    prefix = get_settings().provider_key_prefix
    others = SharedPace(
        Redis.from_url(REDIS_URL), key=f"{{{prefix}:edgar}}:pace", rps=MAX_RPS, fallback=LocalPace(MAX_RPS)
    )
    for _ in range(12):
        others.reserve()
    handler = function_handler("share_counts")
    stored = _stored_counts()
    # When the job runs with 21 s left (a request's 20 s timeout leaves 1 s to wait)
    with pytest.raises(EdgarOutOfTime):
        handler(scheduled_event(), LocalContext(function_name="share_counts", timeout_s=21))
    # Then it asked SEC nothing and stored nothing (the schedule retries it)
    assert edgar.requests == []
    assert _stored_counts() == stored
    # With its real timeout the same job waits its turn and stores its stocks' counts
    outcome = handler(scheduled_event(), LocalContext(function_name="share_counts", timeout_s=300))
    assert outcome["status"] == "succeeded" and outcome["with_counts"] == 2
    assert len(edgar.requests) == 2
