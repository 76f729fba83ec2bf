"""``make cloud-check``: the built artefacts, deployed into an emulated AWS, run the whole chain.

schedule -> refresh -> SQS -> ingest -> PricesRefreshed -> compute -> IndexComputed -> warm -> a cached read over
HTTP, with ``EVENT_TRANSPORT=aws`` through moto's SQS and EventBridge. Fails on any function error, any overrun
of a Timeout, any message left in a dead-letter queue, or a chain that does not finish.

``autoindex serve --built`` starts the same emulated AWS and serves its HTTP API for a person (:func:`serve`).
Needs: ``make template-check`` first (the build), PostgreSQL at TEST_DATABASE_URL, Redis at TEST_REDIS_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autoindex_dev.cloud.emulator import Cloud, runtime_site, start, wait_until
from autoindex_dev.cloud.lambdas import runtime_python
from autoindex_dev.runner import Runner
from autoindex_dev.runner import serve as serve_http
from autoindex_dev.template import load_template

ROOT = Path(__file__).resolve().parents[3]
CHAIN_TIMEOUT_S = 900


class BuiltRunner(Runner):
    """The local runner's API Gateway routing, with every function answered by its built artefact's process."""

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(load_template(cloud.root / "template.yaml"))
        self.cloud = cloud

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.cloud.invoke(function, event)

    def invoke_here(self, function: str, event: dict[str, Any]) -> Any:
        return self.cloud.invoke(function, event)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _database(admin_url: str) -> Iterator[dict[str, Any]]:
    """A database of its own for this run, as an RDS-format secret; dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    name = f"autoindex_cloud_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url)
    try:
        yield {
            "engine": "postgres",
            "username": url.username or "postgres",
            "password": url.password or "unused-with-trust-auth",
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "dbname": name,
        }
    finally:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def emulated(port: int, log: Any) -> Iterator[Cloud]:
    """moto with the stack deployed and the functions wired, on a database of its own."""
    python = runtime_python()
    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    with _database(admin_url) as secret:
        arns: dict[str, str] = {}

        def prepare(client: Any) -> None:
            secrets = client("secretsmanager")
            for key, value in {
                "database": json.dumps(secret),
                "jwt": uuid.uuid4().hex + uuid.uuid4().hex,
                "pepper": uuid.uuid4().hex + uuid.uuid4().hex,
            }.items():
                arns[key] = secrets.create_secret(Name=f"autoindex-{key}", SecretString=value)["ARN"]
            parameters.update(
                DatabaseSecretArn=arns["database"],
                JwtSigningKeySecretArn=arns["jwt"],
                ApiKeyPepperSecretArn=arns["pepper"],
            )

        # The secrets' ARNs exist only once moto runs: prepare adds them before the transform and the deploy.
        parameters = {"Stage": "cloud", "MarketDataProvider": "demo", "RedisEndpoint": "127.0.0.1:6379"}
        cloud = start(
            root=ROOT,
            sam=ROOT / ".venv-sam" / "bin" / "sam",
            python=python,
            port=port,
            parameters=parameters,
            overrides={"REDIS_URL": redis_url, "DB_SSL": "false"},
            runtime_site=runtime_site(ROOT, python),
            log=log,
            prepare=prepare,
        )
        try:
            yield cloud
        finally:
            cloud.close()


def _http(
    base: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - 127.0.0.1 only
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers.items()), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), json.loads(error.read() or b"null")


def _chain(cloud: Cloud, base: str) -> list[str]:
    """Run the chain; the failures, if any."""
    failures: list[str] = []
    migrated = cloud.invoke("MigrateFunction", {})
    print(f"cloud-check: migrate function -> {migrated}", flush=True)
    refresh = next(k for k, s in cloud.schedules.items() if s["function"] == "RefreshFunction")
    schedule = cloud.schedules[refresh]
    print(f"cloud-check: firing schedule {refresh} ({schedule['expression']} {schedule['timezone']})", flush=True)
    print(f"cloud-check: refresh -> {cloud.fire_schedule(refresh)}", flush=True)

    def settled() -> bool:
        ran = Counter(i.function for i in cloud.invocations)
        if cloud.problems:
            return True
        return bool(ran["CacheWarmFunction"]) and not any(
            depth for name, depth in cloud.depth().items() if "dlq" not in name
        )

    if not wait_until(settled, timeout_s=CHAIN_TIMEOUT_S, every_s=2):
        failures.append(f"the chain did not finish within {CHAIN_TIMEOUT_S} s: queues {cloud.depth()}")
    if cloud.problems:
        return failures + cloud.problems
    email = f"cloud-{uuid.uuid4().hex[:8]}@example.com"
    password = f"cloud {uuid.uuid4().hex} check"
    status, _, _ = _http(base, "POST", "/v1/auth/register", {"email": email, "password": password})
    if status != 202:
        failures.append(f"register answered {status}")
    status, _, login = _http(base, "POST", "/v1/auth/login", {"email": email, "password": password})
    if status != 200:
        return [*failures, f"login answered {status}: {login}"]
    status, headers, current = _http(base, "GET", "/v1/index/current", token=login["access_token"])
    cache = {k.lower(): v for k, v in headers.items()}.get("x-cache")
    print(f"cloud-check: GET /v1/index/current -> {status}, X-Cache: {cache}", flush=True)
    if status != 200:
        failures.append(f"/v1/index/current answered {status}: {current}")
    elif cache != "hit":
        failures.append(f"/v1/index/current was not served from the cache the warm job built (X-Cache: {cache})")
    dead = {name: depth for name, depth in cloud.depth().items() if "dlq" in name and depth}
    if dead:
        failures.append(f"dead letters: {dead}")
    return failures + cloud.problems


def _summary(cloud: Cloud) -> None:
    by_function: dict[str, list[Any]] = {}
    for invocation in cloud.invocations:
        by_function.setdefault(invocation.function, []).append(invocation)
    for function, calls in sorted(by_function.items()):
        cold = [c.init_ms for c in calls if c.init_ms]
        slowest = max(c.duration_ms for c in calls)
        timeout = cloud.functions[function].timeout_s
        print(
            f"  {function}: {len(calls)} invocations, {len(cold)} cold (init {max(cold, default=0):.0f} ms), "
            f"slowest {slowest / 1000:.1f} s of its {timeout} s Timeout"
        )


def check(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cloud-check")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("CLOUD_CHECK_MOTO_PORT", "0")))
    parser.add_argument("--log", default=str(ROOT / ".aws-sam" / "cloud" / "functions.log"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    with open(args.log, "w") as log, emulated(args.moto_port or _free_port(), log) as cloud:
        print(
            f"cloud-check: stack deployed in moto at {cloud.endpoint} ({time.monotonic() - started:.0f} s)", flush=True
        )
        server = serve_http(BuiltRunner(cloud), port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            failures = _chain(cloud, f"http://127.0.0.1:{server.server_address[1]}")
        finally:
            server.shutdown()
        _summary(cloud)
    elapsed = time.monotonic() - started
    if failures:
        for failure in failures:
            print(f"cloud-check: FAILED: {failure}", file=sys.stderr)
        print(f"cloud-check: the functions' logs are in {args.log}", file=sys.stderr)
        return 1
    print(f"cloud-check: the whole chain passed on the built artefacts in {elapsed:.0f} s")
    return 0


def serve(port: int, moto_port: int = 0) -> int:
    """``autoindex serve --built``: the emulated AWS, its HTTP API on 127.0.0.1:port, until Ctrl-C."""
    with emulated(moto_port or _free_port(), sys.stderr) as cloud:
        print(f"built artefacts deployed in moto at {cloud.endpoint}; migrating, then a first refresh", file=sys.stderr)
        cloud.invoke("MigrateFunction", {})
        # A fresh database each time: the refresh schedule fires once now, and the chain fills it as in AWS.
        cloud.fire_schedule(next(k for k, s in cloud.schedules.items() if s["function"] == "RefreshFunction"))
        server = serve_http(BuiltRunner(cloud), port=port)
        print(f"serving the built functions on http://127.0.0.1:{port} (Ctrl-C stops)", file=sys.stderr)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(check())
