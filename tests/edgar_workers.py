"""Containers asking the fake EDGAR at once, and what SEC's side would count: shared by the pace tests on one
Redis (tests/integration) and on a Redis Cluster (tests/cluster)."""

from __future__ import annotations

from collections.abc import Sequence

from autoindex_dev.fake_edgar import FakeEdgar

from tests.workers import StartGate

EACH = 5  # requests per container
FIRST_CIK = 9_000_000  # CIKs the fake does not know: a small 404 ("no facts"), each container its own


def ask_edgar(gate: StartGate, ciks: Sequence[int]) -> None:
    """One container: the job's EDGAR source as ``source_from_settings`` builds it (a spawn inherits the env)."""
    from autoindex.market.share_counts import source_from_settings

    source = source_from_settings()
    gate.wait_for_start()
    gate.report([source.companyfacts(f"CIK{cik}", cik) for cik in ciks])


def container_ciks(container: int) -> list[int]:
    return [FIRST_CIK + 100 * container + n for n in range(EACH)]


def arrivals(fake: FakeEdgar, ciks: Sequence[int] | None = None) -> list[float]:
    """When the fake received each companyfacts request (of ``ciks`` only, if given), on its own clock."""
    paths = None if ciks is None else {f"/api/xbrl/companyfacts/CIK{cik:010d}.json" for cik in ciks}
    return [at for at, path in fake.requests if paths is None or path in paths]


def busiest_second(times: Sequence[float]) -> int:
    """The most requests that arrived within any one second (each window starts at an arrival)."""
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t - start < 1.0) for i, start in enumerate(ordered))


def ran_together(fake: FakeEdgar, containers: int) -> bool:
    """Every container had asked before any one was done: the race really overlapped."""
    firsts = [min(arrivals(fake, container_ciks(c))) for c in range(containers)]
    lasts = [max(arrivals(fake, container_ciks(c))) for c in range(containers)]
    return max(firsts) < min(lasts)
