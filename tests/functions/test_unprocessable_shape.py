"""Every 422 has one shape, whoever refused the request: the schema, a rule of the service, or the JSON parser."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.conftest import GOOD_PASSWORD, Account, Client, new_email
from tests.functions.problems import assert_problem
from tests.lambda_http import Result, function_handler
from tests.pipeline_fixtures import RecordingDispatcher

JSON = {"content-type": "application/json"}


def assert_unprocessable(result: Result) -> dict[str, Any]:
    """The one 422 shape: problem+json with ``errors[]`` (loc, msg, type each) and ``error_count``."""
    body = assert_problem(result, 422)
    assert body["type"] == "urn:autoindex:problem:validation-failed"
    assert isinstance(body["errors"], list) and body["errors"], body
    assert body["error_count"] >= len(body["errors"])
    for err in body["errors"]:
        assert set(err) == {"loc", "msg", "type"}, err
        assert isinstance(err["loc"], list) and all(isinstance(part, (str, int)) for part in err["loc"])
        assert isinstance(err["msg"], str) and err["msg"]
        assert isinstance(err["type"], str) and err["type"]
    return body


@pytest.fixture
def index_api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("index"))


def test_every_kind_of_422_has_one_shape(
    auth: Client, index_api: Client, reader: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("API_KEY_MAX_TTL_DAYS", "10")
    start = index_api.get("/v1/index/history", headers=reader.bearer()).json()["items"][1]["date"]
    simulate = {"amount": "100", "currency": "USD", "start_date": start}
    email = new_email()
    refusals = {
        "schema": auth.post("/v1/auth/register", body={"email": "not-an-address", "password": GOOD_PASSWORD}),
        "password rule": auth.post("/v1/auth/register", body={"email": email, "password": f"Aa9-{email}"}),
        "key lifetime rule": auth.post(
            "/v1/auth/api-keys", headers=reader.bearer(), body={"name": "k", "scopes": ["read"], "expires_in_days": 30}
        ),
        "unknown currency": index_api.post(
            "/v1/index/simulate", headers=reader.bearer(), body={**simulate, "currency": "XXX"}
        ),
        "amount finer than cents": index_api.post(
            "/v1/index/simulate", headers=reader.bearer(), body={**simulate, "amount": "0.0000000001"}
        ),
        "date outside the data": index_api.get(
            "/v1/index/allocations", query="date=0001-01-01", headers=reader.bearer()
        ),
        "one-day compare": index_api.get(
            "/v1/benchmark/compare", query=f"start={start}&end={start}", headers=reader.bearer()
        ),
        "forged cursor": index_api.get("/v1/index/history", query="cursor=forged", headers=reader.bearer()),
    }
    shapes = {name: assert_unprocessable(result) for name, result in refusals.items()}
    # A rule naming a field names it as the schema would; one about the whole request has an empty loc.
    assert shapes["password rule"]["errors"][0]["loc"] == ["body", "password"]
    assert shapes["key lifetime rule"]["errors"][0]["loc"] == ["body", "expires_in_days"]
    assert shapes["unknown currency"]["errors"][0]["msg"] == shapes["unknown currency"]["detail"]
    assert shapes["one-day compare"]["error_count"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        b'{"email": "a@example.com", "password": ',  # cut short
        b'{"email": "a\xff\xfe@example.com", "password": "x"}',  # not UTF-8
        b"[" * 30_000 + b"]" * 30_000,  # nested deeper than the parser goes, under the auth body cap (64 KiB)
    ],
    ids=["truncated", "invalid-utf8", "deeply-nested"],
)
def test_a_body_that_is_not_json_is_one_422_json_invalid(auth: Client, payload: bytes) -> None:
    result = auth.post("/v1/auth/login", headers=JSON, body=payload)
    body = assert_unprocessable(result)
    assert [err["type"] for err in body["errors"]] == ["json_invalid"]
    assert body["errors"][0]["loc"][0] == "body"


def test_simulate_amount_takes_only_the_documented_decimal_text(index_api: Client, reader: Account) -> None:
    start = index_api.get("/v1/index/history", headers=reader.bearer()).json()["items"][1]["date"]
    body = {"currency": "USD", "start_date": start}
    for amount in ("1e5", "1E+5", "\u0661\u0660\u0660"):  # exponents, non-ASCII digits: not the pattern
        refused = index_api.post("/v1/index/simulate", headers=reader.bearer(), body={**body, "amount": amount})
        assert assert_unprocessable(refused)["errors"][0]["loc"] == ["body", "amount"], amount
    written_out = index_api.post("/v1/index/simulate", headers=reader.bearer(), body={**body, "amount": "100000"})
    assert written_out.status == 200, written_out.body
    assert written_out.json()["amount"] == "100000.00"
    as_number = index_api.post("/v1/index/simulate", headers=reader.bearer(), body={**body, "amount": 1e5})
    assert as_number.status == 200 and as_number.json()["amount"] == "100000.00"
