"""The dashboard: ``index.html`` (never cached) and its content-hashed assets (cached for a year).

``make web`` builds ``static/`` from ``web/`` (docs/web.md). The page loads only same-origin files, so
its Content-Security-Policy allows no inline script, no other origin and no framing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from autoindex.web.app import create_app, http_handler
from autoindex.web.problems import problem_response, request_id_of
from fastapi import APIRouter, Request
from fastapi.responses import Response

STATIC = Path(__file__).parent / "static"
ASSET_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\.(js|css)")
MEDIA_TYPES = {"js": "application/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The page's own same-origin POSTs must carry a real Origin header (the cookie routes check it); the
# API's `no-referrer` would make Chromium send `Origin: null` instead.
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "same-origin"}
IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(tags=["web"])


_assets: dict[str, bytes] = {}  # a hashed asset never changes, so one read per warm environment


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _asset(name: str) -> bytes | None:
    if name not in _assets:
        body = _read(STATIC / "assets" / name)
        if body is None:
            return None
        _assets[name] = body
    return _assets[name]


def _not_found(request: Request, detail: str, status: int = 404) -> Response:
    return problem_response(status=status, detail=detail, instance=request.url.path, request_id=request_id_of(request))


@router.api_route("/", methods=["GET", "HEAD"])
def index(request: Request) -> Response:
    """The single page; its routes are fragments (``#/index``), so this is its only document."""
    page = _read(STATIC / "index.html")
    if page is None:
        return _not_found(request, "The dashboard is not built: run `make web`.", status=503)
    return Response(page, media_type="text/html; charset=utf-8", headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})


@router.api_route("/assets/{name}", methods=["GET", "HEAD"])
def asset(name: str, request: Request) -> Response:
    """A content-hashed script or stylesheet: its name changes with its content, so it never goes stale."""
    found = ASSET_NAME.fullmatch(name)
    body = _asset(name) if found else None
    if found is None or body is None:
        return _not_found(request, f"No asset named {name[:80]!r}.")
    return Response(body, media_type=MEDIA_TYPES[found.group(1)], headers={"Cache-Control": IMMUTABLE})


app = create_app([router], title="web", rate_limit_policy=None)
handler: Any = http_handler(app)
