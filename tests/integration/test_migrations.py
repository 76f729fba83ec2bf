"""The same Alembic chain upgrades and downgrades on PostgreSQL and on the embedded SQLite file."""

from __future__ import annotations

from pathlib import Path

from autoindex.db.base import Base
from autoindex.migrations import migrate
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine


def _roundtrip(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_postgres_is_at_head_and_round_trips(migrated: Engine, database_url: str) -> None:
    assert migrate.current_revision(migrated) == migrate.head_revision(migrated)
    scratch = create_engine(database_url)
    try:
        _roundtrip(scratch)
    finally:
        scratch.dispose()


def test_sqlite_embedded_database_round_trips(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'embedded.sqlite3'}")
    try:
        _roundtrip(engine)
    finally:
        engine.dispose()


def test_models_match_the_migrations(migrated: Engine) -> None:
    """Autogenerate finds nothing to do: no model change is missing a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with migrated.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
