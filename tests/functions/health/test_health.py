"""The health function through its real Lambda handler."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.lambda_http import call, function_handler


@pytest.fixture(scope="module")
def handler(migrated: Any) -> Any:
    return function_handler("health")


def test_liveness_answers_without_touching_dependencies(handler: Any, fresh_settings: pytest.MonkeyPatch) -> None:
    # Given a database that cannot be reached, liveness still answers: it touches nothing.
    fresh_settings.setenv("DATABASE_URL", "postgresql+pg8000://postgres@127.0.0.1:1/nowhere")
    result = call(handler, "GET", "/health")
    assert result.status == 200
    assert result.json()["status"] == "ok"


def test_readiness_reports_each_dependency_with_latency(handler: Any) -> None:
    result = call(handler, "GET", "/health/ready")
    assert result.status == 200, result.body
    checks = result.json()["checks"]
    assert checks["database"]["status"] == "ok" and checks["database"]["kind"] == "postgresql"
    assert checks["redis"]["status"] == "ok" and checks["redis"]["kind"] == "redis"
    assert all(check["latency_ms"] >= 0 for check in checks.values())
    # Informational checks: reported, never a reason for 503.
    assert checks["provider"] == {**checks["provider"], "kind": "demo", "required": False, "detail": "circuit closed"}
    assert checks["data_freshness"]["required"] is False
    assert (
        checks["data_freshness"]["status"] in ("ok", "degraded")
        and "symbols behind" in checks["data_freshness"]["detail"]
    )


def test_stale_data_is_reported_without_failing_readiness(handler: Any, market: Any) -> None:
    # Given no prices at all (the market fixture empties the table), readiness stays 200 and says so.
    result = call(handler, "GET", "/health/ready")
    assert result.status == 200
    freshness = result.json()["checks"]["data_freshness"]
    assert freshness["status"] == "degraded" and freshness["detail"].startswith("4 of 4 symbols behind")


def test_readiness_is_503_naming_the_unreachable_database(handler: Any, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("DATABASE_URL", "postgresql+pg8000://postgres@127.0.0.1:1/nowhere")
    started = time.monotonic()
    result = call(handler, "GET", "/health/ready")
    assert time.monotonic() - started < 5
    assert result.status == 503
    assert result.headers["content-type"] == "application/problem+json"
    body = result.json()
    assert "database" in body["detail"]
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["redis"]["status"] == "ok"
    assert "127.0.0.1:1" not in result.body.decode()  # no connection details leak


def test_readiness_is_503_when_redis_is_down(handler: Any, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    result = call(handler, "GET", "/health/ready")
    assert result.status == 503
    assert result.json()["checks"]["redis"]["status"] == "down"


@pytest.mark.usefixtures("steady_minute")
def test_health_is_exempt_from_rate_limiting(handler: Any, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("RATE_LIMIT_POLICIES", '{"default": {"limit": 1, "window_s": 60}}')
    statuses = {call(handler, "GET", "/health").status for _ in range(5)}
    assert statuses == {200}


def test_unmatched_paths_reach_the_catch_all_as_problem_json(handler: Any) -> None:
    result = call(handler, "GET", "/v1/does-not-exist")
    assert result.status == 404
    assert result.json()["instance"] == "/v1/does-not-exist"
    wrong_method = call(handler, "POST", "/health")
    assert wrong_method.status == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"
