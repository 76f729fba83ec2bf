"""A bounded load through the local runner while Redis stops and restarts: no 500, no queue that
outlives the outage, latency back to normal within 5 s of the restart (loopback only, ~70 requests)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import clear_process_caches
from tests.functions.conftest import Account
from tests.net import serving_runner
from tests.pipeline_fixtures import RecordingDispatcher

RATE_PER_S = 5  # under the reader's 120-a-minute budget for the whole test


@dataclass
class Sample:
    sent_at: float
    latency_s: float
    status: int


@pytest.fixture
def runner_base(seeded: RecordingDispatcher) -> Iterator[str]:
    with serving_runner() as base:
        yield base


def _load(base: str, reader: Account, until: float, samples: list[Sample]) -> None:
    """Requests at a fixed rate (paced, never bursting to catch up) until ``until``."""
    with httpx.Client(base_url=base, timeout=30) as client:
        next_at = time.monotonic()
        while next_at < until:
            time.sleep(max(0.0, next_at - time.monotonic()))
            sent = time.monotonic()
            answer = client.get("/v1/index/history", headers=reader.bearer())
            samples.append(Sample(sent, time.monotonic() - sent, answer.status_code))
            next_at += 1 / RATE_PER_S


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def test_latency_is_back_to_normal_within_5_s_of_a_redis_restart(
    runner_base: str, reader: Account, own_redis: tuple[str, Any], fresh_settings: pytest.MonkeyPatch
) -> None:
    url, proc = own_redis
    port = url.rsplit(":", 1)[1].split("/")[0]
    fresh_settings.setenv("REDIS_URL", url)
    clear_process_caches()
    samples: list[Sample] = []
    restarted: list[subprocess.Popen[bytes]] = []
    start = time.monotonic()
    outage_at, restart_at, end_at = start + 3, start + 6, start + 13
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(_load, runner_base, reader, end_at, samples)
        time.sleep(max(0.0, outage_at - time.monotonic()))
        proc.kill()
        proc.wait()
        time.sleep(max(0.0, restart_at - time.monotonic()))
        restarted.append(
            subprocess.Popen(
                ["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )
        restart_at = time.monotonic()
    try:
        baseline = [s.latency_s for s in samples if s.sent_at < outage_at and s.status == 200]
        recovered = [s for s in samples if s.sent_at >= restart_at + 5]
        assert all(s.status in (200, 503) for s in samples), sorted({s.status for s in samples})
        assert len(baseline) >= 5 and len(recovered) >= 5
        assert all(s.status == 200 for s in recovered)
        normal = max(3 * _p95(baseline), 0.25)  # generous: the machine is shared and loaded
        assert _p95([s.latency_s for s in recovered]) <= normal, (_p95(baseline), [s.latency_s for s in recovered])
    finally:
        for extra in restarted:
            extra.kill()
            extra.wait()
