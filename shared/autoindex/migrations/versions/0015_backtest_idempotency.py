"""Backtests remember their owner's Idempotency-Key and the hash of the body it came with.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


# Plain ADD COLUMN and a unique index (not a constraint): SQLite adds both without rebuilding the table.


def upgrade() -> None:
    op.add_column("backtests", sa.Column("idempotency_key", sa.String(100), nullable=True))
    op.add_column("backtests", sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_index("uq_backtests_user_id_idempotency_key", "backtests", ["user_id", "idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_backtests_user_id_idempotency_key", table_name="backtests")
    op.drop_column("backtests", "request_hash")
    op.drop_column("backtests", "idempotency_key")
