"""Disclosure: every rebalance's notes and market-cap sources, what a compute run disclosed, and share counts
from SEC EDGAR (per filing, point in time) with each asset's CIK.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# SEC's CIKs of the seeded universe's operating companies and the two trusts EDGAR knows (reference
# sec-edgar.md). Funds without XBRL share facts (SLV, USO, TLT, IEF) and the index get none: the
# funds rule applies to them.
_CIKS = {
    "AAPL": 320193,
    "MSFT": 789019,
    "GOOGL": 1652044,
    "AMZN": 1018724,
    "META": 1326801,
    "TSLA": 1318605,
    "NVDA": 1045810,
    "SPY": 884394,
    "GLD": 1222333,
}
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "index_rebalances",
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # formation | rebalance | skipped
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("turnover", sa.Float(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("market_cap_leg", sa.String(16), nullable=False),
        sa.Column("notes", JSON_DOC, nullable=False),
        sa.Column("cap_sources", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_version"],
            ["strategy_versions.id"],
            name=op.f("fk_index_rebalances_strategy_version_strategy_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("strategy_version", "date", name=op.f("pk_index_rebalances")),
    )
    op.add_column("compute_runs", sa.Column("disclosure", JSON_DOC, nullable=True))
    op.add_column("assets", sa.Column("cik", sa.Integer(), nullable=True))
    assets = sa.table("assets", sa.column("symbol", sa.String()), sa.column("cik", sa.Integer()))
    for symbol, cik in _CIKS.items():
        op.execute(assets.update().where(assets.c.symbol == symbol).values(cik=cik))
    op.create_table(
        "asset_share_counts",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("accn", sa.String(25), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("concept", sa.String(64), nullable=False),
        sa.Column("filed", sa.Date(), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ingested_at", TS, nullable=False),
        sa.CheckConstraint("shares > 0", name=op.f("ck_asset_share_counts_positive_shares")),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_asset_share_counts_asset_id_assets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("asset_id", "accn", "end_date", "concept", name=op.f("pk_asset_share_counts")),
    )


def downgrade() -> None:
    op.drop_table("asset_share_counts")
    op.drop_column("assets", "cik")
    op.drop_column("compute_runs", "disclosure")
    op.drop_table("index_rebalances")
