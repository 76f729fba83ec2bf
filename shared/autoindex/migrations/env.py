"""Alembic environment: runs online against the engine handed over in ``config.attributes``."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

import autoindex.backtests.models
import autoindex.events.ledger
import autoindex.identity.models
import autoindex.index.models
import autoindex.market.models
import autoindex.webhooks.models  # noqa: F401 - these register every table on Base.metadata
from autoindex.db.base import Base
from autoindex.db.engine import write_engine

config = context.config
engine = config.attributes.get("engine") or write_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        compare_type=True,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        # SQLite's batch mode reflects `users` (a foreign key's target) and cannot reflect its lower(email)
        # index; it copies only the tables it alters, so that index stays as it is. Nothing for a reader of
        # `make run`'s output to act on.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
        context.run_migrations()
