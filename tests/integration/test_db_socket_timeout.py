"""The pg8000 socket's read timeout follows the statement budget of the work at hand, on real PostgreSQL.

A request's connection reads with DB_STATEMENT_TIMEOUT_MS plus a margin; a job that raises its own statement
timeout for a transaction raises the socket's with it, and the next checkout is back to the request's. This also
fails if a pg8000 upgrade moves the private socket autoindex.db.socket_timeout relies on.
"""

from __future__ import annotations

from typing import Any

import pytest
from autoindex.db import socket_timeout
from autoindex.db.engine import write_engine
from autoindex.db.uow import UnitOfWork
from sqlalchemy import text

from tests.conftest import clear_process_caches


def _socket_of(raw: Any) -> Any:
    return raw._usock


def test_reads_wait_for_the_request_budget_and_a_job_raises_it_for_its_transaction(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    fresh_settings.setenv("DB_STATEMENT_TIMEOUT_MS", "7000")
    fresh_settings.setenv("DB_CONNECT_TIMEOUT_S", "2")
    clear_process_caches()
    request_budget = 7 + socket_timeout.MARGIN_S

    with write_engine().connect() as connection:
        raw = connection.connection.dbapi_connection
        assert _socket_of(raw).gettimeout() == request_budget

    with UnitOfWork() as uow:
        socket_timeout.allow_statements_of(uow.session, 120_000)
        assert uow.session.execute(text("SHOW statement_timeout")).scalar_one() == "2min"
        raw = uow.session.connection().connection.dbapi_connection
        assert _socket_of(raw).gettimeout() == 120 + socket_timeout.MARGIN_S

    with write_engine().connect() as connection:  # the pool's one connection, handed out again
        assert connection.connection.dbapi_connection is raw
        assert _socket_of(raw).gettimeout() == request_budget
        assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "7s"
