"""Engines for writes and for reads, one of each per container, sized for Lambda.

A Lambda execution environment serves one invocation at a time, so the pool holds one
connection (pre-pinged, recycled); behind RDS Proxy ``DB_NULL_POOL=true`` hands pooling to
the proxy. Reads go to ``DATABASE_READ_URL`` (a replica) when it is set.
"""

from __future__ import annotations

import functools
import json
import ssl
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


def _pg8000_connect_args(settings: Settings) -> dict[str, Any]:
    args: dict[str, Any] = {
        # pg8000 has one socket timeout for connect and queries alike: room for the longest statement.
        "timeout": settings.db_connect_timeout_s + settings.db_statement_timeout_ms / 1000,
        "startup_params": {"statement_timeout": str(settings.db_statement_timeout_ms)},
        "application_name": f"{settings.service_name}-{settings.stage}",
    }
    if settings.db_ssl:
        context = ssl.create_default_context(cafile=str(settings.db_ssl_ca_file) if settings.db_ssl_ca_file else None)
        args["ssl_context"] = context
    return args


def build_engine(url: URL, settings: Settings) -> Engine:
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
        max_overflow=settings.db_max_overflow,
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


@functools.cache
def write_engine() -> Engine:
    settings = get_settings()
    return build_engine(database_url(settings), settings)


@functools.cache
def read_engine() -> Engine:
    settings = get_settings()
    if settings.database_read_url is None:
        return write_engine()
    return build_engine(database_url(settings, read=True), settings)


def dispose_engines() -> None:
    """Close pooled connections and forget the engines (tests, and after settings change)."""
    for getter in (read_engine, write_engine):
        if getter.cache_info().currsize:
            getter().dispose()
        getter.cache_clear()
