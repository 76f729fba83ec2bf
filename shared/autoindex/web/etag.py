"""Strong ETags from the response bytes, ``If-None-Match`` answered with 304, and ``If-Match`` for writes."""

from __future__ import annotations

import hashlib
from typing import Protocol

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel


class CachedJson(Protocol):
    """A stored JSON body with its ETag, as the index read cache hands it out."""

    @property
    def body(self) -> bytes: ...

    @property
    def etag(self) -> str: ...

    @property
    def hit(self) -> bool: ...


def if_none_match_holds(if_none_match: str, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison) or is ``*`` (RFC 9110 13.1.2: any current representation)."""
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def if_match_holds(if_match: str, etag: str) -> bool:
    """``If-Match`` names ``etag`` by strong comparison or is ``*`` (RFC 9110 13.1.1): a weak tag never matches."""
    candidates = {tag.strip() for tag in if_match.split(",")}
    return "*" in candidates or etag in candidates


def body_etag(body: bytes) -> str:
    """The strong ETag of a body: its SHA-256, 128 bits of it."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def model_etag(model: BaseModel) -> str:
    """The ETag :func:`etag_json` gives ``model``'s representation."""
    return body_etag(model.model_dump_json().encode())


def conditional_json(
    request: Request, body: bytes, etag: str, *, max_age_s: int = 0, headers: dict[str, str] | None = None
) -> Response:
    """``body`` as JSON under ``etag``, or a bodiless 304 when ``If-None-Match`` already holds it."""
    out = {
        "ETag": etag,
        "Cache-Control": f"private, max-age={max_age_s}, must-revalidate",
        "Vary": "Accept-Encoding",
        **(headers or {}),
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and if_none_match_holds(if_none_match, etag):
        return Response(status_code=304, headers=out)
    return Response(content=body, media_type="application/json", headers=out)


def etag_json(request: Request, model: BaseModel, *, max_age_s: int = 0) -> Response:
    """Serialise ``model`` with a strong ETag of its bytes (see :func:`conditional_json`)."""
    body = model.model_dump_json().encode()
    return conditional_json(request, body, body_etag(body), max_age_s=max_age_s)


def cached_json(request: Request, cached: CachedJson) -> Response:
    """A cached body as JSON (``X-Cache: hit`` or ``miss``), or 304 when ``If-None-Match`` holds its ETag."""
    return conditional_json(request, cached.body, cached.etag, headers={"X-Cache": "hit" if cached.hit else "miss"})
