"""Total return: dividends per asset (cash per share at the ex-date), the total-return index beside the
price index, and the engine state it is extended from.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "asset_dividends",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("ex_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(20, 8), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ingested_at", TS, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_asset_dividends_positive_amount")),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_asset_dividends_asset_id_assets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("asset_id", "ex_date", name=op.f("pk_asset_dividends")),
    )
    op.create_table(
        "index_total_values",
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(24, 12), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_version"],
            ["strategy_versions.id"],
            name=op.f("fk_index_total_values_strategy_version_strategy_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("strategy_version", "date", name=op.f("pk_index_total_values")),
    )
    # Dividends a refresh wrote (new, changed or replaced ones), beside the price rows it wrote.
    op.add_column(
        "refresh_runs", sa.Column("dividends_written", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    # The total-return carry (value, holdings, last closes); NULL means "recompute in full".
    op.add_column("index_engine_states", sa.Column("total_state", JSON_DOC, nullable=True))


def downgrade() -> None:
    op.drop_column("index_engine_states", "total_state")
    op.drop_column("refresh_runs", "dividends_written")
    op.drop_table("index_total_values")
    op.drop_table("asset_dividends")
