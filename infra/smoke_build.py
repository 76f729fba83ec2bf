"""Smoke-test what `sam build` produced, on the Lambda runtime's Python: import each HTTP function's
handler from its built folder with only the built layer on the path, and answer one request.

Run by `make template-check` with the runtime's interpreter (python3.13).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BUILD = Path(".aws-sam/build")


class Context:
    function_name = "smoke"
    memory_limit_in_mb = 256
    aws_request_id = "smoke"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:smoke"
    function_version = "$LATEST"


def main() -> int:
    sys.path[:0] = [str(BUILD / "HealthFunction"), str(BUILD / "SharedLayer" / "python")]
    import app  # the built function's own module, as Lambda imports it

    event = {
        "version": "2.0",
        "routeKey": "GET /health",
        "rawPath": "/health",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "smoke",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    result = app.handler(event, Context())
    body = json.loads(result["body"])
    assert result["statusCode"] == 200 and body["status"] == "ok", result
    assert app.__file__.startswith(str(BUILD.resolve())) or app.__file__.startswith(str(BUILD)), app.__file__
    print(f"built HealthFunction answered on Python {sys.version.split()[0]}: {body}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
