"""The API reference: the merged OpenAPI document (built by `autoindex openapi`) and a Swagger UI page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoindex.web.app import create_app, http_handler
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

SPEC = (Path(__file__).parent / "openapi.json").read_bytes()
router = APIRouter(prefix="/docs", tags=["docs"])


@router.api_route("/openapi.json", methods=["GET", "HEAD"])
def openapi() -> Response:
    """The merged OpenAPI 3.1 document of every API function."""
    return Response(content=SPEC, media_type="application/vnd.oai.openapi+json")


@router.api_route("", methods=["GET", "HEAD"], response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """Swagger UI over the merged document."""
    page = get_swagger_ui_html(openapi_url="/docs/openapi.json", title="AutoIndex API")
    # The page loads Swagger UI's script and style from a CDN: only this page relaxes the JSON API's CSP.
    page.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
        "connect-src 'self'; frame-ancestors 'none'"
    )
    return page


app = create_app([router], title="docs")
handler: Any = http_handler(app)
