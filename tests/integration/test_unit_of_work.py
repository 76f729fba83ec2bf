"""The unit of work on the real PostgreSQL: all or nothing, and SAVEPOINTs that isolate one item."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from autoindex.db.engine import read_engine, write_engine
from autoindex.db.uow import UnitOfWork
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

metadata = MetaData()
items = Table(
    "uow_probe_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
)


@pytest.fixture
def table(migrated: Engine) -> Iterator[Table]:
    metadata.create_all(migrated)
    yield items
    metadata.drop_all(migrated)


def count() -> int:
    with write_engine().connect() as connection:
        return int(connection.execute(select(func.count()).select_from(items)).scalar_one())


def test_commits_on_success(table: Table) -> None:
    with UnitOfWork() as uow:
        uow.session.execute(insert(table), [{"name": "a"}, {"name": "b"}])
    assert count() == 2


def test_failure_after_some_writes_leaves_nothing(table: Table) -> None:
    class Injected(Exception):
        pass

    with pytest.raises(Injected), UnitOfWork() as uow:
        uow.session.execute(insert(table), [{"name": "a"}, {"name": "b"}])
        uow.session.flush()
        assert uow.session.execute(select(func.count()).select_from(table)).scalar_one() == 2
        raise Injected
    assert count() == 0


def test_database_error_mid_transaction_rolls_back_earlier_writes(table: Table) -> None:
    with pytest.raises(IntegrityError), UnitOfWork() as uow:
        uow.session.execute(insert(table), [{"name": "a"}])
        uow.session.execute(insert(table), [{"name": "a"}])  # unique violation
    assert count() == 0


def test_killed_connection_mid_transaction_leaves_nothing(table: Table, database_url: str) -> None:
    killer = create_engine(database_url, poolclass=NullPool)
    with pytest.raises(DBAPIError) as raised, UnitOfWork() as uow:
        uow.session.execute(insert(table), [{"name": "a"}])
        pid: int = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with killer.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True
        uow.session.execute(insert(table), [{"name": "b"}])
    assert raised.value.connection_invalidated or "terminat" in str(raised.value).lower()
    # The pool drops the dead connection; the next unit of work sees no trace of the first write.
    assert count() == 0


def test_savepoint_isolates_one_failing_item(table: Table) -> None:
    stored = []
    with UnitOfWork() as uow:
        for name in ["a", "b", "a", "c"]:
            try:
                with uow.savepoint() as session:
                    session.execute(insert(table), [{"name": name}])
                stored.append(name)
            except IntegrityError:
                continue
    assert stored == ["a", "b", "c"]
    assert count() == 3


def test_read_only_unit_of_work_never_commits(table: Table) -> None:
    with UnitOfWork(read_only=True) as uow:
        uow.session.execute(insert(table), [{"name": "a"}])
    assert count() == 0


def test_read_engine_defaults_to_the_write_url() -> None:
    assert read_engine() is write_engine()


def test_statement_timeout_from_settings_applies_to_sessions(migrated: Engine) -> None:
    with UnitOfWork() as uow:
        assert uow.session.execute(text("SHOW statement_timeout")).scalar_one() == "15s"


def test_unit_of_work_cannot_be_used_closed_or_twice() -> None:
    uow = UnitOfWork()
    with pytest.raises(RuntimeError):
        _ = uow.session
    with uow, pytest.raises(RuntimeError):
        uow.__enter__()
