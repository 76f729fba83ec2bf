"""Property-based fuzzing of every documented operation (schemathesis) against `autoindex serve`.

Every operation, every schemathesis check, positive and negative data, as an admin and as a read-only
API key: the server does what its OpenAPI document says (statuses, bodies, headers, content types,
valid data accepted, invalid data refused), never answers 500, and sends every error as RFC 9457
problem+json. The server runs over real HTTP on 127.0.0.1, with a database of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_URL, REDIS_URL
from tests.lambda_http import ROOT
from tests.net import free_port

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "mode": "all",  # positive and negative data
            "deterministic": True,  # the same examples every run: a red build is a real regression
            "max-examples": 12,  # per operation and caller: enough to reach every check, a minute or two in all
            "no-shrink": True,
            # The caller's own credentials are sent; generated ones would add a second credential (a 400 by design).
            "with-security-parameters": False,
        },
    }
)
SCHEMA = schemathesis.openapi.from_dict(
    json.loads((ROOT / "functions" / "docs" / "openapi.json").read_text()), config=CONFIG
)
ADMIN_PASSWORD = "Fuzz-admin-password-" + uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`autoindex serve` on its own database (created, migrated, seeded with an admin; dropped after)."""
    name = f"autoindex_fuzz_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False),
        "REDIS_URL": REDIS_URL,  # the session's own Redis database (TEST_REDIS_URL), as every other test
        "RATE_LIMIT_ENABLED": "false",  # fuzzing is about answers, not about budgets
        "HISTORY_START": (datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
        "PORT": str(port),
        "LOG_LEVEL": "ERROR",
    }
    env.pop("RATE_LIMIT_POLICIES", None)
    cli = [sys.executable, "-m", "autoindex_dev.cli"]
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    for args in (["migrate"], ["create-admin", "--email", email, "--password", ADMIN_PASSWORD], ["refresh"]):
        subprocess.run([*cli, *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    log_path = tmp_path_factory.mktemp("fuzz") / "serve.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([*cli, "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        login = httpx.post(f"{base}/v1/auth/login", json={"email": email, "password": ADMIN_PASSWORD}, timeout=30)
        login.raise_for_status()
        token = login.json()["access_token"]
        key = httpx.post(
            f"{base}/v1/auth/api-keys",
            json={"name": "fuzz-read", "scopes": ["read"]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        key.raise_for_status()
        yield {"base_url": base, "token": token, "read_key": key.json()["key"], "log": str(log_path)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        with admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


@schemathesis.check
def problem_json_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error the server sends is RFC 9457 problem+json."""
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
    return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.unsupported_method,
    schemathesis.checks.missing_required_header,
    schemathesis.checks.ignored_auth,
    problem_json_errors,
]


def _admin(server: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {server['token']}"}


def _read_key(server: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": server["read_key"]}


CALLERS: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {"admin": _admin, "read-key": _read_key}


@pytest.fixture(params=sorted(CALLERS))
def caller(request: pytest.FixtureRequest, server: dict[str, str]) -> dict[str, str]:
    return CALLERS[request.param](server)


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case: Any, server: dict[str, str], caller: dict[str, str]) -> None:
    try:
        case.call_and_validate(base_url=server["base_url"], headers=caller, checks=CHECKS)
    except BaseException as exc:
        # The server's own log says why (the client only ever sees a request id).
        tail = open(server["log"], encoding="utf-8", errors="replace").read()[-4000:]  # noqa: SIM115
        raise AssertionError(f"{exc}\n--- autoindex serve log (tail) ---\n{tail}") from exc
