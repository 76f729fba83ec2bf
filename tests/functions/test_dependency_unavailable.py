"""A database that is down, saturated or slow is a 503 with Retry-After on every route, never a 500.

Each fault is real: a closed loopback port, a pool of one held by another connection, a statement
timeout that a `pg_sleep` outlasts.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from autoindex.db.engine import read_engine
from autoindex.web.app import create_app, http_handler
from autoindex.web.deps import ReadUowDep
from fastapi import APIRouter
from sqlalchemy import text

from tests.conftest import clear_process_caches
from tests.functions.conftest import Client, new_email, register_and_login
from tests.functions.problems import assert_problem
from tests.lambda_http import call, function_handler
from tests.net import free_port

pytestmark = pytest.mark.usefixtures("migrated")


def assert_unavailable(result: Any) -> None:
    body = assert_problem(result, 503)
    assert result.headers["retry-after"] == "5"
    assert body["type"].endswith("service-unavailable")
    assert "127.0.0.1" not in body["detail"]  # nothing about the database's whereabouts


def test_database_unreachable_is_503_on_login_register_me_and_assets(
    auth: Client, fresh_settings: pytest.MonkeyPatch
) -> None:
    account = register_and_login(auth)
    closed = f"postgresql+pg8000://postgres@127.0.0.1:{free_port()}/postgres"
    fresh_settings.setenv("DATABASE_URL", closed)
    fresh_settings.delenv("DATABASE_READ_URL", raising=False)
    clear_process_caches()
    market = Client(function_handler("market"))

    assert_unavailable(auth.post("/v1/auth/login", body={"email": account.email, "password": account.password}))
    assert_unavailable(auth.post("/v1/auth/register", body={"email": new_email(), "password": account.password}))
    assert_unavailable(auth.get("/v1/auth/me", headers=account.bearer()))
    assert_unavailable(market.get("/v1/assets", headers=account.bearer()))


def test_pool_timeout_is_503(auth: Client, fresh_settings: pytest.MonkeyPatch) -> None:
    account = register_and_login(auth)
    fresh_settings.setenv("DB_POOL_SIZE", "1")
    fresh_settings.setenv("DB_MAX_OVERFLOW", "0")
    fresh_settings.setenv("DB_POOL_TIMEOUT_S", "0.2")
    clear_process_caches()
    market = Client(function_handler("market"))
    with read_engine().connect():  # another request holds the only connection
        assert_unavailable(market.get("/v1/assets", headers=account.bearer()))
    assert market.get("/v1/assets", headers=account.bearer()).status == 200  # and it recovers once it is free


def test_statement_timeout_on_a_read_is_503(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("DB_STATEMENT_TIMEOUT_MS", "100")
    clear_process_caches()
    router = APIRouter()

    @router.get("/slow")
    def slow(uow: ReadUowDep) -> dict[str, str]:
        with uow:
            uow.session.execute(text("SELECT pg_sleep(2)"))
        return {"done": "yes"}

    handler = http_handler(create_app([router], title="test", rate_limit_policy=None))
    assert_unavailable(call(handler, "GET", "/slow"))


def test_a_bug_is_still_a_500(fresh_settings: pytest.MonkeyPatch) -> None:
    router = APIRouter()

    @router.get("/bad-sql")
    def bad_sql(uow: ReadUowDep) -> dict[str, str]:
        with uow:
            uow.session.execute(text("SELECT no_such_column FROM no_such_table"))
        return {"done": "yes"}

    handler = http_handler(create_app([router], title="test", rate_limit_policy=None))
    assert_problem(call(handler, "GET", "/bad-sql"), 500)


@contextmanager
def silent_database() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts TCP and never says a word (a hung or black-holed database).

    The kernel completes the handshake for a listening socket's backlog, so nothing needs to accept: the client's
    startup message is read by nobody and its reply never comes.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"postgresql+pg8000://postgres@127.0.0.1:{listener.getsockname()[1]}/postgres"


def test_a_database_that_accepts_and_never_answers_is_503_within_the_connect_timeout(
    auth: Client, fresh_settings: pytest.MonkeyPatch
) -> None:
    # The audit saw 303 s and then a 500: the socket waited the compute job's statement budget, and pg8000's
    # raw TimeoutError was not known as "unavailable". Now a connect gives up after DB_CONNECT_TIMEOUT_S.
    account = register_and_login(auth)
    with silent_database() as url:
        fresh_settings.setenv("DATABASE_URL", url)
        fresh_settings.delenv("DATABASE_READ_URL", raising=False)
        fresh_settings.setenv("DB_CONNECT_TIMEOUT_S", "1")
        clear_process_caches()
        market, health = Client(function_handler("market")), Client(function_handler("health"))

        started = time.monotonic()
        # (The audit's GET /v1/currencies may be served from the Redis read cache here: these reads are not.)
        assert_unavailable(market.get("/v1/assets", headers=account.bearer()))
        assert_unavailable(auth.get("/v1/auth/me", headers=account.bearer()))
        ready = health.get("/health/ready")
        elapsed = time.monotonic() - started

    assert ready.status == 503 and ready.headers["retry-after"] == "5"
    assert "database" in ready.json()["detail"]
    assert elapsed < 60  # far below the 300 s it took; not a tight bound (a loaded machine)
