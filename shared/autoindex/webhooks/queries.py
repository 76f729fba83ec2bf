"""Webhook endpoint and delivery reads and writes. They flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from autoindex.webhooks.models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def endpoints_of(session: Session, user_id: uuid.UUID) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id).order_by(WebhookEndpoint.created_at)
    return list(session.scalars(query))


def endpoint_count(session: Session, user_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).where(WebhookEndpoint.user_id == user_id)) or 0)


def owned_endpoint(
    session: Session, endpoint_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint | None:
    """The endpoint if this user owns it; someone else's is as absent as a missing one."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.user_id == user_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def subscribers(session: Session, event_type: str, user_id: uuid.UUID | None) -> list[WebhookEndpoint]:
    """Active endpoints taking this event (only the owner's when the event is private to one user)."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True))
    if user_id is not None:
        query = query.where(WebhookEndpoint.user_id == user_id)
    # The events list is JSON on both databases; the filter runs here (an account has at most a few endpoints).
    return [endpoint for endpoint in session.scalars(query) if event_type in endpoint.events]


def deliveries_with_endpoints(
    session: Session, delivery_ids: Sequence[int]
) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
    """Each delivery with its endpoint, in one query (a delivery without one is gone with it)."""
    query = (
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(list(delivery_ids)))
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def deliveries_for_update(session: Session, delivery_ids: Sequence[int]) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.id.in_(list(delivery_ids))).order_by(WebhookDelivery.id)
    return list(session.scalars(query.with_for_update()))


def deliveries_page(
    session: Session, endpoint_id: uuid.UUID, *, limit: int, before_id: int | None
) -> list[WebhookDelivery]:
    """Newest first, ``limit`` + 1 rows (the extra one says whether there is a next page)."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))


def deliveries_since(session: Session, user_id: uuid.UUID, since: datetime) -> dict[str, int]:
    """The owner's deliveries created since ``since``, counted by status."""
    query = (
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.user_id == user_id, WebhookDelivery.created_at >= since)
        .group_by(WebhookDelivery.status)
    )
    return {status: int(count) for status, count in session.execute(query)}
