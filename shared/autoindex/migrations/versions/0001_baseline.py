"""Baseline: the revision every later schema change builds on.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to create: the foundation owns no tables; it fixes the start of the chain."""


def downgrade() -> None:
    """Nothing to drop."""
