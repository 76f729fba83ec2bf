"""Market data: assets and daily bars, refresh runs and batches, processed events; the default universe.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PRICE = sa.Numeric(20, 8)

# The earlier version's basket, the S&P 500 benchmark, and the USD pairs of the supported currencies.
# (symbol, name, type, exchange, mic, currency, sector, in_universe, is_benchmark)
_UNIVERSE = [
    ("AAPL", "Apple Inc", "stock", "NASDAQ", "XNGS", "USD", "Technology", True, False),
    ("MSFT", "Microsoft Corporation", "stock", "NASDAQ", "XNGS", "USD", "Technology", True, False),
    ("GOOGL", "Alphabet Inc Class A", "stock", "NASDAQ", "XNGS", "USD", "Communication Services", True, False),
    ("AMZN", "Amazon.com Inc", "stock", "NASDAQ", "XNGS", "USD", "Consumer Discretionary", True, False),
    ("META", "Meta Platforms Inc", "stock", "NASDAQ", "XNGS", "USD", "Communication Services", True, False),
    ("TSLA", "Tesla Inc", "stock", "NASDAQ", "XNGS", "USD", "Consumer Discretionary", True, False),
    ("NVDA", "NVIDIA Corporation", "stock", "NASDAQ", "XNGS", "USD", "Technology", True, False),
    ("SPY", "SPDR S&P 500 ETF Trust", "etf", "NYSE", "ARCX", "USD", "Equity ETF", True, False),
    ("GLD", "SPDR Gold Shares", "etf", "NYSE", "ARCX", "USD", "Commodity ETF", True, False),
    ("SLV", "iShares Silver Trust", "etf", "NYSE", "ARCX", "USD", "Commodity ETF", True, False),
    ("USO", "United States Oil Fund LP", "etf", "NYSE", "ARCX", "USD", "Commodity ETF", True, False),
    ("TLT", "iShares 20+ Year Treasury Bond ETF", "etf", "NASDAQ", "XNMS", "USD", "Bond ETF", True, False),
    ("IEF", "iShares 7-10 Year Treasury Bond ETF", "etf", "NASDAQ", "XNMS", "USD", "Bond ETF", True, False),
    ("SPX", "S&P 500 Index", "index", "NYSE", None, "USD", None, False, True),
]
_CURRENCIES = [
    "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK",
    "PLN", "CZK", "HUF", "CNY", "HKD", "SGD", "INR", "KRW", "BRL", "MXN", "ZAR",
]  # fmt: skip


def upgrade() -> None:
    assets = op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("asset_type", sa.String(16), nullable=False),
        sa.Column("exchange", sa.String(32), nullable=True),
        sa.Column("mic_code", sa.String(8), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("sector", sa.String(64), nullable=True),
        sa.Column("in_universe", sa.Boolean(), nullable=False),
        sa.Column("is_benchmark", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("prices_checked_through", sa.Date(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
        sa.UniqueConstraint("symbol", name="uq_assets_symbol"),
    )
    op.create_index(
        "uq_assets_single_benchmark",
        "assets",
        ["is_benchmark"],
        unique=True,
        postgresql_where=sa.text("is_benchmark"),
        sqlite_where=sa.text("is_benchmark"),
    )
    op.create_table(
        "daily_prices",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("open", PRICE, nullable=False),
        sa.Column("high", PRICE, nullable=False),
        sa.Column("low", PRICE, nullable=False),
        sa.Column("close", PRICE, nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ingested_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "date", name="pk_daily_prices"),
        sa.CheckConstraint(
            "low > 0 AND low <= open AND low <= close AND high >= open AND high >= close"
            " AND (volume IS NULL OR volume >= 0)",
            name="ohlc_consistent",  # the naming convention makes it ck_daily_prices_ohlc_consistent
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_daily_prices_asset_id_assets", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batches_total", sa.Integer(), nullable=False),
        sa.Column("batches_done", sa.Integer(), nullable=False),
        sa.Column("batches_failed", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("credits_used", sa.Integer(), nullable=False),
        sa.Column("errors", JSON_DOC, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("event_published_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_runs"),
        sa.UniqueConstraint("idempotency_key", name="uq_refresh_runs_idempotency_key"),
    )
    op.create_index(
        "uq_refresh_runs_one_active",
        "refresh_runs",
        [sa.text("(1)")],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
        sqlite_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_table(
        "refresh_batches",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("symbols", JSON_DOC, nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("credits_used", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_refresh_batches"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["refresh_runs.id"], name="fk_refresh_batches_run_id_refresh_runs", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("processed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_processed_events"),
    )

    now = datetime.now(UTC)
    rows = [
        dict(zip(("symbol", "name", "asset_type", "exchange", "mic_code", "currency", "sector",
                  "in_universe", "is_benchmark"), row, strict=True))
        for row in _UNIVERSE
    ]  # fmt: skip
    rows += [
        {
            "symbol": f"USD/{code}",
            "name": f"US Dollar / {code}",
            "asset_type": "fx",
            "exchange": None,
            "mic_code": None,
            "currency": code,
            "sector": None,
            "in_universe": False,
            "is_benchmark": False,
        }
        for code in _CURRENCIES
    ]
    op.bulk_insert(assets, [{**row, "is_active": True, "created_at": now, "updated_at": now} for row in rows])


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("refresh_batches")
    op.drop_index("uq_refresh_runs_one_active", table_name="refresh_runs")
    op.drop_table("refresh_runs")
    op.drop_table("daily_prices")
    op.drop_index("uq_assets_single_benchmark", table_name="assets")
    op.drop_table("assets")
