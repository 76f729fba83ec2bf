"""An error answer stays small whatever the request: bodies are capped before parsing, 422s list a few errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from autoindex.web.app import create_app
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from tests.functions.conftest import Client
from tests.functions.problems import assert_problem

pytestmark = pytest.mark.usefixtures("migrated")

T = TypeVar("T")
ONE_MB_OF_KEYS = {f"k{i:07d}": 1 for i in range(80_000)}  # about 1 MB of JSON, every key unknown to login


def test_a_1_mb_unauthenticated_login_is_a_small_413(auth: Client) -> None:
    payload = json.dumps({"email": "a@example.com", "password": "x" * 12, **ONE_MB_OF_KEYS}).encode()
    assert len(payload) > 1_000_000
    result = auth.post("/v1/auth/login", body=payload, headers={"content-type": "application/json"})
    body = assert_problem(result, 413)
    assert len(result.body) < 1_024
    assert "65536" in body["detail"]


def test_5000_unknown_keys_get_at_most_20_errors_and_the_total(auth: Client) -> None:
    keys = {f"k{i}": 1 for i in range(5_000)}
    result = auth.post("/v1/auth/login", body={"email": "a@example.com", "password": "x" * 12, **keys})
    body = assert_problem(result, 422)
    assert len(body["errors"]) == 20
    assert body["error_count"] == 5_000
    assert len(result.body) < 65_536


def test_a_long_unknown_key_is_clipped_in_the_error(auth: Client) -> None:
    key = "k" * 50_000
    result = auth.post("/v1/auth/login", body={"email": "a@example.com", "password": "x" * 12, key: 1})
    body = assert_problem(result, 422)
    assert body["error_count"] == 1
    assert len(result.body) < 2_048


# --- the cap holds on the bytes that arrive, whatever Content-Length says


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


def _app() -> Any:
    router = APIRouter()

    @router.post("/echo")
    def echo(body: Echo) -> dict[str, int]:
        return {"length": len(body.text)}

    return create_app([router], title="test", rate_limit_policy=None)


async def _send_raw(app: Any, chunks: list[bytes], content_length: int | None) -> tuple[int, dict[str, str], bytes]:
    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    last = len(chunks) - 1
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < last} for i, chunk in enumerate(chunks)
    ]
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if incoming:
            message = incoming.pop(0)
            received += len(message["body"])
            return message
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    response_headers["x-bytes-read"] = str(received)
    return start["status"], response_headers, body


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    # Not asyncio.run: it leaves the main thread without an event loop, which Mangum (used by later tests) needs.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


@pytest.mark.parametrize("declared", [None, 10], ids=["no-content-length", "lying-content-length"])
def test_a_body_over_the_cap_is_a_413_as_it_arrives(fresh_settings: pytest.MonkeyPatch, declared: int | None) -> None:
    fresh_settings.setenv("MAX_BODY_BYTES", "4096")
    app = _app()
    chunks = [b'{"text": "'] + [b"x" * 1_000] * 20 + [b'"}']
    status, headers, body = _run(_send_raw(app, chunks, declared))
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 413
    assert int(headers["x-bytes-read"]) < 6_000  # it stopped reading soon after the cap, not at the end


def test_a_body_under_the_cap_arriving_in_chunks_is_served(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("MAX_BODY_BYTES", "4096")
    status, _, body = _run(_send_raw(_app(), [b'{"text": "', b"x" * 3_000, b'"}'], None))
    assert status == 200
    assert json.loads(body) == {"length": 3_000}
