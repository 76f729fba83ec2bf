"""Sessions end: every refresh token carries the absolute end of its session, which rotation copies.

Existing rows take their own expiry as the session's end (refresh can no longer extend them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("refresh_tokens", sa.Column("session_expires_at", TS, nullable=True))
    op.execute("UPDATE refresh_tokens SET session_expires_at = expires_at")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.alter_column("session_expires_at", existing_type=TS, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("session_expires_at")
