"""The unit of work: one Session, one transaction; commit on success, roll back on any exception, always close."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy.orm import Session

# SQLAlchemy loads on the first unit of work that opens, not when a route module imports this one:
# a read answered from the cache never pays for the ORM.
SessionFactory = Callable[[], "Session"]


def write_sessions() -> SessionFactory:
    from sqlalchemy.orm import sessionmaker

    from autoindex.db.engine import write_engine

    return sessionmaker(bind=write_engine(), expire_on_commit=False)


def read_sessions() -> SessionFactory:
    from sqlalchemy.orm import sessionmaker

    from autoindex.db.engine import read_engine

    return sessionmaker(bind=read_engine(), expire_on_commit=False)


class UnitOfWork:
    """``with UnitOfWork() as uow:`` opens a transaction; repositories flush, only this commits.

    A read-only unit of work (``read_only=True``) uses the read engine and never commits.
    Tests pass their own ``session_factory`` bound to an outer transaction.
    """

    def __init__(self, session_factory: SessionFactory | None = None, *, read_only: bool = False) -> None:
        self._factory = session_factory
        self.read_only = read_only
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it as a context manager")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("the unit of work is already open")
        factory = self._factory or (read_sessions() if self.read_only else write_sessions())
        self._session = factory()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self.session, None
        try:
            if exc_type is not None:
                session.rollback()
            elif self.read_only:
                session.expunge_all()  # what was read stays readable after the transaction ends
                session.rollback()
            else:
                session.commit()
        finally:
            session.close()

    @contextmanager
    def savepoint(self) -> Iterator[Session]:
        """Isolate one item: its failure rolls back to the SAVEPOINT and re-raises; the outer transaction lives on."""
        with self.session.begin_nested():
            yield self.session
