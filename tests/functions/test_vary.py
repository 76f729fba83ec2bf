"""Vary names each request field once, though a route and the gzip middleware both add Accept-Encoding."""

from __future__ import annotations

from typing import Any

from autoindex.web.app import create_app, http_handler
from autoindex.web.etag import conditional_json
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tests.lambda_http import call

BIG = b'{"items": [' + b",".join(b"%d" % i for i in range(2000)) + b"]}"  # past GZIP_MINIMUM_SIZE


def _handler() -> Any:
    router = APIRouter(prefix="/v1/things")

    @router.get("/big")
    def big(request: Request) -> Response:
        return conditional_json(request, BIG, '"big-1"')

    @router.get("/small")
    def small(request: Request) -> Response:
        return conditional_json(request, b"{}", '"small-1"')

    return http_handler(create_app([router], title="test", rate_limit_policy=None))


def test_a_compressed_conditional_answer_names_accept_encoding_once() -> None:
    result = call(_handler(), "GET", "/v1/things/big", headers={"accept-encoding": "gzip"})
    assert result.status == 200
    assert result.headers["content-encoding"] == "gzip"
    assert result.headers["vary"] == "Accept-Encoding"
    assert result.body == BIG


def test_an_uncompressed_and_a_not_modified_answer_still_vary_on_accept_encoding() -> None:
    handler = _handler()
    assert call(handler, "GET", "/v1/things/small", headers={"accept-encoding": "gzip"}).headers["vary"] == (
        "Accept-Encoding"
    )
    not_modified = call(
        handler, "GET", "/v1/things/big", headers={"accept-encoding": "gzip", "if-none-match": '"big-1"'}
    )
    assert not_modified.status == 304
    assert not_modified.headers["vary"] == "Accept-Encoding"
