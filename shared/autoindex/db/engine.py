"""Engines for writes and for reads, one of each per container, sized for Lambda.

A Lambda execution environment serves one invocation at a time, so the pool holds one
connection (pre-pinged, recycled); behind RDS Proxy ``DB_NULL_POOL=true`` hands pooling to
the proxy. Reads go to ``DATABASE_READ_URL`` (a replica) when it is set.

The local runner hosts every function in one process. It runs each invocation inside
:func:`engine_scope` with the function's name, so each function gets engines (and pools) of its
own, as separate containers would: a long compute never holds the connection a read needs.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, create_engine, event, make_url
from sqlalchemy.pool import NullPool

from autoindex.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _secret_url(secret_arn: str) -> URL:
    """A URL from an RDS-style Secrets Manager secret (username, password, host, port, dbname)."""
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(secret_arn, max_age=300)
    secret: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return URL.create(
        "postgresql+pg8000",
        username=secret["username"],
        password=secret["password"],
        host=secret["host"],
        port=int(secret.get("port", 5432)),
        database=secret.get("dbname", "postgres"),
    )


def database_url(settings: Settings, *, read: bool = False) -> URL:
    if read and settings.database_read_url is not None:
        return make_url(settings.database_read_url.get_secret_value())
    if settings.database_url is not None:
        return make_url(settings.database_url.get_secret_value())
    if settings.database_secret_arn is not None:
        return _secret_url(settings.database_secret_arn)
    path = settings.embedded_database_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return URL.create("sqlite+pysqlite", database=str(path))


def _longest_statement_ms(settings: Settings) -> int:
    return max(
        settings.db_statement_timeout_ms, settings.compute_statement_timeout_ms, settings.ingest_statement_timeout_ms
    )


def _pg8000_connect_args(settings: Settings) -> dict[str, Any]:
    args: dict[str, Any] = {
        # pg8000 has one socket timeout for connect and queries alike: room for the longest statement,
        # including the jobs' own (longer) statement timeouts.
        "timeout": settings.db_connect_timeout_s + _longest_statement_ms(settings) / 1000,
        "startup_params": {"statement_timeout": str(settings.db_statement_timeout_ms)},
        "application_name": f"{settings.service_name}-{settings.stage}",
    }
    if settings.db_ssl:
        context = ssl.create_default_context(cafile=str(settings.db_ssl_ca_file) if settings.db_ssl_ca_file else None)
        args["ssl_context"] = context
    return args


@dataclass(frozen=True, slots=True)
class _Scope:
    name: str = ""
    max_overflow: int | None = None  # None: DB_MAX_OVERFLOW


_DEFAULT_SCOPE = _Scope()
_scope: ContextVar[_Scope] = ContextVar("autoindex_engine_scope", default=_DEFAULT_SCOPE)
_engines: dict[tuple[_Scope, bool], Engine] = {}
_engines_lock = threading.Lock()


@contextmanager
def engine_scope(name: str, *, max_overflow: int | None = None) -> Iterator[None]:
    """Within it, :func:`write_engine` and :func:`read_engine` are those of the container ``name``.

    ``max_overflow`` lets a container that serves several requests at once (the local runner's)
    open up to that many connections beyond the pool while they run.
    """
    token = _scope.set(_Scope(name, max_overflow))
    try:
        yield
    finally:
        _scope.reset(token)


def build_engine(url: URL, settings: Settings, *, max_overflow: int | None = None) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": settings.db_connect_timeout_s})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = _pg8000_connect_args(settings) if url.get_driver_name() == "pg8000" else {}
    if settings.db_null_pool:
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_recycle=settings.db_pool_recycle_s,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _engine(*, read: bool) -> Engine:
    scope = _scope.get()
    found = _engines.get((scope, read))
    if found is not None:
        return found
    with _engines_lock:
        found = _engines.get((scope, read))
        if found is None:
            settings = get_settings()
            found = build_engine(database_url(settings, read=read), settings, max_overflow=scope.max_overflow)
            _engines[(scope, read)] = found
        return found


def write_engine() -> Engine:
    """The container's engine for writes (built once)."""
    return _engine(read=False)


def read_engine() -> Engine:
    """The container's engine for reads: the replica's when ``DATABASE_READ_URL`` is set, else the writer's."""
    if get_settings().database_read_url is None:
        return write_engine()
    return _engine(read=True)


def dispose_engines() -> None:
    """Close pooled connections and forget the engines (tests, and after settings change)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()
