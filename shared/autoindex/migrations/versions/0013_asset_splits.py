"""Splits per asset (read off the provider's closes with each whole history), backfill batches marked, and how far
each asset's splits were read.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "asset_splits",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("shares_after", sa.Integer(), nullable=False),
        sa.Column("shares_before", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ingested_at", TS, nullable=False),
        sa.CheckConstraint(
            "shares_after > 0 AND shares_before > 0 AND shares_after <> shares_before",
            name=op.f("ck_asset_splits_a_real_ratio"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_asset_splits_asset_id_assets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("asset_id", "effective_date", name=op.f("pk_asset_splits")),
    )
    # A batch of whole histories: the ingest reads their splits beside the bars.
    op.add_column(
        "refresh_batches", sa.Column("backfill", sa.Boolean(), nullable=False, server_default=sa.text("false"))
    )
    # The day through which a stock's or ETF's splits were read; NULL (every asset stored before this
    # migration) plans one whole-history fetch, so existing histories get their splits too.
    op.add_column("assets", sa.Column("splits_checked_through", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("assets", "splits_checked_through")
    op.drop_column("refresh_batches", "backfill")
    op.drop_table("asset_splits")
