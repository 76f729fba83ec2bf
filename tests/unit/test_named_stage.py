"""API Gateway on a named stage keeps ``/<stage>`` in the path: it is taken off before routing, once, for all."""

from __future__ import annotations

import json

from autoindex.web.app import without_stage
from autoindex_dev.lambda_events import LocalContext, http_event

from tests.lambda_http import function_handler


def _on_stage(path: str, stage: str) -> dict[str, object]:
    event = http_event(method="GET", path=path)
    event["requestContext"]["stage"] = stage
    return event


def test_a_named_stage_prefix_is_removed_from_the_path() -> None:
    event = without_stage(_on_stage("/prod/health/ready", "prod"))
    assert event["rawPath"] == "/health/ready" and event["requestContext"]["http"]["path"] == "/health/ready"
    assert without_stage(_on_stage("/prod", "prod"))["rawPath"] == "/"


def test_the_default_stage_and_look_alike_paths_are_left_alone() -> None:
    for event in (_on_stage("/v1/assets", "$default"), _on_stage("/production/x", "prod"), _on_stage("/v1/x", "")):
        assert without_stage(event) == event


def test_the_health_function_answers_on_a_named_stage() -> None:
    # Liveness needs no database: this runs in the unit tier.
    raw = function_handler("health")(_on_stage("/prod/health", "prod"), LocalContext(function_name="health"))
    assert raw["statusCode"] == 200 and json.loads(raw["body"])["status"] == "ok"
