"""The dashboard's figures (docs/web.md): its JavaScript size, sign-in to charts drawn, and chart redraws.

- JavaScript: every script `make web` built, gzip-compressed (level 9), summed. Goal: <= 150 KB.
- Sign-in to charts drawn: Chromium (playwright-core, `web/tests/bench.mjs`) against `autoindex serve`
  on the embedded default (like `make run`, in a temporary folder), from the click on "Sign in" to both
  chart groups of the Index page drawn, a fresh browser context each time. Baseline of the same run:
  the same sign-in and API requests made straight from Node (no browser, no page). Goal: <= 1 s absolute.
- The history chart with 2,520 points x 3 series: the first draw, and a pan of 120 steps (one scale
  change per animation frame): each step's time from the change to its draw, against the 16.7 ms
  frame budget (goal: p95 <= 1.0x), and the frames that took over 1.5 budgets (dropped).
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench._common import ROOT, percentile, report

EMAIL, PASSWORD = "bench-reader@example.com", "Quiet-meadow-lantern-58"
FRAME_MS = 1000 / 60


def javascript_kb() -> float:
    scripts = sorted((ROOT / "functions" / "web" / "static" / "assets").glob("*.js"))
    if not scripts:
        raise SystemExit("the dashboard is not built: run `make web`")
    return sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in scripts) / 1024


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "STAGE", "BCRYPT_ROUNDS")}
    env["EMBEDDED_DATABASE_PATH"] = str(folder / "bench.sqlite3")
    cli = [sys.executable, "-m", "autoindex_dev.cli"]
    for step in (["migrate"], ["refresh", "--if-empty"]):
        subprocess.run([*cli, *step], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve"], cwd=ROOT, env={**env, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{base}/v1/auth/register", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30):
        pass
    return server, base


def main() -> int:
    kb = javascript_kb()
    print(f"web JavaScript: {kb:.1f} KB gzip in total (goal <= 150 KB: {'OK' if kb <= 150 else 'OVER GOAL'})")
    print(f"load average before the browser runs: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        server, base = _serve(Path(folder))
        try:
            done = subprocess.run(
                ["node", "web/tests/bench.mjs", "--base", base, "--email", EMAIL, "--password", PASSWORD],
                cwd=ROOT, check=True, capture_output=True, text=True, timeout=400,
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=20)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    sign_in = [ms / 1000 for ms in figures["sign_in_to_charts_ms"]]
    floor = [ms / 1000 for ms in figures["api_floor_ms"]]
    report("sign-in -> Index charts drawn, vs the same requests from Node", sign_in, floor, goal=None)
    median_ms = statistics.median(sign_in) * 1000
    verdict = "OK" if median_ms <= 1000 else "OVER GOAL"
    login_ms = statistics.median(figures["api_login_ms"])
    print(f"  {figures['requests']} API requests; median {median_ms:.0f} ms (goal <= 1000 ms: {verdict})")
    print(f"  of the Node floor, the login alone (bcrypt at BCRYPT_ROUNDS) takes a median {login_ms:.0f} ms")
    chart = figures["chart"]
    draws = [ms / 1000 for ms in chart["draws"]]
    p95 = percentile(draws, 0.95)
    report("history chart pan step (2,520 x 3) p95, vs the 60 Hz frame budget", [p95], [FRAME_MS / 1000], goal=1.0)
    dropped = sum(1 for ms in chart["frames"] if ms > 1.5 * FRAME_MS)
    frames = len(chart["frames"])
    print(f"  first draw {chart['firstDraw']:.1f} ms; {dropped} of {frames} frames over 1.5 budgets while panning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
