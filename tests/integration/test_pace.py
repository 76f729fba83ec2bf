"""The pace shared through Redis (``ratelimit.pace``): its rule on a clock the test holds, one pace for every
client, deadlines that reserve nothing, and the fallback to a process's own pace when Redis is gone."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from autoindex.ratelimit.pace import LocalPace, Pace, SharedPace, SlotTooFar
from redis import Redis

from tests.conftest import REDIS_URL

T0_MS = 1_710_342_000_000  # 2024-03-13 15:00 UTC: the server clock the shared pace is told it is


class Clock:
    """One instant for both kinds of pace: milliseconds for the script, seconds for the process's own."""

    def __init__(self) -> None:
        self.ms = T0_MS

    def server_ms(self) -> int:
        return self.ms

    def local_s(self) -> float:
        return self.ms / 1000


def _key() -> str:
    return f"{{test-pace-{uuid.uuid4().hex[:10]}:edgar}}:pace"


def _paces(kind: str, rps: float, clock: Clock, copies: int) -> list[Pace]:
    """``copies`` handles on one pace: separate Redis connections (as separate processes have), or one process's."""
    if kind == "local":
        local = LocalPace(rps, clock=clock.local_s)
        return [local] * copies
    key = _key()
    return [
        SharedPace(
            Redis.from_url(REDIS_URL),
            key=key,
            rps=rps,
            fallback=LocalPace(rps, clock=clock.local_s),
            clock_ms=clock.server_ms,
        )
        for _ in range(copies)
    ]


@pytest.mark.parametrize("kind", ["redis", "local"])
def test_slots_are_spaced_and_no_second_holds_more_than_the_rate(kind: str) -> None:
    # Given four requests a second, asked for nine times at one instant, alternately by two clients
    clock = Clock()
    first, second = _paces(kind, 4.0, clock, copies=2)
    waits = [(first if n % 2 == 0 else second).reserve() for n in range(9)]
    # Then slots come a quarter second apart, and the fifth waits for the first's second plus the 0.1 s margin:
    # an arrival up to 0.1 s late (a loaded machine) still leaves four in every second at SEC
    assert waits == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.1, 1.35, 1.6, 1.85, 2.2])
    # and time that passed is not owed: a quiet pace serves at once
    clock.ms += 10_000
    assert first.reserve() == 0.0 and second.reserve() == pytest.approx(0.25)


@pytest.mark.parametrize("kind", ["redis", "local"])
def test_a_fractional_rate_is_never_more_than_its_whole_part_in_a_second(kind: str) -> None:
    clock = Clock()
    (pace,) = _paces(kind, 2.5, clock, copies=1)
    slots = [pace.reserve() for _ in range(6)]
    # 0.4 s apart, but a third slot inside one second would be 3 > 2.5: it waits for the window
    assert slots == pytest.approx([0.0, 0.4, 1.1, 1.5, 2.2, 2.6])


@pytest.mark.parametrize("kind", ["redis", "local"])
def test_a_slot_past_the_deadline_is_refused_and_not_reserved(kind: str) -> None:
    clock = Clock()
    mine, theirs = _paces(kind, 4.0, clock, copies=2)
    assert [theirs.reserve() for _ in range(3)] == pytest.approx([0.0, 0.25, 0.5])
    with pytest.raises(SlotTooFar) as refused:
        mine.reserve(max_wait_s=0.6)
    assert refused.value.wait_s == pytest.approx(0.75)
    # The refusal took nothing: the next caller gets that very slot
    assert theirs.reserve(max_wait_s=0.75) == pytest.approx(0.75)


def test_the_pace_key_must_be_hash_tagged() -> None:
    with pytest.raises(ValueError, match="hash tag"):
        SharedPace(Redis.from_url(REDIS_URL), key="edgar:pace", rps=8.0, fallback=LocalPace(8.0))


def test_with_redis_gone_the_pace_falls_back_to_this_processs_own_and_keeps_its_slots(
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    # Given a process that took two slots from the shared pace
    url, server = own_redis
    clock = Clock()
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    pace = SharedPace(
        client, key=_key(), rps=4.0, fallback=LocalPace(4.0, clock=clock.local_s), clock_ms=clock.server_ms
    )
    assert [pace.reserve(), pace.reserve()] == pytest.approx([0.0, 0.25])
    # When Redis goes away mid-run
    server.kill()
    server.wait()
    # Then the pace goes on in this process, after the slots it already had (never two requests back to back),
    # and nothing fails
    assert [pace.reserve(), pace.reserve(), pace.reserve()] == pytest.approx([0.5, 0.75, 1.1])
    with pytest.raises(SlotTooFar):  # the deadline still holds without Redis
        pace.reserve(max_wait_s=1.0)
    client.close()
