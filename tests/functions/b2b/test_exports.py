"""CSV exports equal their JSON exactly; large ones go to S3 (moto) behind a presigned URL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
from autoindex.web import export
from moto import mock_aws

from tests.functions.b2b.backtests import run_backtest
from tests.functions.conftest import Account, Client
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher

CSV = {"Accept": "text/csv"}


@pytest.fixture
def index_api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("index"))


@pytest.fixture
def market_api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("market"))


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def assert_same(csv_rows: list[dict[str, str]], json_rows: list[dict[str, Any]]) -> None:
    """Every cell read back equals the JSON value exactly: numbers as numbers, strings as strings, null as empty."""
    assert len(csv_rows) == len(json_rows) > 0
    for got, want in zip(csv_rows, json_rows, strict=True):
        assert set(got) == set(want)
        for key, value in want.items():
            cell = got[key]
            if value is None:
                assert cell == ""
            elif isinstance(value, float):
                assert float(cell) == value and Decimal(cell) == Decimal(repr(value))
            else:
                assert cell == str(value)


def test_index_history_csv_equals_the_json(index_api: Client, reader: Account) -> None:
    query = "fields=value,daily_return,drawdown"
    as_json = index_api.get("/v1/index/history", query=query, headers=reader.bearer())
    as_csv = index_api.get("/v1/index/history", query=query, headers={**reader.bearer(), **CSV})
    assert as_csv.status == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "index-history.csv" in as_csv.headers["content-disposition"]
    assert as_csv.headers["etag"] != as_json.headers["etag"] and "Accept" in as_csv.headers["vary"]
    rows = _rows(as_csv.body)
    assert list(rows[0]) == ["date", "value", "daily_return", "drawdown"]
    assert_same(rows, as_json.json()["items"])
    again = index_api.get(
        "/v1/index/history", query=query, headers={**reader.bearer(), **CSV, "If-None-Match": as_csv.headers["etag"]}
    )
    assert again.status == 304


def test_if_none_match_star_is_a_304_for_the_csv_as_for_the_json(index_api: Client, reader: Account) -> None:
    # RFC 9110 13.1.2: "*" matches any current representation; the JSON answered 304, the CSV sent the file.
    star = {**reader.bearer(), "If-None-Match": "*"}
    assert index_api.get("/v1/index/allocations", headers=star).status == 304
    assert index_api.get("/v1/index/allocations", headers={**star, **CSV}).status == 304


def test_index_history_csv_columns_are_in_the_order_asked(index_api: Client, reader: Account) -> None:
    # docs/exports.md: "date, then the asked fields in the order given", as the prices export does. A client
    # reading `fields=drawdown,value` by position took the drawdown column for the index level.
    query = "fields=drawdown,value,daily_return&limit=5"
    as_csv = index_api.get("/v1/index/history", query=query, headers={**reader.bearer(), **CSV})
    assert as_csv.body.decode().splitlines()[0] == "date,drawdown,value,daily_return"
    as_json = index_api.get("/v1/index/history", query=query, headers=reader.bearer()).json()
    assert [list(item) for item in as_json["items"]] == [["date", "drawdown", "value", "daily_return"]] * 5
    assert_same(_rows(as_csv.body), as_json["items"])


def test_allocations_csv_equals_the_json(index_api: Client, reader: Account) -> None:
    as_json = index_api.get("/v1/index/allocations", headers=reader.bearer()).json()
    rows = _rows(index_api.get("/v1/index/allocations", headers={**reader.bearer(), **CSV}).body)
    expected = [
        {
            "date": as_json["date"],
            "rebalance_date": as_json["rebalance_date"],
            "rebalance_trigger": as_json["rebalance_trigger"],
            **item,
        }
        for item in as_json["allocations"]
    ]
    assert_same(rows, expected)


def test_prices_csv_keeps_the_exact_decimals(market_api: Client, reader: Account) -> None:
    query = "fields=open,high,low,close,volume&limit=500"
    as_json = market_api.get("/v1/assets/AAPL/prices", query=query, headers=reader.bearer()).json()
    as_csv = market_api.get("/v1/assets/AAPL/prices", query=query, headers={**reader.bearer(), **CSV})
    rows = _rows(as_csv.body)
    assert_same(rows, as_json["items"])
    assert all(isinstance(item["close"], str) for item in as_json["items"])  # decimal strings, as the JSON has them


def test_backtest_series_csv_equals_the_json(b2b: Client, seeded: RecordingDispatcher, user: Account) -> None:
    report = run_backtest(b2b, seeded, user, {"strategy": {"momentum_lookback_days": 20}})
    as_csv = b2b.get(f"/v1/backtests/{report['id']}", headers={**user.bearer(), **CSV})
    assert as_csv.status == 200, as_csv.body
    assert_same(_rows(as_csv.body), report["result"]["series"])


def test_the_json_number_text_is_kept_as_written() -> None:
    body = json.dumps({"items": [{"date": "2026-01-02", "value": 0.1 + 0.2, "n": 3, "close": "187.1200", "x": None}]})
    rows = _rows(export.to_csv(export.items(export.parse(body.encode()))))
    assert rows == [{"date": "2026-01-02", "value": "0.30000000000000004", "n": "3", "close": "187.1200", "x": ""}]


@pytest.fixture
def bucket(fresh_settings: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EXPORT_BUCKET": "autoindex-exports-test",
        "EXPORT_INLINE_MAX_ROWS": "5",
    }.items():
        fresh_settings.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="autoindex-exports-test")
        export.reset_clients()
        yield s3
        export.reset_clients()


def test_a_large_export_is_written_to_s3_and_answered_with_a_presigned_url(
    index_api: Client, reader: Account, bucket: Any
) -> None:
    answer = index_api.get("/v1/index/history", headers={**reader.bearer(), **CSV})
    assert answer.status == 303, answer.body
    location = urlsplit(answer.headers["location"])
    assert location.scheme == "https" and "autoindex-exports-test" in location.netloc + location.path
    signed = parse_qs(location.query)
    assert "X-Amz-Signature" in signed or "Signature" in signed
    key = unquote(location.path).split("autoindex-exports-test/", 1)[-1].lstrip("/")
    stored = bucket.get_object(Bucket="autoindex-exports-test", Key=key)
    assert stored["ContentType"].startswith("text/csv")
    as_json = index_api.get("/v1/index/history", headers=reader.bearer()).json()
    assert_same(_rows(stored["Body"].read()), as_json["items"])
    small = index_api.get("/v1/index/allocations", headers={**reader.bearer(), **CSV})
    assert small.status == 200  # a few rows stay inline


def _next_from_link(link: str) -> tuple[str, str]:
    """(path, query) of a ``Link: <...>; rel="next"`` header."""
    target, rel = link.split(";", 1)
    assert rel.strip() == 'rel="next"'
    parts = urlsplit(target.strip().removeprefix("<").removesuffix(">"))
    return parts.path, parts.query


@pytest.mark.parametrize(
    ("path", "query"),
    [("/v1/index/history", "fields=value&limit=2"), ("/v1/assets/AAPL/prices", "fields=close&limit=2")],
)
def test_a_paged_csv_says_where_the_next_page_is(
    index_api: Client, market_api: Client, reader: Account, path: str, query: str
) -> None:
    api = index_api if path.startswith("/v1/index") else market_api
    first_json = api.get(path, query=query, headers=reader.bearer()).json()
    first = api.get(path, query=query, headers={**reader.bearer(), **CSV})
    assert len(_rows(first.body)) == 2
    assert first.headers["x-next-cursor"] == first_json["next_cursor"]
    next_path, next_query = _next_from_link(first.headers["link"])
    assert next_path == path and parse_qs(next_query)["limit"] == ["2"]
    assert parse_qs(next_query)["cursor"] == [first_json["next_cursor"]]
    second = api.get(next_path, query=next_query, headers={**reader.bearer(), **CSV})
    second_json = api.get(path, query=f"{query}&cursor={first_json['next_cursor']}", headers=reader.bearer()).json()
    assert_same(_rows(second.body), second_json["items"])
    # The last page has no next: no cursor header, no link.
    last = api.get(path, query=query.replace("limit=2", "limit=5000"), headers={**reader.bearer(), **CSV})
    assert "x-next-cursor" not in last.headers and "link" not in last.headers


@pytest.mark.parametrize(
    ("accept", "csv_expected"),
    [
        ("text/csv", True),
        ("text/csv;q=0", False),
        ("text/csv; q=0.0, application/json", False),
        ("application/json, text/csv;q=0.5", False),
        ("application/json;q=0.5, text/csv", True),
        ("TEXT/CSV;charset=utf-8", True),
        ("*/*", False),
    ],
)
def test_accept_weights_choose_between_csv_and_json(
    index_api: Client, reader: Account, accept: str, csv_expected: bool
) -> None:
    answer = index_api.get("/v1/index/history", query="limit=2", headers={**reader.bearer(), "Accept": accept})
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/csv" if csv_expected else "application/json"), accept
