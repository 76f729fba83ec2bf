"""The lock around the index publication: computes and republications never interleave.

Kept apart from the compute service so an admin action can take it without importing the engine
(NumPy) at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

COMPUTE_LOCK = 0x41_49_43_50  # "AICP": a PostgreSQL advisory lock key


def lock_publication(session: Session) -> None:
    """Hold the compute lock until the transaction ends.

    Whoever holds it takes the publication time, so version tokens are published in time order.
    SQLite (the embedded mode) serialises writers by itself.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": COMPUTE_LOCK})
