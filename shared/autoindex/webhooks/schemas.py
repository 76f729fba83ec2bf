"""What the webhook routes take and give. A URL is refused here (a 422 naming ``url``) when no delivery could use it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from autoindex.schemas import CleanText
from autoindex.settings import get_settings
from autoindex.webhooks import ssrf

EventType = Literal["index.computed", "index.rebalanced", "backtest.finished", "refresh.failed"]
EVENT_TYPES: tuple[str, ...] = ("index.computed", "index.rebalanced", "backtest.finished", "refresh.failed")

Url = Annotated[CleanText, Field(min_length=8, max_length=2048, examples=["https://example.com/hooks/autoindex"])]


def _safe_url(value: str) -> str:
    settings = get_settings()
    try:
        ssrf.check_literal(ssrf.parse(value, stage=settings.stage), allow_private=settings.webhook_allow_private)
    except ssrf.UnsafeUrl as exc:
        raise ValueError(str(exc)) from None
    return value


def _unique_events(value: list[EventType]) -> list[EventType]:
    if len(set(value)) != len(value):
        raise ValueError("events must not repeat")
    return sorted(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_Strict):
    url: Url
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]
    description: Annotated[CleanText, Field(max_length=200)] | None = None

    _url = field_validator("url")(_safe_url)
    _events = field_validator("events")(_unique_events)


class WebhookUpdate(_Strict):
    """Change what is named. ``active: true`` re-enables a disabled endpoint. A new secret comes only from
    ``POST .../rotate-secret``, the one answer that can show it."""

    url: Url | None = None
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))] | None = None
    description: Annotated[CleanText, Field(max_length=200)] | None = None
    # Strict: JSON 0/1 or "yes" is refused, not read as a flag.
    active: Annotated[bool, Field(strict=True)] | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _safe_url(value)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[EventType] | None) -> list[EventType] | None:
        return None if value is None else _unique_events(value)


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    url: str
    description: str | None
    events: list[str]
    active: bool = Field(validation_alias="is_active")
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why deliveries stopped (set when the retry window ran out).")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries carry a second signature made with the previous secret."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The signing secret. It is shown this once (and after a rotation) only.")


class WebhookList(BaseModel):
    items: list[WebhookRead]


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None


class RedeliveryAccepted(BaseModel):
    delivery_id: int
    status: Literal["pending"] = "pending"
