"""Property-based fuzzing of every documented operation (schemathesis) against `autoindex serve`.

Every operation, every schemathesis check, positive and negative data, as an admin and as a read-only
API key: the server does what its OpenAPI document says (statuses, bodies, headers, content types,
valid data accepted, invalid data refused), never answers 500, and sends every error as RFC 9457
problem+json. The server runs over real HTTP on 127.0.0.1, with a database of its own.

Schema-valid data is accepted (2xx, or an auth, not-found, conflict or rate-limit answer) except where a rule
cannot be written in OpenAPI: a cursor the list never issued, a bound across two fields, data that must exist.
Those refusals are listed per operation in REFUSALS, stated in that operation's documented response, and a
refused valid request must name one of them (docs/architecture.md, "Refusals the schema cannot state").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from tests.net import free_port, wait_until_serving


@dataclass(frozen=True)
class Refusal:
    """A refusal of schema-valid data for a rule OpenAPI cannot state; the operation's response documents it."""

    status: int
    says: str  # a regular expression the problem's detail, or each of its errors' msg, matches
    documented: str  # words of the operation's response description for `status` that state the rule


# Opaque keyset cursors (autoindex.pagination): only a `next_cursor` the list returned is valid, and no schema
# can tell a value the server issued from one it did not.
CURSOR = Refusal(422, r"^The cursor is not valid; start again without it\.$", "A `cursor` is opaque")
# `start` <= `end`, a span of at most INDEX_MAX_RANGE_DAYS: a bound across two fields (schemas.check_range).
RANGE = Refusal(422, r"start must not be after end|the date range may span at most \d+ days", "`start` after `end`")
# A range or date wholly outside the stored index, or too short to measure: depends on the data, not the request.
INDEX_DATES = Refusal(
    422,
    r"outside the index data|must hold at least two index dates|date must be between .* \(the index data\)"
    r"|has no close on or before",
    "outside the index data",
)

# `since` before `until` on the audit trail: a bound across two parameters.
SINCE_UNTIL = Refusal(422, r"since must be before until", "`since` is not before `until`")
# A date or moment outside 1900..9998 (autoindex.moments): `format: date`/`date-time` cannot state a year range.
YEARS = Refusal(422, r"must lie between the years 1900 and 9998", "outside the years 1900..9998")
# A symbol not stored yet needs name, asset_type and currency; a stored one needs none (the database decides).
NEW_ASSET = Refusal(422, r"^A new asset needs name, asset_type and currency\.$", "a new asset needs all three")
# The password policy beyond length: the e-mail inside it, the common-password list, 5 distinct characters.
PASSWORD_POLICY = Refusal(
    422,
    r"must not contain the e-mail address|is too common|must use at least \d+ different characters",
    "is a common password",
)
# `is_benchmark: true` on an asset without stored prices (or inactive): the database decides.
BENCHMARK_CHOICE = Refusal(
    422, r"cannot be the benchmark: it is not an active asset with stored prices", "then make it the benchmark"
)
# An address `format: email` admits but no mail reaches (email-validator): a special-use or reserved domain
# (RFC 6761: .test, .invalid, .local, ...) or a domain without a period.
EMAIL_DOMAIN = Refusal(
    422,
    r"value is not a valid email address: The part after the @-sign is "
    r"(a special-use or reserved name|not valid\. It should have a period)",
    "a special-use or reserved domain",
)
# The blend's weights sum to 1, a benchmark blend's too and names each asset once: rules across fields.
BLEND = Refusal(422, r"must sum to 1|benchmark_blend names an asset twice", "do not sum to 1")
# An If-Match naming another representation than the active strategy version's: the server's state decides.
IF_MATCH = Refusal(412, r"^If-Match does not name the strategy config as it is now", "changed since it")
# A benchmark blend's symbols must be stored, active assets with prices: the database decides.
BENCHMARK_ASSET = Refusal(
    422, r"^The benchmark asset \S+ is not a known, active asset with stored prices\.$", "known, active asset"
)
# A backtest: symbols of the live universe, parameters valid once merged with the live ones, its own range.
BACKTEST = Refusal(
    422,
    r"^not in the universe: |^strategy\.|start must not be after end|the range may span at most \d+ days"
    r"|^at most \d+ symbols|^before the first stored close|^after the last stored close",
    "not in the live universe",
)
# An Idempotency-Key names one request: the same key with another reason is refused, not joined.
REBALANCE_KEY = Refusal(422, r"^This Idempotency-Key was used for a rebalance with another reason", "another reason")
# The same for a backtest: the caller's key sent with another body is refused, not answered as the first.
BACKTEST_KEY = Refusal(422, r"^This Idempotency-Key was used for a backtest with another body", "another body")
# A simulation: its range, the index's dates, a currency with stored rates and its minor units (ISO 4217).
SIMULATION = Refusal(
    422,
    r"start must not be after end|the date range may span at most \d+ days|\(the index data\)"
    r"|\(the start of the index data\)|no trading day between|Unsupported currency|exchange rates are available"
    r"|more decimals than",
    "minor units",
)

REFUSALS: dict[str, tuple[Refusal, ...]] = {
    # The keyset lists: a never-issued cursor.
    "GET /v1/admin/compute-runs": (CURSOR,),
    "GET /v1/admin/runs": (CURSOR,),
    "GET /v1/assets": (CURSOR,),
    "GET /v1/auth/api-keys": (CURSOR,),
    "GET /v1/auth/sessions": (CURSOR,),
    "GET /v1/backtests": (CURSOR,),
    "GET /v1/strategy/config/history": (CURSOR,),
    "GET /v1/webhooks/{webhook_id}/deliveries": (CURSOR,),
    # The audit trail: a never-issued cursor, and `since` before `until`.
    "GET /v1/admin/audit": (CURSOR, SINCE_UNTIL, YEARS),
    # Dated reads: the two-field range; a keyset series also a never-issued cursor; the index's dates.
    "GET /v1/assets/{symbol}/history": (CURSOR, RANGE, YEARS),
    "GET /v1/assets/{symbol}/prices": (CURSOR, RANGE, YEARS),
    "GET /v1/index/rebalances": (CURSOR, RANGE, YEARS),
    "GET /v1/benchmark/series": (CURSOR, RANGE, INDEX_DATES, YEARS),
    "GET /v1/index/history": (CURSOR, RANGE, INDEX_DATES, YEARS),
    "GET /v1/benchmark/compare": (RANGE, INDEX_DATES, YEARS),
    "GET /v1/index/allocations": (INDEX_DATES, YEARS),
    "POST /v1/index/simulate": (SIMULATION, YEARS),
    # Writes whose rules span fields or stored data.
    "PUT /v1/admin/universe/{symbol}": (NEW_ASSET, BENCHMARK_CHOICE),
    "POST /v1/admin/rebalance": (REBALANCE_KEY,),
    "POST /v1/auth/register": (PASSWORD_POLICY, EMAIL_DOMAIN),
    "PUT /v1/strategy/config": (BLEND, BENCHMARK_ASSET, IF_MATCH),
    "POST /v1/backtests": (BACKTEST, BACKTEST_KEY, YEARS),
}
# Statuses positive data may get anywhere (schemathesis' defaults): success, auth, not found, conflict, rate limit.
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

CONFIG = SchemathesisConfig.from_dict(
    {
        # Exactly the operations above may refuse valid data, with exactly their rules' statuses.
        "operations": [
            {
                "include-name": name,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": _ACCEPTED + sorted({str(r.status) for r in refusals})
                    }
                },
            }
            for name, refusals in REFUSALS.items()
        ],
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
        wait_until_serving(f"{base}/health", proc)
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


@schemathesis.check
def refusals_name_their_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request refused by an operation of REFUSALS is refused for one of its listed rules only."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    refusals = [r for r in REFUSALS.get(case.operation.label, ()) if r.status == response.status_code]
    if not refusals:
        return None  # not one of the documented refusals: positive_data_acceptance judges it
    body = json.loads(response.content)
    reasons = [error["msg"] for error in body.get("errors") or []] or [body["detail"]]
    for reason in reasons:
        assert any(re.search(r.says, reason) for r in refusals), (case.operation.label, reason)
    return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.positive_data_acceptance,
    schemathesis.checks.unsupported_method,
    schemathesis.checks.missing_required_header,
    schemathesis.checks.ignored_auth,
    problem_json_errors,
    refusals_name_their_rule,
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


def test_every_refusal_of_valid_data_is_documented() -> None:
    # The run's exceptions are the document's: each listed operation documents its refusal beyond the generic
    # words, and every keyset list (a `cursor` parameter) or dated read is listed with the cursor or years rule.
    document = SCHEMA.raw_schema
    for name, refusals in REFUSALS.items():
        method, path = name.split(" ", 1)
        responses = document["paths"][path][method.lower()]["responses"]
        for refusal in refusals:
            assert refusal.documented in responses[str(refusal.status)]["description"], (name, refusal.documented)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if any(p["name"] == "cursor" for p in operation.get("parameters", [])):
                assert CURSOR in REFUSALS.get(f"{method.upper()} {path}", ()), (method, path)
            if YEARS.documented in operation["responses"].get("422", {}).get("description", ""):
                assert YEARS in REFUSALS.get(f"{method.upper()} {path}", ()), (method, path)
