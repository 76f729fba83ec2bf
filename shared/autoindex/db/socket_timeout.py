"""The pg8000 socket's read timeout: short while connecting, then the statement budget plus a margin.

pg8000 takes one ``timeout`` for the connect and every later read. Sized for the longest statement, a
database that accepts TCP but never answers held a request for minutes; sized for the connect, every long
statement would be cut off. So the engine connects with DB_CONNECT_TIMEOUT_S and then sets the open socket's
timeout here — the server's statement_timeout fires first, the socket's is the backstop for a dead server.

pg8000 has no public way to change the timeout of an open connection: ``_usock`` (the socket, or its TLS
wrapper) is private. This module is the only code that touches it, and tests/integration/test_db_socket_timeout.py
fails when a pg8000 upgrade moves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Room beyond a statement's server-side timeout for its error to arrive before the socket gives up.
MARGIN_S = 5.0


def read_timeout_s(statement_timeout_ms: int) -> float:
    return statement_timeout_ms / 1000 + MARGIN_S


def set_read_timeout(dbapi_connection: Any, seconds: float) -> None:
    """Give an open pg8000 connection's socket a new timeout (see the module docstring for ``_usock``)."""
    sock = getattr(dbapi_connection, "_usock", None)
    if sock is None:
        raise RuntimeError("pg8000 no longer keeps its socket in _usock: update autoindex.db.socket_timeout")
    sock.settimeout(seconds)


def allow_statements_of(session: Session, timeout_ms: int) -> None:
    """This transaction's statements may run ``timeout_ms`` (a job's budget, longer than a request's).

    PostgreSQL only: the server's ``statement_timeout`` for the transaction, and the socket's to match. The
    socket goes back to the request budget when the pool hands the connection out again (engine.py).
    """
    session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
    raw = session.connection().connection.dbapi_connection
    if raw is not None and session.get_bind().dialect.driver == "pg8000":
        set_read_timeout(raw, read_timeout_s(timeout_ms))
