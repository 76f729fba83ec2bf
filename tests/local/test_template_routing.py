"""The local runner reads template.yaml and routes like API Gateway."""

from __future__ import annotations

from pathlib import Path

import pytest
from autoindex_dev.template import Route, Template, load_template

from tests.lambda_http import ROOT

TEMPLATE = """
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/auth/
      Handler: app.handler
      Events:
        Any: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/v1/auth/{proxy+}", Method: ANY}}
  ItemFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/item/
      Handler: app.handler
      Environment: {Variables: {X: !Sub "${AWS::Region}"}}
      Events:
        One: {Type: HttpApi, Properties: {Path: "/v1/auth/items/{id}", Method: GET}}
        Me: {Type: HttpApi, Properties: {Path: /v1/auth/me, Method: get}}
  FallbackFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fallback/
      Handler: app.handler
      Events:
        Default: {Type: HttpApi, Properties: {Path: $default, Method: ANY}}
"""


def resolved(template: Template, method: str, path: str) -> tuple[Route, dict[str, str]]:
    found = template.resolve(method, path)
    assert found is not None
    return found


@pytest.fixture
def template(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return load_template(path)


def test_exact_route_beats_parameter_beats_greedy(template: Template) -> None:
    route, params = resolved(template, "GET", "/v1/auth/me")
    assert (route.function, route.route_key, params) == ("ItemFunction", "GET /v1/auth/me", {})
    route, params = resolved(template, "GET", "/v1/auth/items/42")
    assert (route.function, params) == ("ItemFunction", {"id": "42"})
    route, params = resolved(template, "POST", "/v1/auth/items/42")  # wrong method: the greedy ANY route
    assert (route.function, params) == ("AuthFunction", {"proxy": "items/42"})


def test_unmatched_requests_go_to_the_default_route(template: Template) -> None:
    route, params = resolved(template, "GET", "/somewhere/else")
    assert (route.function, route.route_key, params) == ("FallbackFunction", "$default", {})


def test_functions_are_found_by_logical_id_or_short_name(template: Template) -> None:
    assert template.function("auth").logical_id == "AuthFunction"
    assert template.function("FallbackFunction").short_name == "fallback"
    with pytest.raises(KeyError, match="known: auth, fallback, item"):
        template.function("nope")


def test_the_real_template_sends_unmatched_paths_to_a_function() -> None:
    template = load_template(ROOT / "template.yaml")
    resolved = template.resolve("GET", "/no/such/path")
    assert resolved is not None
    route, _ = resolved
    assert route.path == "$default"
    assert template.functions[route.function].code_uri.is_dir()
