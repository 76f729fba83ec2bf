"""A throwaway PostgreSQL database for a benchmark run, migrated by the product's own migrations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")


@contextmanager
def bench_database() -> Iterator[str]:
    """Create ``autoindex_bench_<random>``, point DATABASE_URL at it, migrate, and drop it afterwards."""
    name = f"autoindex_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = url
    try:
        from autoindex.db.engine import write_engine
        from autoindex.migrations import migrate

        migrate.upgrade(write_engine())
        yield url
    finally:
        from autoindex.db.engine import dispose_engines

        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
