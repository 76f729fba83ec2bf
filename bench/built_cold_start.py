"""Cold start of each API function from the built artefact (``.aws-sam/build``) on the Lambda runtime's Python.

A fresh process with only the function's code, its own layers and the runtime's boto3 on the path imports the
handler and answers its first event (health: ``GET /health``; the others: an unknown path, answered 404
problem+json by their own app, which needs no database). Baseline: a bare FastAPI + Mangum app built the same
way (its code beside the same shared layer, bytecode compiled). Runs interleave, median of ``--runs``.

Goals (issue 9): health <= 1.3x, index <= 1.5x, auth, admin, market, strategy <= 1.8x.
Run: ``make bench-built`` (after ``make template-check``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from autoindex_dev.cloud.emulator import runtime_site
from autoindex_dev.cloud.lambdas import runtime_python

from bench._common import ROOT

BUILD = ROOT / ".aws-sam" / "build"
GOALS = {"Health": 1.3, "Index": 1.5, "Auth": 1.8, "Admin": 1.8, "Market": 1.8, "Strategy": 1.8}
FUNCTIONS = ["Health", "Index", "Auth", "Admin", "Market", "Strategy", "Docs"]

BARE_APP = """
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
"""

SCRIPT = """
import json, sys
sys.path[0:1] = json.loads(sys.argv[1])
import app
event = {"version": "2.0", "routeKey": "$default", "rawPath": sys.argv[2], "rawQueryString": "", "headers": {},
         "requestContext": {"http": {"method": "GET", "path": sys.argv[2], "protocol": "HTTP/1.1",
         "sourceIp": "127.0.0.1"}, "requestId": "bench", "stage": "$default"}, "isBase64Encoded": False}
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "bench"; function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 10000
result = app.handler(event, Context())
assert result["statusCode"] in (200, 404), result
"""


def _layers(logical_id: str) -> list[str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_layout", ROOT / "infra" / "build_layout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [str(BUILD / layer / "python") for layer in module.function_layers(logical_id)]


def _cold_start_ms(python: str, paths: list[str], path: str, cwd: Path) -> float:
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
    started = time.perf_counter()
    subprocess.run([python, "-c", SCRIPT, json.dumps(paths), path], check=True, env=env, cwd=cwd)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if not (BUILD / "template.yaml").exists():
        raise SystemExit("no build: run make template-check first")
    python = runtime_python()
    site = str(runtime_site(ROOT, python))
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "BareFunction"
        bare.mkdir()
        (bare / "app.py").write_text(BARE_APP)
        # Bytecode as the build has it, for the runtime's interpreter.
        subprocess.run([python, "-m", "compileall", "-q", str(bare)], check=True)
        cases = {"bare": ([str(bare), str(BUILD / "SharedLayer" / "python"), site], "/health")}
        for name in FUNCTIONS:
            logical = f"{name}Function"
            cases[name] = (
                [str(BUILD / logical), *_layers(logical), site],
                "/health" if name == "Health" else "/v1/__bench__",
            )
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for paths, path in cases.values():  # one warm-up each: the page cache, not the interpreter
            _cold_start_ms(python, paths, path, Path(tmp))
        for _ in range(args.runs):
            for name, (paths, path) in cases.items():
                samples[name].append(_cold_start_ms(python, paths, path, Path(tmp)))
    base = statistics.median(samples["bare"])
    print(
        f"cold start from the built artefact, Python 3.13, median of {args.runs} (bare FastAPI+Mangum: {base:.0f} ms)"
    )
    print("| function | median | ratio | goal |")
    print("|---|---|---|---|")
    for name in FUNCTIONS:
        median = statistics.median(samples[name])
        goal = GOALS.get(name)
        verdict = "" if goal is None else (f"<= {goal}x " + ("met" if median / base <= goal else "NOT met"))
        print(f"| {name.lower()} | {median:.0f} ms | {median / base:.2f}x | {verdict} |")


if __name__ == "__main__":
    main()
