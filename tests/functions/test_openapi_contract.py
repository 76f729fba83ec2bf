"""The committed OpenAPI document says what the server does: problem+json errors, the real field bounds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.schemas import HISTORY_FIELDS
from autoindex.market.schemas import PRICE_FIELDS
from autoindex.schemas import CLEAN_TEXT_PATTERN
from autoindex.settings import Settings
from autoindex.web.openapi import CURSOR_RULE, RANGE_RULE

from tests.functions.conftest import Account, Client
from tests.lambda_http import ROOT, function_handler

DOCUMENT: dict[str, Any] = json.loads((ROOT / "functions" / "docs" / "openapi.json").read_text())
SCHEMAS = DOCUMENT["components"]["schemas"]
OPERATIONS = [(path, method, op) for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()]


def test_every_error_response_is_one_problem_schema_in_problem_json() -> None:
    assert "HTTPValidationError" not in SCHEMAS
    assert {"type", "title", "status", "detail", "instance", "request_id", "errors"} <= SCHEMAS["Problem"][
        "properties"
    ].keys()
    for path, method, operation in OPERATIONS:
        errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400}
        assert {"405", "413", "503"} <= errors.keys(), (method, path)  # any request may carry too large a body
        for code, response in errors.items():
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (
                method,
                path,
                code,
            )
        if operation.get("requestBody"):
            assert "422" in errors, (method, path)
        assert "Retry-After" in errors["503"]["headers"]
    assert set(SCHEMAS["ProblemError"]["required"]) == {"loc", "msg", "type"}


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/auth/me"), ("POST", "/v1/auth/logout-all")])
def test_the_documented_413_is_what_an_oversized_body_gets(auth: Client, user: Account, method: str, path: str) -> None:
    # Neither operation takes a body; the body limit answers before routing all the same.
    assert "413" in DOCUMENT["paths"][path][method.lower()]["responses"]
    result = auth.request(method, path, headers=user.bearer(), body=b"x" * 70_000)  # over AUTH_MAX_BODY_BYTES
    assert result.status == 413
    assert result.headers["content-type"] == "application/problem+json"


def test_field_bounds_match_validation() -> None:
    assert SCHEMAS["RegisterRequest"]["properties"]["password"]["minLength"] == 12
    expires = SCHEMAS["ApiKeyCreate"]["properties"]["expires_in_days"]["anyOf"][0]
    assert expires["maximum"] == 365
    roi = SCHEMAS["SimulationRead"]["properties"]["roi"]
    assert {"type": "null"} in roi["anyOf"]
    start = next(p for p in DOCUMENT["paths"]["/v1/index/history"]["get"]["parameters"] if p["name"] == "start")
    assert {"type": "string", "format": "date"} in start["schema"]["anyOf"]


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize("start", ["0", "20240101", "1700000000"])
def test_a_number_is_not_a_date(user: Account, start: str) -> None:
    index = Client(function_handler("index"))
    result = index.get("/v1/benchmark/series", query=f"start={start}", headers=user.bearer())
    assert result.status == 422, result.body
    assert result.json()["title"] == "Unprocessable Content"


def _parameter(path: str, method: str, name: str) -> dict[str, Any]:
    parameter: dict[str, Any] = next(p for p in DOCUMENT["paths"][path][method]["parameters"] if p["name"] == name)
    return parameter


def test_rules_a_schema_can_state_are_in_it() -> None:
    # Free text refuses control characters (autoindex.schemas.CleanText): the schema's pattern says so.
    for schema, field in [
        ("LoginRequest", "email"),
        ("RefreshRequest", "refresh_token"),
        ("RebalanceRequestBody", "reason"),
    ]:
        assert SCHEMAS[schema]["properties"][field]["pattern"] == CLEAN_TEXT_PATTERN, (schema, field)
    # Lists that refuse a repeat say `uniqueItems`; the backtest's bound is the default BACKTEST_MAX_ASSETS.
    assert SCHEMAS["ApiKeyCreate"]["properties"]["scopes"]["uniqueItems"] is True
    symbols = SCHEMAS["BacktestCreate"]["properties"]["symbols"]["anyOf"][0]
    assert symbols["uniqueItems"] is True
    assert symbols["maxItems"] == Settings().backtest_max_assets
    # The rolling window takes 30 or 90 only.
    assert _parameter("/v1/strategy/risk-metrics", "get", "window")["schema"]["enum"] == [30, 90]
    # A backtest's strategy names live parameters only, each with its own bounds (no defaults: unnamed ones
    # keep the live values).
    strategy = SCHEMAS["BacktestCreate"]["properties"]["strategy"]
    assert strategy["additionalProperties"] is False
    assert strategy["properties"].keys() == StrategyParams.model_fields.keys()
    assert strategy["properties"]["momentum_lookback_days"] == {
        "type": "integer",
        "minimum": 2,
        "maximum": 1260,
        "description": "Trading days of the momentum window.",
    }
    assert not any("default" in prop for prop in strategy["properties"].values())


def test_refusals_no_schema_can_state_are_documented() -> None:
    # Every keyset list says a cursor it did not issue is a 422; every range read, the two-field bound.
    for path, method, operation in OPERATIONS:
        names = {p["name"] for p in operation.get("parameters", [])}
        description = operation["responses"].get("422", {}).get("description", "")
        assert ("cursor" in names) == (CURSOR_RULE in description), (method, path)
        assert ({"start", "end"} <= names) == (RANGE_RULE in description), (method, path)
    # The rules across fields or stored data: tests/fuzz/test_api_fuzz.py (REFUSALS, documented per operation).


# The series reads whose columns `fields` picks, and the names each serves.
FIELDS = {"/v1/index/history": HISTORY_FIELDS, "/v1/assets/{symbol}/prices": PRICE_FIELDS}


def test_fields_are_an_enumerated_comma_list_a_generated_client_can_use() -> None:
    documented = {
        path: parameter
        for path, _, operation in OPERATIONS
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "fields"
    }
    assert documented.keys() == FIELDS.keys()
    for path, parameter in documented.items():
        # `fields=value,drawdown` is the serialisation of an explode: false form array (OpenAPI 3.1).
        assert (parameter["in"], parameter["style"], parameter["explode"]) == ("query", "form", False), path
        schema = parameter["schema"]
        assert schema["type"] == "array" and schema["items"] == {"type": "string", "enum": list(FIELDS[path])}, path
        assert (schema["minItems"], schema["maxItems"]) == (1, len(FIELDS[path])), path
        keys = _keys(parameter)
        assert "pattern" not in keys and not any(k.startswith("x-") for k in keys), path  # standard OpenAPI only


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for value in node.values() for k in _keys(value)}
    if isinstance(node, list):
        return {k for value in node for k in _keys(value)}
    return set()
