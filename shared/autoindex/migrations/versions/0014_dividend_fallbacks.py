"""Refresh runs record the payers whose dividends took a second call, and why.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


# Plain ADD COLUMN, as 0007 does: a batch "move and copy" would have to rebuild the one-active-run index.


def upgrade() -> None:
    op.add_column(
        "refresh_runs", sa.Column("dividend_fallbacks", JSON_DOC, nullable=False, server_default=sa.text("'{}'"))
    )


def downgrade() -> None:
    op.drop_column("refresh_runs", "dividend_fallbacks")
