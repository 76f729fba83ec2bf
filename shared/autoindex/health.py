"""Readiness: each dependency checked with its latency, and whether the service can work without it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from autoindex.observability import logger

Status = Literal["ok", "down"]


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


def readiness() -> Readiness:
    return Readiness([check_database(), check_redis()])
