"""Cold start of every API function against the floor of a bare FastAPI + Mangum app, in the same run.

Each sample is a fresh interpreter that imports the handler module the way Lambda does (the
function folder and the layer on sys.path) and answers one API Gateway v2.0 event: the health
function its liveness route, every other function a path it does not own (a problem+json 404:
app, middleware, error handling, but no database). The floor does the same with a one-route
FastAPI app behind Mangum. Samples alternate so that machine noise falls on all alike.
Goals: health <= 1.3x (issue 2) and index <= 1.5x (issue 5: NumPy and the ORM load only on the
paths that need them). The other API functions read the database on every real request, so their
first request imports the ORM whatever the init phase does; their ratios are printed for the record.
"""

from __future__ import annotations

import os
import statistics
import sys

from bench._common import ROOT, report, time_fresh_process

CONTEXT = (
    "type('Ctx', (), {'function_name': 'bench', 'memory_limit_in_mb': 256, 'aws_request_id': 'x',"
    " 'invoked_function_arn': 'arn:aws:lambda:us-east-1:0:function:bench', 'function_version': '$LATEST'})()"
)


def _event(path: str) -> str:
    return (
        f"{{'version': '2.0', 'routeKey': '$default', 'rawPath': '{path}', 'rawQueryString': '', 'headers': {{}},"
        f" 'requestContext': {{'http': {{'method': 'GET', 'path': '{path}', 'protocol': 'HTTP/1.1',"
        " 'sourceIp': '127.0.0.1', 'userAgent': 'bench'}, 'requestId': 'bench', 'stage': '$default'},"
        " 'isBase64Encoded': False}"
    )


def _function_code(name: str, path: str, status: int) -> str:
    return f"""
import sys
sys.path[:0] = ['{ROOT}/functions/{name}', '{ROOT}/shared']
import app
result = app.handler({_event(path)}, {CONTEXT})
assert result['statusCode'] == {status}, result
"""


FLOOR = f"""
from fastapi import FastAPI
from mangum import Mangum
bare = FastAPI()

@bare.get('/health')
def live():
    return {{'status': 'ok'}}

result = Mangum(bare, lifespan='off')({_event("/health")}, {CONTEXT})
assert result['statusCode'] == 200, result
"""


GOALS = {"health": 1.3, "index": 1.5}


def _api_functions() -> list[str]:
    return sorted(
        p.name
        for p in (ROOT / "functions").iterdir()
        if (p / "app.py").is_file() and "http_handler" in (p / "app.py").read_text()
    )


def main(samples: int = 11) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["AWS_LAMBDA_FUNCTION_NAME"] = "bench"
    names = _api_functions()
    codes = {
        n: _function_code(n, "/health", 200) if n == "health" else _function_code(n, "/__bench__", 404) for n in names
    }
    for code in (*codes.values(), FLOOR):  # warm the OS file cache
        time_fresh_process(code, env)
    measured: dict[str, list[float]] = {n: [] for n in names}
    floor: list[float] = []
    for _ in range(samples):
        floor.append(time_fresh_process(FLOOR, env))
        for name, code in codes.items():
            measured[name].append(time_fresh_process(code, env))
    ok = True
    base = statistics.median(floor)
    print(f"floor (bare FastAPI + Mangum): median {base * 1000:.0f} ms")
    for name in names:
        ok = report(f"cold start, {name} function vs the floor", measured[name], floor, goal=GOALS.get(name)) and ok
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
