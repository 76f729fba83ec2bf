"""The shape every error response shares: RFC 9457 problem+json carrying the request id."""

from __future__ import annotations

from typing import Any

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(result: Any, status: int) -> dict[str, Any]:
    assert result.status == status
    assert result.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = result.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["request_id"] == result.headers["x-request-id"]
    return body
