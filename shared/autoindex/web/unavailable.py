"""Which escaped exceptions mean "a dependency is down or overloaded, try again" rather than "a bug".

The middleware answers these with a 503 and ``Retry-After`` instead of a 500, for every route at once.
"""

from __future__ import annotations

import sys

RETRY_AFTER_S = 5

# SQLSTATEs of a database that cannot serve now: connection exceptions (class 08), a statement or lock
# timeout, a shutting-down or starting server, too many connections.
_UNAVAILABLE_CODES = {"57014", "55P03", "57P01", "57P02", "57P03", "53300", "53400"}


def _sqlstate(orig: object) -> str | None:
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)  # psycopg
    if code is None:
        args = getattr(orig, "args", ())
        if args and isinstance(args[0], dict):  # pg8000 passes the server's error fields as a dict
            code = args[0].get("C")
    return str(code) if code else None


def dependency_unavailable(exc: BaseException) -> bool:
    """True for a database that is unreachable, out of pooled connections or too slow to answer, and for any
    raw socket timeout (a dependency that stopped answering)."""
    if isinstance(exc, TimeoutError):
        # A socket read that outlasted its timeout: pg8000 raises it raw when a connected database stops
        # answering mid-query (SQLAlchemy wraps only the driver's own errors). Nothing answered in time.
        return True
    if "sqlalchemy" not in sys.modules:
        return False  # nothing here has touched the database
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sa.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, (sa.OperationalError, sa.InterfaceError)):
        return True  # refused, reset or dropped connections
    code = _sqlstate(exc.orig)
    return code is not None and (code.startswith("08") or code in _UNAVAILABLE_CODES)
