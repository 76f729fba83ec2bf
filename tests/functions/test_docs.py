"""The API reference: the committed merged OpenAPI document is current, and the docs function serves it."""

from __future__ import annotations

import json
import re

import pytest
from autoindex_dev.openapi import render
from autoindex_dev.template import load_template

from tests.lambda_http import ROOT, call, function_handler


def test_committed_openapi_document_is_current() -> None:
    # A route change without `autoindex openapi` fails here, not in front of a client.
    current = (ROOT / "functions" / "docs" / "openapi.json").read_text()
    assert current == render(load_template(ROOT / "template.yaml")), "run `autoindex openapi` and commit the result"


def test_every_http_route_in_the_template_is_documented() -> None:
    document = json.loads((ROOT / "functions" / "docs" / "openapi.json").read_text())
    documented_functions = {op["x-function"] for ops in document["paths"].values() for op in ops.values()}
    template = load_template(ROOT / "template.yaml")
    with_routes = {f.logical_id for f in template.functions.values() if (f.code_uri / "routes.py").is_file()}
    assert documented_functions == with_routes
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"


def test_docs_function_serves_the_document_and_the_ui() -> None:
    handler = function_handler("docs")
    spec = call(handler, "GET", "/docs/openapi.json")
    assert spec.status == 200 and json.loads(spec.body)["info"]["title"] == "AutoIndex API"
    page = call(handler, "GET", "/docs")
    assert page.status == 200 and b"swagger-ui" in page.body
    assert call(handler, "GET", "/v1/assets").headers["content-security-policy"].startswith("default-src 'none'")


@pytest.mark.parametrize("path", ["/docs", "/docs/redoc"])
def test_swagger_ui_and_redoc_load_nothing_from_another_origin(path: str) -> None:
    handler = function_handler("docs")
    page = call(handler, "GET", path)
    assert page.status == 200
    urls = re.findall(rb'(?:src|href)=["\']([^"\']+)', page.body) + re.findall(rb'url: *["\']([^"\']+)', page.body)
    assert urls and all(url.startswith(b"/docs/") for url in urls), urls  # no CDN, no fonts service
    policy = page.headers["content-security-policy"]
    assert "http" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    for url in re.findall(rb'src="(/docs/static/[^"]+)"', page.body):
        asset = call(handler, "GET", url.decode())
        assert asset.status == 200 and len(asset.body) > 100_000, url  # the package's own bundle
        assert asset.headers["content-type"].startswith("text/javascript")
        head = call(handler, "HEAD", url.decode())
        assert head.status == 200 and head.body == b""
    assert call(handler, "GET", "/docs/static/..%2Fconsts.py").status == 404  # only the fixed set of files


def test_head_on_the_docs_answers_like_get_without_a_body() -> None:
    handler = function_handler("docs")
    for path in ("/docs", "/docs/redoc", "/docs/openapi.json"):
        result = call(handler, "HEAD", path)
        assert result.status == 200, path
        assert result.body == b""


def test_allowed_fields_are_enumerated_in_the_schema() -> None:
    document = json.loads((ROOT / "functions" / "docs" / "openapi.json").read_text())
    for path, names in (("/v1/index/history", "value|daily_return|drawdown"), ("/v1/assets/{symbol}/prices", "close")):
        fields = next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "fields")
        assert set(names.split("|")) <= set(fields["schema"]["items"]["enum"])
