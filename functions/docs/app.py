"""The API reference: the merged OpenAPI document (built by `autoindex openapi`), Swagger UI and ReDoc.

Swagger UI's and ReDoc's scripts, style and icon are served from the `fastapi-offline` package in the
layer, never from a CDN: the reference works offline and behind a firewall, and its pages keep a
strict Content-Security-Policy (scripts from this origin only, plus each page's one inline start-up
script by its hash).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from autoindex.errors import NotFound
from autoindex.web.app import create_app, http_handler
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

SPEC = (Path(__file__).parent / "openapi.json").read_bytes()
STATIC = "/docs/static"
# The only files served under STATIC (a fixed set: no path from the request reaches the file system).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
router = APIRouter(prefix="/docs", tags=["docs"])


def _with_csp(page: HTMLResponse, *, workers: bool = False) -> HTMLResponse:
    """A strict policy for a page whose only inline script is its start-up code (allowed by hash)."""
    inline = re.findall(rb"<script>(.*?)</script>", page.body, flags=re.DOTALL)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in inline)
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {hashes}; "
        # Both UIs set inline style attributes as they render.
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        f"{'worker-src blob:; ' if workers else ''}frame-ancestors 'none'"
    )
    return page


@router.api_route("/openapi.json", methods=["GET", "HEAD"])
def openapi() -> Response:
    """The merged OpenAPI 3.1 document of every API function."""
    return Response(content=SPEC, media_type="application/vnd.oai.openapi+json")


@router.api_route("", methods=["GET", "HEAD"], response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """Swagger UI over the merged document."""
    page = get_swagger_ui_html(
        openapi_url="/docs/openapi.json",
        title="AutoIndex API",
        swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC}/favicon.png",
    )
    return _with_csp(page)


@router.api_route("/redoc", methods=["GET", "HEAD"], response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    """ReDoc over the merged document."""
    page = get_redoc_html(
        openapi_url="/docs/openapi.json",
        title="AutoIndex API",
        redoc_js_url=f"{STATIC}/redoc.standalone.js",
        redoc_favicon_url=f"{STATIC}/favicon.png",
        with_google_fonts=False,
    )
    return _with_csp(page, workers=True)  # ReDoc searches in a worker it builds from a blob


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def asset(name: str) -> Response:
    """Swagger UI's and ReDoc's own files, from the installed `fastapi-offline` package."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("No such documentation asset.")
    content = files("fastapi_offline").joinpath("static", name).read_bytes()
    return Response(content=content, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


app = create_app([router], title="docs")
handler: Any = http_handler(app)
