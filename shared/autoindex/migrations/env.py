"""Alembic environment: runs online against the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

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
    with context.begin_transaction():
        context.run_migrations()
