"""The CSRF defence of the cookie session routes (``/v1/auth/session/*``), the only routes a cookie reaches.

Two checks, both required:

- the header ``X-AutoIndex-CSRF: 1``: an HTML form cannot send a custom header, and a cross-site
  ``fetch`` that does needs a CORS preflight this API never grants with credentials;
- the request comes from this origin: ``Sec-Fetch-Site`` (sent by every current browser) must be
  ``same-origin``, and an ``Origin`` header must name this host. A request with neither is refused.

The cookie's ``SameSite=Strict`` is a third, independent layer. Every other route authenticates by
header only, so a browser's ambient credentials never act on them (docs/security.md).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Header, Request

from autoindex.errors import Forbidden

CSRF_HEADER = "X-AutoIndex-CSRF"


def _same_host(origin: str, host: str) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


CsrfHeader = Annotated[
    str | None,
    Header(alias=CSRF_HEADER, description="Must be `1`: the dashboard's own pages send it (CSRF defence)."),
]
CSRF_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a same-origin request from this site's pages (the CSRF defence)"}
}


async def require_same_origin(request: Request, marker: CsrfHeader = None) -> None:
    """Refuse (403) a cookie-route request that a page of another site could have made."""
    if marker != "1":
        raise Forbidden(f"This route needs the header {CSRF_HEADER}: 1 (it is only for this site's own pages).")
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site is None and origin is None:
        raise Forbidden("A session request must say where it comes from (Origin or Sec-Fetch-Site).")
    if site is not None and site != "same-origin":
        raise Forbidden("Session requests are accepted from this site's own pages only.")
    if origin is not None and not _same_host(origin, request.headers.get("host", "")):
        raise Forbidden("Session requests are accepted from this site's own pages only.")
