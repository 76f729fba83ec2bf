"""Rebalance triggers: each allocation's rebalance records why it happened, and operators' requests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Every rebalance stored so far was a scheduled one (or the formation, which records "schedule").
    with op.batch_alter_table("index_allocations") as batch:
        batch.add_column(sa.Column("trigger", sa.String(16), nullable=False, server_default="schedule"))
    op.create_table(
        "rebalance_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_rebalance_requests_idempotency_key"),
    )
    op.create_index("ix_rebalance_requests_effective_date", "rebalance_requests", ["effective_date"])


def downgrade() -> None:
    op.drop_index("ix_rebalance_requests_effective_date", table_name="rebalance_requests")
    op.drop_table("rebalance_requests")
    with op.batch_alter_table("index_allocations") as batch:
        batch.drop_column("trigger")
