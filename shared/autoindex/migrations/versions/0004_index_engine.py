"""Index engine: strategy versions (default version 1 active), compute runs, index values, allocations,
risk-metric snapshots, engine state and the publication row holding the data version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INDEX_VALUE = sa.Numeric(24, 12)
WEIGHT = sa.Numeric(20, 16)

# The engine's defaults as of this revision (frozen here: a later change of defaults is a new version).
_DEFAULT_PARAMS = {
    "momentum_weight": 0.4,
    "market_cap_weight": 0.3,
    "risk_parity_weight": 0.3,
    "momentum_lookback_days": 60,
    "momentum_drop_threshold": 0.0,
    "volatility_lookback_days": 60,
    "rebalance_frequency": "weekly",
    "min_price": 1.0,
    "max_ffill_days": 2,
    "max_missing_share": 0.1,
    "return_clip": 0.5,
    "outlier_sigma": 3.0,
    "max_weight_per_asset": None,
    "transaction_cost_bps": 5.0,
}


def _version_fk(table: str, *, cascade: bool = True) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["strategy_version"],
        ["strategy_versions.id"],
        name=f"fk_{table}_strategy_version_strategy_versions",
        ondelete="CASCADE" if cascade else None,
    )


def upgrade() -> None:
    versions = op.create_table(
        "strategy_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("params", JSON_DOC, nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_strategy_versions"),
    )
    op.create_index(
        "uq_strategy_versions_one_active",
        "strategy_versions",
        ["is_active"],
        unique=True,
        postgresql_where=sa.text("is_active"),
        sqlite_where=sa.text("is_active"),
    )
    op.create_table(
        "compute_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("strategy_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("data_version", sa.Integer(), nullable=True),
        sa.Column("days_added", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_compute_runs"),
        _version_fk("compute_runs", cascade=False),
    )
    op.create_table(
        "index_values",
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("value", INDEX_VALUE, nullable=False),
        sa.PrimaryKeyConstraint("strategy_version", "date", name="pk_index_values"),
        _version_fk("index_values"),
    )
    op.create_table(
        "index_allocations",
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("weight", WEIGHT, nullable=False),
        sa.PrimaryKeyConstraint("strategy_version", "date", "asset_id", name="pk_index_allocations"),
        _version_fk("index_allocations"),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_index_allocations_asset_id_assets", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "index_metrics",
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("strategy_version", "name", name="pk_index_metrics"),
        _version_fk("index_metrics"),
    )
    op.create_table(
        "index_engine_states",
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.Column("state", JSON_DOC, nullable=False),
        sa.Column("prices_seen_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("strategy_version", name="pk_index_engine_states"),
        _version_fk("index_engine_states"),
    )
    publication = op.create_table(
        "index_publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("strategy_version", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_index_publication"),
        _version_fk("index_publication", cascade=False),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        versions,
        [
            {
                "id": 1,
                "params": _DEFAULT_PARAMS,
                "author": "system",
                "reason": "default strategy",
                "created_at": now,
                "is_active": True,
            }
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # The explicit id 1 did not advance the sequence; the next version must be 2.
        op.execute("SELECT setval(pg_get_serial_sequence('strategy_versions', 'id'), 1)")
    op.bulk_insert(
        publication, [{"id": 1, "data_version": 0, "strategy_version": None, "as_of": None, "updated_at": now}]
    )


def downgrade() -> None:
    op.drop_table("index_publication")
    op.drop_table("index_engine_states")
    op.drop_table("index_metrics")
    op.drop_table("index_allocations")
    op.drop_table("index_values")
    op.drop_table("compute_runs")
    op.drop_index("uq_strategy_versions_one_active", table_name="strategy_versions")
    op.drop_table("strategy_versions")
