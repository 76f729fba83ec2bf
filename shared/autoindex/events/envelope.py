"""What a job function receives, parsed into typed models: a malformed event is refused, logged and counted.

EventBridge delivers rule targets and schedules as one JSON envelope; each job declares the
``detail-type`` values and the ``detail`` it accepts by subclassing :class:`BusEvent`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autoindex.observability import add_metric, logger

E = TypeVar("E", bound=BaseModel)


class BusEvent(BaseModel):
    """An EventBridge event: the fields every job relies on. Subclasses narrow ``detail_type`` and ``detail``."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1, max_length=128)  # keys the idempotency ledger: a redelivery does nothing
    detail_type: str = Field(alias="detail-type", min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)


class ScheduledEvent(BusEvent):
    """A scheduled rule's event (``detail-type`` "Scheduled Event"; its ``detail`` is empty)."""


def parse_event(model: type[E], event: object, *, consumer: str) -> E | None:
    """``event`` as ``model``, or ``None`` after one log line and a ``MalformedEvent`` metric.

    The log names the fields that failed and why, never their values (an event may carry anything).
    """
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        record_rejection(exc, consumer=consumer)
        return None


def record_rejection(exc: ValidationError, *, consumer: str, what: str = "event") -> None:
    """One error log line naming the failed fields and why (never their values), and a ``MalformedEvent`` metric."""
    problems: list[dict[str, Any]] = [
        {"field": ".".join(str(part) for part in item["loc"]), "error": item["type"]}
        for item in exc.errors(include_url=False, include_input=False)[:10]
    ]
    logger.error(f"malformed {what} rejected", extra={"consumer": consumer, "problems": problems})
    add_metric("MalformedEvent")
