"""Cold start of the index function against the floor of a bare FastAPI + Mangum app.

Each sample is a fresh interpreter that imports the index function the way Lambda does and answers
one API Gateway v2.0 event (an unauthenticated ``GET /v1/index/current``, answered 401 by the
authentication dependency, so no database is needed); it also checks that NumPy was not imported.
The floor does the same with a one-route FastAPI app behind Mangum. Samples alternate. Goal: <= 1.5x.
"""

from __future__ import annotations

import os
import sys

from bench._common import ROOT, report, time_fresh_process
from bench.cold_start import CONTEXT

EVENT = (
    "{'version': '2.0', 'routeKey': 'ANY /v1/index/{proxy+}', 'rawPath': '/v1/index/current', 'rawQueryString': '',"
    " 'headers': {}, 'requestContext': {'http': {'method': 'GET', 'path': '/v1/index/current',"
    " 'protocol': 'HTTP/1.1', 'sourceIp': '127.0.0.1', 'userAgent': 'bench'}, 'requestId': 'bench',"
    " 'stage': '$default'}, 'isBase64Encoded': False}"
)

FUNCTION = f"""
import sys
sys.path[:0] = ['{ROOT}/functions/index', '{ROOT}/shared']
import app
result = app.handler({EVENT}, {CONTEXT})
assert result['statusCode'] == 401, result
assert 'numpy' not in sys.modules
"""

FLOOR = f"""
from fastapi import FastAPI
from mangum import Mangum
bare = FastAPI()

@bare.get('/v1/index/current')
def current():
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
    ok = report("cold start, index function vs bare FastAPI+Mangum", function, floor, goal=1.5)
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
