"""Cold start of the health function against the floor of a bare FastAPI + Mangum app.

Each sample is a fresh interpreter that imports the handler module the way Lambda does (the
function folder and the layer on sys.path) and answers one API Gateway v2.0 event. The floor
does the same with a one-route FastAPI app behind Mangum. Samples alternate so that machine
noise falls on both alike. Goal: <= 1.3x.
"""

from __future__ import annotations

import os
import sys

from bench._common import ROOT, report, time_fresh_process

EVENT = (
    "{'version': '2.0', 'routeKey': 'GET /health', 'rawPath': '/health', 'rawQueryString': '', 'headers': {},"
    " 'requestContext': {'http': {'method': 'GET', 'path': '/health', 'protocol': 'HTTP/1.1',"
    " 'sourceIp': '127.0.0.1', 'userAgent': 'bench'}, 'requestId': 'bench', 'stage': '$default'},"
    " 'isBase64Encoded': False}"
)

CONTEXT = (
    "type('Ctx', (), {'function_name': 'bench', 'memory_limit_in_mb': 256, 'aws_request_id': 'x',"
    " 'invoked_function_arn': 'arn:aws:lambda:us-east-1:0:function:bench', 'function_version': '$LATEST'})()"
)

FUNCTION = f"""
import sys
sys.path[:0] = ['{ROOT}/functions/health', '{ROOT}/shared']
import app
result = app.handler({EVENT}, {CONTEXT})
assert result['statusCode'] == 200, result
"""

FLOOR = f"""
from fastapi import FastAPI
from mangum import Mangum
bare = FastAPI()

@bare.get('/health')
def live():
    return {{'status': 'ok'}}

result = Mangum(bare, lifespan='off')({EVENT}, {CONTEXT})
assert result['statusCode'] == 200, result
"""


def main(samples: int = 15) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["AWS_LAMBDA_FUNCTION_NAME"] = "bench"
    function, floor = [], []
    time_fresh_process(FUNCTION, env)  # warm the OS file cache for both
    time_fresh_process(FLOOR, env)
    for _ in range(samples):
        function.append(time_fresh_process(FUNCTION, env))
        floor.append(time_fresh_process(FLOOR, env))
    ok = report("cold start, health function vs bare FastAPI+Mangum", function, floor, goal=1.3)
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
