"""Refresh runs record the histories they replaced (splits, re-basings, provider revisions).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


# Plain ALTER TABLE on both databases (SQLite has ADD and DROP COLUMN since 3.35): a batch "move and copy"
# would have to rebuild the partial unique index that keeps one refresh run active.


def upgrade() -> None:
    op.add_column("refresh_runs", sa.Column("revisions", JSON_DOC, nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    op.drop_column("refresh_runs", "revisions")
