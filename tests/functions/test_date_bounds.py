"""Every calendar date a client sends lies within 1900..9998, like every moment, or is a 422 naming it.

A date at datetime's edge breaks date arithmetic (9999-12-31 plus a day overflows: a 500), and no stored
close lies outside those years, so a date there is a client's mistake to name, not a range to search.
"""

from __future__ import annotations

import pytest

from tests.functions.conftest import Account, Client
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher

# (function, method, path, where the date goes, the parameter).
DATED = [
    ("index", "GET", "/v1/index/history", "query", "start"),
    ("index", "GET", "/v1/index/history", "query", "end"),
    ("index", "GET", "/v1/index/rebalances", "query", "end"),
    ("index", "GET", "/v1/index/allocations", "query", "date"),
    ("index", "GET", "/v1/benchmark/series", "query", "start"),
    ("index", "GET", "/v1/benchmark/compare", "query", "end"),
    ("market", "GET", "/v1/assets/AAPL/prices", "query", "end"),
    ("market", "GET", "/v1/assets/AAPL/history", "query", "start"),
    ("index", "POST", "/v1/index/simulate", "body", "start_date"),
    ("index", "POST", "/v1/index/simulate", "body", "end_date"),
    ("b2b", "POST", "/v1/backtests", "body", "end"),
]
OUTSIDE = ["0001-01-01", "1899-12-31", "9999-12-31", "9999-01-01"]


def _request(
    function: str, method: str, path: str, where: str, name: str, day: str, account: Account
) -> tuple[int, bytes]:
    client = Client(function_handler(function))
    if where == "query":
        result = client.get(path, headers=account.bearer(), query=f"{name}={day}")
    else:
        simulation = {"amount": "100", "currency": "USD", "start_date": "1990-01-02"}
        body: dict[str, object] = {**(simulation if "simulate" in path else {}), name: day}
        result = client.request(method, path, headers=account.bearer(), body=body)
    return result.status, result.body


@pytest.mark.parametrize("day", OUTSIDE)
@pytest.mark.parametrize(("function", "method", "path", "where", "name"), DATED)
def test_a_date_outside_1900_to_9998_is_a_422_naming_it(
    function: str,
    method: str,
    path: str,
    where: str,
    name: str,
    day: str,
    reader: Account,
    unlimited: None,
    seeded: RecordingDispatcher,
) -> None:
    status, body = _request(function, method, path, where, name, day, reader)
    assert status == 422, body[:400]
    assert b"between the years 1900 and 9998" in body
    assert name.encode() in body


@pytest.mark.parametrize(
    ("function", "path", "query"),
    [
        ("index", "/v1/index/history", "start=1900-01-01"),
        ("index", "/v1/benchmark/series", "end=9998-12-31"),
        ("market", "/v1/assets/AAPL/prices", "start=1900-01-01&end=1920-01-01"),
    ],
)
def test_the_bounds_themselves_are_served(
    function: str, path: str, query: str, reader: Account, unlimited: None, seeded: RecordingDispatcher
) -> None:
    result = Client(function_handler(function)).get(path, headers=reader.bearer(), query=query)
    assert result.status == 200, result.body[:400]
