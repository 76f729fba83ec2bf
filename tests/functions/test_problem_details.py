"""Every error a client can get is RFC 9457 problem+json with a request id, through the real Lambda handler."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from autoindex.errors import Conflict
from autoindex.web.app import create_app, http_handler
from fastapi import APIRouter, Query

from tests.functions.problems import assert_problem
from tests.lambda_http import call

SECRET_TEXT = "password=hunter2 at db.internal:5432"


def _handler(**settings_env: str) -> Any:
    router = APIRouter(prefix="/v1/things")

    @router.get("/{thing_id}")
    def read(thing_id: int, limit: int = Query(10, ge=1, le=100)) -> dict[str, int]:
        return {"id": thing_id, "limit": limit}

    @router.post("/boom")
    def boom() -> None:
        raise RuntimeError(SECRET_TEXT)

    @router.post("/conflict")
    def conflict() -> None:
        raise Conflict("That name is taken.")

    @router.get("/big/list")
    def big() -> dict[str, list[int]]:
        return {"items": list(range(2000))}

    return http_handler(create_app([router], title="test", rate_limit_policy=None))


@pytest.fixture
def handler(fresh_settings: pytest.MonkeyPatch) -> Any:
    fresh_settings.setenv("CORS_ALLOW_ORIGINS", "https://app.example.com")
    return _handler()


def test_unknown_path_is_a_404_problem(handler: Any) -> None:
    body = assert_problem(call(handler, "GET", "/v1/nothing-here"), 404)
    assert body["instance"] == "/v1/nothing-here"
    assert body["type"].endswith("not-found")


def test_wrong_method_is_a_405_problem_with_allow(handler: Any) -> None:
    result = call(handler, "DELETE", "/v1/things/3")
    assert_problem(result, 405)
    assert result.headers["allow"] == "GET, HEAD, OPTIONS"  # the local runner's list for its own routes too


def test_options_is_204_with_the_same_allow_and_head_is_served_as_get(handler: Any) -> None:
    options = call(handler, "OPTIONS", "/v1/things/3")
    assert options.status == 204 and options.body == b""
    assert options.headers["allow"] == "GET, HEAD, OPTIONS"
    head, get = call(handler, "HEAD", "/v1/things/3"), call(handler, "GET", "/v1/things/3")
    assert head.status == get.status == 200
    assert head.body == b"" and get.json() == {"id": 3, "limit": 10}


def test_invalid_parameters_are_a_422_problem_listing_each_error(handler: Any) -> None:
    body = assert_problem(call(handler, "GET", "/v1/things/abc", query="limit=1000"), 422)
    locations = {tuple(err["loc"]) for err in body["errors"]}
    assert locations == {("path", "thing_id"), ("query", "limit")}
    assert all("input" not in err for err in body["errors"])  # the rejected value is never echoed


def test_domain_error_keeps_its_status_and_client_message(handler: Any) -> None:
    body = assert_problem(call(handler, "POST", "/v1/things/conflict"), 409)
    assert body["detail"] == "That name is taken."


def test_unhandled_exception_is_a_generic_500_and_the_trace_goes_to_the_log(
    handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        result = call(handler, "POST", "/v1/things/boom", headers={"X-Request-ID": "req-500-check"})
    body = assert_problem(result, 500)
    assert SECRET_TEXT not in result.body.decode()
    assert "RuntimeError" not in result.body.decode() and "Traceback" not in result.body.decode()
    assert body["request_id"] == "req-500-check"
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert logged and SECRET_TEXT in str(logged[0])


def test_request_id_is_echoed_when_safe_and_replaced_when_not(handler: Any) -> None:
    assert (
        call(handler, "GET", "/v1/things/1", headers={"X-Request-ID": "abc.DEF-123"}).headers["x-request-id"]
        == "abc.DEF-123"
    )
    injected = call(handler, "GET", "/v1/things/1", headers={"X-Request-ID": "bad\nid {json}"})
    assert injected.headers["x-request-id"] != "bad\nid {json}"
    # Without one, the API Gateway request id of the event is the correlation id.
    assert len(call(handler, "GET", "/v1/things/1").headers["x-request-id"]) >= 16


def test_security_headers_on_success_and_error(handler: Any) -> None:
    for result in (call(handler, "GET", "/v1/things/1"), call(handler, "GET", "/nope")):
        assert result.headers["x-content-type-options"] == "nosniff"
        assert result.headers["x-frame-options"] == "DENY"
        assert result.headers["referrer-policy"] == "no-referrer"
        assert result.headers["strict-transport-security"].startswith("max-age=")
        assert "default-src 'none'" in result.headers["content-security-policy"]


def test_cors_preflight_allows_only_listed_origins(handler: Any) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = call(handler, "OPTIONS", "/v1/things/1", headers={"Origin": "https://app.example.com", **preflight})
    assert allowed.status == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-credentials" not in allowed.headers
    assert allowed.headers["x-request-id"]
    refused = call(handler, "OPTIONS", "/v1/things/1", headers={"Origin": "https://evil.example", **preflight})
    assert refused.status == 400
    assert "access-control-allow-origin" not in refused.headers


def test_large_responses_are_compressed_for_clients_that_accept_gzip(handler: Any) -> None:
    result = call(handler, "GET", "/v1/things/big/list", headers={"Accept-Encoding": "gzip"})
    assert result.status == 200
    assert result.headers["content-encoding"] == "gzip"
    assert result.raw["isBase64Encoded"] is True
    assert result.json()["items"][-1] == 1999


def test_405_allow_lists_every_route_on_the_path(fresh_settings: pytest.MonkeyPatch) -> None:
    router = APIRouter(prefix="/v1/config")

    @router.get("")
    def read() -> dict[str, int]:
        return {"v": 1}

    @router.put("")
    def write() -> dict[str, int]:
        return {"v": 2}

    app_handler = http_handler(create_app([router], title="test", rate_limit_policy=None))
    result = call(app_handler, "DELETE", "/v1/config")
    assert_problem(result, 405)
    assert result.headers["allow"] == "GET, HEAD, OPTIONS, PUT"
