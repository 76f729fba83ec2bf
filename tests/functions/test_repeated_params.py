"""A single-valued query parameter given twice is a 422 naming it, not the last value used silently."""

from __future__ import annotations

import pytest

from tests.functions.conftest import Account, Client
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher


@pytest.fixture
def index_api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("index"))


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("limit=2&limit=3", "limit"),
        ("fields=value&fields=drawdown", "fields"),
        ("limit=2&start=2024-01-02&limit=2", "limit"),
    ],
)
def test_a_repeated_parameter_is_refused_naming_it(index_api: Client, reader: Account, query: str, name: str) -> None:
    refused = index_api.get("/v1/index/history", query=query, headers=reader.bearer())
    assert refused.status == 422, refused.body
    assert refused.headers["content-type"] == "application/problem+json"
    (error,) = refused.json()["errors"]
    assert error["loc"] == ["query", name] and "once" in error["msg"]


def test_each_parameter_once_is_served(index_api: Client, reader: Account) -> None:
    once = index_api.get("/v1/index/history", query="limit=2&fields=value", headers=reader.bearer())
    assert once.status == 200 and len(once.json()["items"]) == 2


def test_other_reads_refuse_repeats_too(reader: Account, seeded: RecordingDispatcher) -> None:
    strategy = Client(function_handler("strategy"))
    refused = strategy.get("/v1/strategy/config/history", query="limit=1&limit=2", headers=reader.bearer())
    assert refused.status == 422 and refused.json()["errors"][0]["loc"] == ["query", "limit"], refused.body
