"""One OpenAPI document for the whole HTTP API, merged from every API function's own FastAPI app."""

from __future__ import annotations

import json
from typing import Any

from autoindex import __version__

from autoindex_dev.loader import load_module
from autoindex_dev.template import Template

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def merged_openapi(template: Template) -> dict[str, Any]:
    """Paths and schemas of every function that has routes, in one document (schema names must agree)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for fn in sorted(template.functions.values(), key=lambda f: f.logical_id):
        if not (fn.code_uri / "routes.py").is_file():
            continue
        app = load_module(fn.code_uri, fn.handler).app
        document = app.openapi()
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                operation.setdefault("tags", [fn.short_name])
                operation["x-function"] = fn.logical_id
            paths.setdefault(path, {}).update(operations)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"schema {name!r} differs between functions; give one of them another name")
            schemas[name] = schema
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AutoIndex API",
            "version": __version__,
            "description": "Automated, strategy-weighted investment index. Errors are RFC 9457 problem+json.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearer": []}, {"apiKey": []}],
    }


def render(template: Template) -> str:
    return json.dumps(merged_openapi(template), indent=1, sort_keys=False) + "\n"
