"""Webhook endpoints for their owners: create (the secret shown once), list, update, rotate, delete; all audited.

Mutations take the ``write`` scope and reads the ``read`` scope (the routes decide); an endpoint is
visible only to its owner, and anyone else's is a 404 like a missing one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from autoindex.errors import Conflict, NotFound
from autoindex.identity import audit
from autoindex.pagination import BIGINT_MAX, decode_int_cursor, encode_cursor
from autoindex.settings import get_settings
from autoindex.webhooks import queries as repo
from autoindex.webhooks import signing
from autoindex.webhooks.models import WebhookDelivery, WebhookEndpoint
from autoindex.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    RedeliveryAccepted,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookRead,
    WebhookUpdate,
)

if TYPE_CHECKING:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal, RequestMeta

_CURSOR_KIND = "whd"


def _created(endpoint: WebhookEndpoint) -> WebhookCreated:
    return WebhookCreated.model_validate(
        {**WebhookRead.model_validate(endpoint).model_dump(), "secret": endpoint.secret}
    )


def _owned(uow: UnitOfWork, principal: Principal, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = repo.owned_endpoint(uow.session, endpoint_id, principal.user_id, lock=lock)
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


def create(*, uow: UnitOfWork, principal: Principal, body: WebhookCreate, meta: RequestMeta) -> WebhookCreated:
    settings = get_settings()
    now = datetime.now(UTC)
    with uow:
        if repo.endpoint_count(uow.session, principal.user_id) >= settings.webhook_max_per_user:
            raise Conflict(f"An account may hold at most {settings.webhook_max_per_user} webhooks.")
        endpoint = WebhookEndpoint(
            id=uuid.uuid4(),
            user_id=principal.user_id,
            url=body.url,
            description=body.description,
            events=list(body.events),
            secret=signing.new_secret(),
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(endpoint)
        uow.session.flush()
        _audit(uow, principal, meta, "webhook.create", endpoint, {"url": body.url, "events": list(body.events)})
        return _created(endpoint)


def list_for(*, uow: UnitOfWork, principal: Principal) -> WebhookList:
    with uow:
        return WebhookList(
            items=[WebhookRead.model_validate(e) for e in repo.endpoints_of(uow.session, principal.user_id)]
        )


def get(*, uow: UnitOfWork, principal: Principal, endpoint_id: uuid.UUID) -> WebhookRead:
    with uow:
        return WebhookRead.model_validate(_owned(uow, principal, endpoint_id))


def update(
    *, uow: UnitOfWork, principal: Principal, endpoint_id: uuid.UUID, body: WebhookUpdate, meta: RequestMeta
) -> WebhookRead:
    with uow:
        endpoint = _owned(uow, principal, endpoint_id, lock=True)
        changed = body.model_dump(exclude_unset=True)
        if body.url is not None:
            endpoint.url = body.url
        if body.events is not None:
            endpoint.events = list(body.events)
        if "description" in changed:
            endpoint.description = body.description
        if body.active is True and not endpoint.is_active:
            endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = True, None, None
        elif body.active is False and endpoint.is_active:
            endpoint.is_active, endpoint.disabled_at = False, datetime.now(UTC)
            endpoint.disabled_reason = "Disabled by its owner."
        endpoint.updated_at = datetime.now(UTC)
        uow.session.flush()
        _audit(uow, principal, meta, "webhook.update", endpoint, {"fields": sorted(changed)})
        return WebhookRead.model_validate(endpoint)


def rotate_secret(
    *, uow: UnitOfWork, principal: Principal, endpoint_id: uuid.UUID, meta: RequestMeta
) -> WebhookCreated:
    """A new secret; the old one keeps signing too (a second ``v1``) for WEBHOOK_SECRET_GRACE_S."""
    now = datetime.now(UTC)
    with uow:
        endpoint = _owned(uow, principal, endpoint_id, lock=True)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(seconds=get_settings().webhook_secret_grace_s)
        endpoint.secret = signing.new_secret()
        endpoint.updated_at = now
        uow.session.flush()
        _audit(uow, principal, meta, "webhook.rotate_secret", endpoint, {})
        return _created(endpoint)


def delete(*, uow: UnitOfWork, principal: Principal, endpoint_id: uuid.UUID, meta: RequestMeta) -> None:
    with uow:
        endpoint = _owned(uow, principal, endpoint_id, lock=True)
        _audit(uow, principal, meta, "webhook.delete", endpoint, {"url": endpoint.url})
        uow.session.delete(endpoint)


def deliveries(
    *, uow: UnitOfWork, principal: Principal, endpoint_id: uuid.UUID, limit: int, cursor: str | None
) -> DeliveryPage:
    before = decode_int_cursor(_CURSOR_KIND, cursor, max_value=BIGINT_MAX) if cursor else None
    with uow:
        _owned(uow, principal, endpoint_id)
        rows = repo.deliveries_page(uow.session, endpoint_id, limit=limit, before_id=before)
        items = [DeliveryRead.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_cursor(_CURSOR_KIND, str(items[-1].id)) if len(rows) > limit else None
    return DeliveryPage(items=items, next_cursor=next_cursor)


def redeliver(
    *, uow: UnitOfWork, principal: Principal, endpoint_id: uuid.UUID, delivery_id: int, meta: RequestMeta
) -> RedeliveryAccepted:
    """Send an old delivery's event again, as a new delivery with the same event id (receivers deduplicate)."""
    from autoindex.webhooks import delivery

    with uow:
        endpoint = _owned(uow, principal, endpoint_id)
        original = uow.session.get(WebhookDelivery, delivery_id)
        if original is None or original.endpoint_id != endpoint.id:
            raise NotFound("No such delivery.")
        if not endpoint.is_active:
            raise Conflict("The webhook is disabled; enable it first (PATCH with active: true).")
        copy = delivery.new_delivery(endpoint, original.event_id, original.event_type, original.payload)
        uow.session.add(copy)
        uow.session.flush()
        _audit(uow, principal, meta, "webhook.redeliver", endpoint, {"delivery_id": delivery_id})
        new_id = copy.id
    delivery.enqueue([new_id])  # after the commit: the consumer must find the row
    return RedeliveryAccepted(delivery_id=new_id)


def _audit(  # noqa: PLR0917 - one private helper, called positionally six times above
    uow: UnitOfWork,
    principal: Principal,
    meta: RequestMeta,
    action: str,
    endpoint: WebhookEndpoint,
    details: dict[str, object],
) -> None:
    audit.record(
        uow.session,
        action=action,
        outcome="success",
        meta=meta,
        actor=principal.actor,
        target=("webhook", str(endpoint.id)),
        details=details,
    )
