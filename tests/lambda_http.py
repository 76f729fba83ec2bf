"""Call a Lambda handler the way API Gateway does: a v2.0 event in, a v2.0 result out."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoindex_dev.lambda_events import LocalContext, http_event
from autoindex_dev.loader import load_handler

ROOT = Path(__file__).resolve().parents[1]


def function_handler(name: str) -> Any:
    """The real handler object of functions/<name>/app.py, as Lambda would import it."""
    return load_handler(ROOT / "functions" / name, "app.handler")


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: bytes
    raw: dict[str, Any]

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    handler: Any,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | str | dict[str, Any] | None = None,
    source_ip: str = "198.51.100.7",
) -> Result:
    hdrs = dict(headers or {})
    payload = b""
    if isinstance(body, dict):
        payload = json.dumps(body).encode()
        hdrs.setdefault("content-type", "application/json")
    elif isinstance(body, str):
        payload = body.encode()
    elif isinstance(body, bytes):
        payload = body
    event = http_event(
        method=method, path=path, raw_query=query, headers=list(hdrs.items()), body=payload, source_ip=source_ip
    )
    raw = handler(event, LocalContext(function_name="test"))
    out = base64.b64decode(raw.get("body", "")) if raw.get("isBase64Encoded") else raw.get("body", "").encode()
    response_headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    if response_headers.get("content-encoding") == "gzip":
        out = gzip.decompress(out)
    return Result(status=raw["statusCode"], headers=response_headers, body=out, raw=raw)
