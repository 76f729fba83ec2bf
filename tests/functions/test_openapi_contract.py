"""The committed OpenAPI document says what the server does: problem+json errors, the real field bounds."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
        assert {"405", "503"} <= errors.keys(), (method, path)
        for code, response in errors.items():
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (
                method,
                path,
                code,
            )
        if operation.get("requestBody"):
            assert {"413", "422"} <= errors.keys(), (method, path)
        assert "Retry-After" in errors["503"]["headers"]


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
