"""CSV exports of the JSON reads: ``Accept: text/csv`` on a read that offers it (docs/exports.md).

The CSV is made from the very JSON body the read would send: numbers are written with the text they
have in the JSON (never re-formatted through a float), decimal strings stay strings, so a CSV round
trip gives the JSON values exactly. An export with more rows than ``EXPORT_INLINE_MAX_ROWS`` is
written to ``EXPORT_BUCKET`` and answered ``303 See Other`` to a presigned URL, when a bucket is set.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from autoindex.settings import get_settings
from autoindex.web.accept import prefers_csv
from autoindex.web.etag import conditional_json, if_none_match_holds

CSV_TYPE = "text/csv; charset=utf-8"
Rows = Callable[[Any], list[dict[str, Any]]]

NEXT_CURSOR_HEADER = "X-Next-Cursor"
# A CSV has no ``next_cursor`` field, so a paged read's next page travels in headers (docs/exports.md).
_PAGING_HEADERS: dict[str, Any] = {
    NEXT_CURSOR_HEADER: {
        "description": "CSV only: the `cursor` of the next page (the JSON body's `next_cursor`); absent on the last.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'CSV only: `<this read with the next cursor>; rel="next"` (RFC 8288); absent on the last page.',
        "schema": {"type": "string"},
    },
}

# Documents the CSV alternative of a read in OpenAPI (merge into a route's ``responses``).
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "headers": _PAGING_HEADERS},
    303: {"description": "A large CSV export: follow Location to a presigned download URL", "headers": _PAGING_HEADERS},
}


class _Number(str):
    """A JSON number kept as the text it was written with."""


def wants_csv(request: Request) -> bool:
    return prefers_csv(request.headers.get("accept", ""))


def paging_headers(request: Request, document: Any) -> dict[str, str]:
    """``X-Next-Cursor`` and a relative ``Link`` to the next page, when the JSON would have had a ``next_cursor``."""
    cursor = document.get("next_cursor") if isinstance(document, dict) else None
    if not cursor:
        return {}
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"] + [("cursor", str(cursor))]
    return {NEXT_CURSOR_HEADER: str(cursor), "Link": f'<{request.url.path}?{urlencode(query)}>; rel="next"'}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """A header of every key (in first-seen order), one line per row; null is an empty cell."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(columns))
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue().encode()


def parse(body: bytes) -> Any:
    """The JSON body with every non-integer number kept as its text."""
    return json.loads(body, parse_float=_Number)


@functools.cache
def _s3_client() -> Any:
    import boto3

    return boto3.client("s3")


def _upload(content: bytes, name: str) -> str:
    settings = get_settings()
    digest = hashlib.sha256(content).hexdigest()
    key = f"exports/{digest[:2]}/{digest}/{name}.csv"  # content-addressed: the same export is one object
    client = _s3_client()
    client.put_object(
        Bucket=settings.export_bucket, Key=key, Body=content, ContentType=CSV_TYPE, ServerSideEncryption="AES256"
    )
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": settings.export_bucket, "Key": key}, ExpiresIn=settings.export_url_ttl_s
    )
    return url


def respond(
    request: Request, body: bytes, etag: str, *, rows: Rows, name: str, headers: dict[str, str] | None = None
) -> Response:
    """The read as JSON, or as CSV when the client asks for it (inline, or 303 to S3 when large)."""
    vary = {"Vary": "Accept, Accept-Encoding"}
    if not wants_csv(request):
        return conditional_json(request, body, etag, headers={**(headers or {}), **vary})
    document = parse(body)
    table = rows(document)
    content = to_csv(table)
    csv_etag = etag[:-1] + '-csv"'
    out = {
        "ETag": csv_etag,
        "Cache-Control": "private, max-age=0, must-revalidate",
        **(headers or {}),
        **paging_headers(request, document),
        **vary,
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and if_none_match_holds(if_none_match, csv_etag):
        return Response(status_code=304, headers=out)
    settings = get_settings()
    if len(table) > settings.export_inline_max_rows and settings.export_bucket:
        return Response(status_code=303, headers={**out, "Location": _upload(content, name)})
    out["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return Response(content=content, media_type=CSV_TYPE, headers=out)


def respond_model(request: Request, body: bytes, *, rows: Rows, name: str) -> Response:
    """:func:`respond` for a body with no ETag of its own (a strong one is made from its bytes)."""
    return respond(request, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', rows=rows, name=name)


def reset_clients() -> None:
    _s3_client.cache_clear()


# --- the rows of each export (docs/exports.md lists their columns)
def items(document: Any) -> list[dict[str, Any]]:
    """``items`` as they are: index history (date and the asked fields), prices (date and the asked columns)."""
    return list(document["items"])


def allocation_rows(document: Any) -> list[dict[str, Any]]:
    """One line per asset of the rebalance in effect on ``date``."""
    return [
        {
            "date": document["date"],
            "rebalance_date": document["rebalance_date"],
            "rebalance_trigger": document["rebalance_trigger"],
            "symbol": item["symbol"],
            "weight": item["weight"],
        }
        for item in document["allocations"]
    ]
