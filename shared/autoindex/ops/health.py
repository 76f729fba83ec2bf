"""Readiness: each dependency checked with its latency, and whether the service can work without it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from autoindex.observability import logger

Status = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class DependencyStatus:
    name: str
    status: Status
    required: bool
    latency_ms: float
    kind: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: list[DependencyStatus]

    @property
    def ready(self) -> bool:
        return all(check.status == "ok" for check in self.checks if check.required)

    @property
    def failing(self) -> list[str]:
        return [check.name for check in self.checks if check.status != "ok" and check.required]

    def as_dict(self) -> dict[str, Any]:
        return {check.name: {k: v for k, v in asdict(check).items() if k != "name"} for check in self.checks}


def _timed(name: str, kind: str, required: bool, probe: Any) -> DependencyStatus:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # any failure means "down"; the class name is safe to show, the message may not be
        logger.warning("dependency check failed", extra={"dependency": name}, exc_info=True)
        latency = (time.perf_counter() - started) * 1000
        return DependencyStatus(name, "down", required, round(latency, 2), kind, f"unreachable ({type(exc).__name__})")
    latency = (time.perf_counter() - started) * 1000
    return DependencyStatus(name, "ok", required, round(latency, 2), kind)


def check_database() -> DependencyStatus:
    from sqlalchemy import text

    from autoindex.db.engine import write_engine

    engine = write_engine()

    def probe() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()

    return _timed("database", engine.dialect.name, True, probe)


def check_redis() -> DependencyStatus:
    from autoindex.clients import get_redis

    client = get_redis()
    if client is None:
        return DependencyStatus("redis", "ok", False, 0.0, "in-process", "embedded mode: no Redis configured")
    return _timed("redis", "redis", True, client.ping)


def check_provider() -> DependencyStatus:
    """The market-data provider's circuit: open means refreshes are paused, not that reads fail."""
    from autoindex.market.providers.factory import get_circuit_breaker, get_provider

    started = time.perf_counter()
    try:
        state = str(get_circuit_breaker().state().state)
        name = get_provider().capabilities.name
    except Exception as exc:  # informational: never fails readiness, never leaks the message
        logger.warning("provider check failed", exc_info=True)
        return DependencyStatus("provider", "down", False, 0.0, "provider", f"unknown ({type(exc).__name__})")
    latency = round((time.perf_counter() - started) * 1000, 2)
    status: Status = "ok" if state == "closed" else "degraded"
    return DependencyStatus("provider", status, False, latency, name, f"circuit {state}")


def check_freshness() -> DependencyStatus:
    """Whether every active symbol has its last final session; stale data is reported, not fatal."""
    from autoindex.db.uow import UnitOfWork
    from autoindex.ops.freshness import data_freshness

    started = time.perf_counter()
    try:
        report = data_freshness(uow=UnitOfWork(read_only=True))
    except Exception as exc:
        logger.warning("freshness check failed", exc_info=True)
        return DependencyStatus("data_freshness", "down", False, 0.0, "prices", f"unknown ({type(exc).__name__})")
    latency = round((time.perf_counter() - started) * 1000, 2)
    detail = f"{report.stale_count} of {len(report.items)} symbols behind {report.expected_through.isoformat()}"
    if report.frozen:
        days = report.frozen_feed_days
        detail += f"; frozen feed (close unchanged for {days} trading days): {', '.join(report.frozen)}"
    healthy = report.stale_count == 0 and not report.frozen
    return DependencyStatus("data_freshness", "ok" if healthy else "degraded", False, latency, "prices",
                            detail)  # fmt: skip


def readiness() -> Readiness:
    checks = [check_database(), check_redis()]
    if checks[0].status == "ok":  # freshness reads the database; no point asking a dead one twice
        checks.append(check_freshness())
    checks.append(check_provider())
    return Readiness(checks)
