"""Alembic, driven from code: ``autoindex migrate`` and the tests call :func:`upgrade`. Never on a request path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent  # env.py, script.py.mako and versions/ sit beside this module


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    _tighten_embedded_file(engine)
    command.upgrade(alembic_config(engine), revision)


def _tighten_embedded_file(engine: Engine) -> None:
    # A file made before the embedded database was created owner-only (it was 0644): its password hashes and
    # key HMACs become the owner's alone, with SQLite's -wal and -shm beside it.
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    for path in (Path(database), Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.is_file():
            path.chmod(0o600)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
