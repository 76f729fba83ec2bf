"""Backtests: parameters, data version, cache key, status and result.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "backtests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_backtests_user_id_created_at", "backtests", ["user_id", "created_at"])
    op.create_index("ix_backtests_caller_created_at", "backtests", ["caller", "created_at"])
    op.create_index("ix_backtests_cache_key", "backtests", ["cache_key"])


def downgrade() -> None:
    op.drop_index("ix_backtests_cache_key", table_name="backtests")
    op.drop_index("ix_backtests_caller_created_at", table_name="backtests")
    op.drop_index("ix_backtests_user_id_created_at", table_name="backtests")
    op.drop_table("backtests")
