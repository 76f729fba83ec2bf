"""Engines for writes and for reads, one of each per container, sized for Lambda.

A Lambda execution environment serves one invocation at a time, so the pool holds one
connection (pre-pinged, recycled); behind RDS Proxy ``DB_NULL_POOL=true`` hands pooling to
the proxy (``DATABASE_PROXY_ENDPOINT`` replaces the secret's host). Reads go to a replica when one is set
(``DATABASE_READ_URL``, or the URL in ``DATABASE_READ_URL_SECRET_ARN``). A rotated password is read again on
the first refused login (:func:`_connect_following_rotation`).

The local runner hosts every function in one process. It runs each invocation inside
:func:`engine_scope` with the function's name, so each function gets engines (and pools) of its
own, as separate containers would: a long compute never holds the connection a read needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, create_engine, event, make_url
from sqlalchemy.pool import NullPool

from autoindex.db import socket_timeout
from autoindex.observability import logger
from autoindex.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

_SECRET_MAX_AGE_S = 300
# The RDS CA bundle, when the deploy put it in the layer (docs/operations.md): no package registry carries it.
SHIPPED_CA_BUNDLE = Path(__file__).resolve().parent.parent / "data" / "rds-ca-bundle.pem"
# PostgreSQL's SQLSTATEs for a refused login: invalid_password, invalid_authorization_specification.
_AUTH_FAILED = ("28P01", "28000")


def _secret_url(secret_arn: str, *, fresh: bool = False) -> URL:
    """A URL from an RDS-style Secrets Manager secret (username, password, host, port, dbname).

    Behind RDS Proxy (``DATABASE_PROXY_ENDPOINT``) the host is the proxy's: the secret names the instance.
    ``fresh`` skips the five-minute cache (after an authentication failure: the secret was rotated).
    """
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(secret_arn, max_age=_SECRET_MAX_AGE_S, force_fetch=fresh)
    secret: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw)
    host, port = secret["host"], int(secret.get("port", 5432))
    proxy = get_settings().database_proxy_endpoint
    if proxy:
        host, _, proxy_port = proxy.partition(":")
        port = int(proxy_port) if proxy_port else port
    return URL.create(
        "postgresql+pg8000",
        username=secret["username"],
        password=secret["password"],
        host=host,
        port=port,
        database=secret.get("dbname", "postgres"),
    )


def _read_url(settings: Settings) -> URL | None:
    if settings.database_read_url is not None:
        return make_url(settings.database_read_url.get_secret_value())
    if settings.database_read_url_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(settings.database_read_url_secret_arn, max_age=_SECRET_MAX_AGE_S)
        return make_url(str(value).strip())
    return None


def has_read_replica(settings: Settings) -> bool:
    return settings.database_read_url is not None or bool(settings.database_read_url_secret_arn)


def database_url(settings: Settings, *, read: bool = False) -> URL:
    replica = _read_url(settings) if read else None
    if replica is not None:
        return replica
    if settings.database_url is not None:
        return make_url(settings.database_url.get_secret_value())
    if settings.database_secret_arn is not None:
        return _secret_url(settings.database_secret_arn)
    path = settings.embedded_database_path
    path.parent.mkdir(parents=True, exist_ok=True)
    owner_only(path)
    return URL.create("sqlite+pysqlite", database=str(path))


def owner_only(path: Path) -> None:
    """The embedded database file, made owner-only (0600) before SQLite opens it: it holds password hashes and
    API-key HMACs. SQLite gives its -wal and -shm files the database file's mode."""
    # An existing file is tightened by `autoindex migrate` (migrations.migrate.upgrade).
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _pg8000_connect_args(settings: Settings) -> dict[str, Any]:
    args: dict[str, Any] = {
        # Only the connect: once open, the socket's timeout follows the statement budget (_statement_reads).
        "timeout": settings.db_connect_timeout_s,
        "startup_params": {"statement_timeout": str(settings.db_statement_timeout_ms)},
        "application_name": f"{settings.service_name}-{settings.stage}",
    }
    if settings.db_ssl:
        cafile = settings.db_ssl_ca_file or (SHIPPED_CA_BUNDLE if SHIPPED_CA_BUNDLE.is_file() else None)
        args["ssl_context"] = ssl.create_default_context(cafile=str(cafile) if cafile else None)
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


def _connect_following_rotation(dialect: Any, cargs: list[Any], cparams: dict[str, Any], secret_arn: str) -> Any:
    """On a refused login, read the secret again (skipping the cache) and connect with what it holds now.

    Secrets Manager rotation changes the password under a warm container; without this, every new connection
    would fail until the container died. The new credentials stay in the engine's connect parameters, so later
    connections use them too; connections already open are not affected (PostgreSQL keeps their sessions).
    """
    try:
        return _dbapi_connect(dialect, cargs, cparams)
    except dialect.loaded_dbapi.Error as exc:
        if not any(code in str(exc) for code in _AUTH_FAILED):
            raise
    fresh = _secret_url(secret_arn, fresh=True)
    cparams.update(user=fresh.username, password=fresh.password)
    logger.warning("database login refused; credentials read again from Secrets Manager (rotation)")
    return _dbapi_connect(dialect, cargs, cparams)


def _dbapi_connect(dialect: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
    """Connect; a socket error or timeout (pg8000 lets a silent server's TimeoutError escape its startup) becomes
    the DB-API's OperationalError, which SQLAlchemy wraps and the web layer answers with a 503 (web/unavailable)."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as exc:
        raise dialect.loaded_dbapi.OperationalError(f"cannot connect to the database: {type(exc).__name__}") from exc


def _connecting(engine: Engine, rotating_secret_arn: str | None) -> None:
    # One do_connect listener per engine: SQLAlchemy uses the first that returns a connection, whatever the order.
    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        if rotating_secret_arn:
            return _connect_following_rotation(dialect, cargs, cparams, rotating_secret_arn)
        return _dbapi_connect(dialect, cargs, cparams)


def _statement_reads(engine: Engine, settings: Settings) -> None:
    """pg8000 engines connect within DB_CONNECT_TIMEOUT_S, then read with the request's statement budget."""
    read_timeout = socket_timeout.read_timeout_s(settings.db_statement_timeout_ms)

    # On connect (before the pre-ping) and on every checkout: a job may have raised it for its transaction.
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkout")
    def _request_budget(dbapi_connection: Any, *_: Any) -> None:
        socket_timeout.set_read_timeout(dbapi_connection, read_timeout)


def build_engine(
    url: URL, settings: Settings, *, max_overflow: int | None = None, rotating_secret_arn: str | None = None
) -> Engine:
    """``rotating_secret_arn``: the secret the URL came from, read again on a refused login (rotation)."""
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": settings.db_connect_timeout_s})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    pg8000 = url.get_driver_name() == "pg8000"
    connect_args = _pg8000_connect_args(settings) if pg8000 else {}
    if settings.db_null_pool:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    else:
        engine = create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
            pool_timeout=settings.db_pool_timeout_s,
            pool_recycle=settings.db_pool_recycle_s,
            pool_pre_ping=True,
            connect_args=connect_args,
        )
    _connecting(engine, rotating_secret_arn)
    if pg8000:
        _statement_reads(engine, settings)
    return engine


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
            replica = read and has_read_replica(settings)
            rotating = settings.database_secret_arn if settings.database_url is None and not replica else None
            found = build_engine(
                database_url(settings, read=read),
                settings,
                max_overflow=scope.max_overflow,
                rotating_secret_arn=rotating,
            )
            _engines[(scope, read)] = found
        return found


def write_engine() -> Engine:
    """The container's engine for writes (built once)."""
    return _engine(read=False)


def read_engine() -> Engine:
    """The container's engine for reads: the replica's when one is configured, else the writer's."""
    if not has_read_replica(get_settings()):
        return write_engine()
    return _engine(read=True)


def dispose_engines() -> None:
    """Close pooled connections and forget the engines (tests, and after settings change)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()
