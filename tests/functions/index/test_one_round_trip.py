"""A cached read costs one Redis round trip: principal, rate limits and the read cache's version in one script."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redis.connection import AbstractConnection

from tests.functions.auth.keys import create_key
from tests.functions.conftest import Account, Client
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher


@pytest.fixture
def api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("index"))


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every command (or pipeline) any Redis connection of this process sends, as it goes out."""
    sent: list[Any] = []
    original: Callable[..., None] = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    yield sent


def _cached_read(api: Client, headers: dict[str, str], sends: list[Any]) -> Any:
    for _ in range(2):  # the first read fills the principal cache and the read cache
        assert api.get("/v1/index/history", headers=headers).status == 200
    sends.clear()
    result = api.get("/v1/index/history", headers=headers)
    assert result.status == 200 and result.headers["x-cache"] == "hit"
    return result


def test_a_cached_read_with_a_bearer_token_is_one_round_trip(api: Client, reader: Account, sends: list[Any]) -> None:
    first = _cached_read(api, reader.bearer(), sends)
    assert len(sends) == 1, sends
    again = api.get("/v1/index/history", headers=reader.bearer())
    # The one round trip counted the caller's budget: the remaining count goes down.
    remaining = [int(r.headers["ratelimit"].split("r=")[1].split(";")[0]) for r in (first, again)]
    assert remaining[1] == remaining[0] - 1


def test_a_cached_read_with_an_api_key_is_one_round_trip(
    api: Client, auth: Client, reader: Account, sends: list[Any]
) -> None:
    key = create_key(auth, reader, ["read"])["key"]
    _cached_read(api, {"X-API-Key": key}, sends)
    assert len(sends) == 1, sends


def test_a_logged_out_session_is_refused_on_the_next_cached_read(api: Client, auth: Client, reader: Account) -> None:
    assert api.get("/v1/index/history", headers=reader.bearer()).status == 200
    assert api.get("/v1/index/history", headers=reader.bearer()).status == 200
    assert auth.post("/v1/auth/logout", body={"refresh_token": reader.refresh_token}).status == 204
    assert api.get("/v1/index/history", headers=reader.bearer()).status == 401
