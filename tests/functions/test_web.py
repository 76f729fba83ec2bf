"""The web function serves the dashboard: the page never cached, hashed assets cached for good, a strict CSP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from autoindex_dev.loader import load_module

from tests.lambda_http import ROOT, call

PAGE = b'<!doctype html><html><head><script type="module" src="/assets/app-ABC123.js"></script></head></html>'


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The real handler over a static folder of this test's own (the real one is `make web`'s output)."""
    module: ModuleType = load_module(ROOT / "functions" / "web", "app.handler")
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "assets" / "app-ABC123.js").write_bytes(b"console.log('x');" * 200)
    (tmp_path / "assets" / "app-ABC123.css").write_bytes(b"body{color:red}")
    monkeypatch.setattr(module, "STATIC", tmp_path)
    monkeypatch.setattr(module, "_assets", {})
    yield module.handler


def test_the_page_is_revalidated_and_allows_no_inline_script_nor_other_origins(web: Any) -> None:
    page = call(web, "GET", "/")
    assert page.status == 200 and page.body == PAGE
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    csp = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'" and csp["default-src"] == "'none'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert csp["frame-ancestors"] == "'none'"
    # Same-origin requests must carry their Origin (the session routes check it), so not `no-referrer`.
    assert page.headers["referrer-policy"] == "same-origin"


def test_hashed_assets_are_immutable_and_compressed(web: Any) -> None:
    script = call(web, "GET", "/assets/app-ABC123.js", headers={"accept-encoding": "gzip"})
    assert script.status == 200 and script.body.startswith(b"console.log")
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["content-type"].startswith("application/javascript")
    assert script.headers["content-encoding"] == "gzip"
    style = call(web, "GET", "/assets/app-ABC123.css")
    assert style.status == 200 and style.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("path", ["/assets/missing.js", "/assets/..%2Fapp.py", "/assets/app.py", "/assets/a/b.js"])
def test_anything_but_a_built_asset_is_a_problem_404(web: Any, path: str) -> None:
    result = call(web, "GET", path)
    assert result.status == 404
    assert result.headers["content-type"] == "application/problem+json"
    assert b"import" not in result.body


def test_an_unbuilt_dashboard_says_how_to_build_it(web: Any, tmp_path: Path) -> None:
    (tmp_path / "index.html").unlink()
    result = call(web, "GET", "/")
    assert result.status == 503 and "make web" in result.json()["detail"]


def test_head_answers_like_get_without_a_body(web: Any) -> None:
    result = call(web, "HEAD", "/")
    assert result.status == 200 and result.body == b""
