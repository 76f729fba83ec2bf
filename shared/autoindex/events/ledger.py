"""The ledger of events and messages already handled: a duplicate delivery does no duplicate work.

A consumer adds its row in the same transaction as the effect, so the effect and the record of it
commit or roll back together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from autoindex.db.base import Base
from autoindex.db.types import UTCDateTime, utcnow


class ProcessedEvent(Base):
    """An event or message id already handled by a consumer: a duplicate delivery does no duplicate work."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
