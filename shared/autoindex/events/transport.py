"""Publish events and enqueue work, to AWS or to the local runner, chosen by EVENT_TRANSPORT."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, Protocol

from autoindex.events.names import EventName
from autoindex.observability import logger
from autoindex.settings import get_settings


def dumps(payload: dict[str, Any]) -> str:
    """An event detail or message body as compact, key-sorted JSON (dates and ids as strings)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)


class LocalDispatcher(Protocol):
    """What the local runner offers: deliver an event to matching rules, messages to a queue's consumer."""

    def publish(self, detail_type: str, detail: dict[str, Any], *, source: str) -> None: ...

    def enqueue(self, queue: str, bodies: Sequence[str], delay_s: float = 0.0) -> None: ...


_local: LocalDispatcher | None = None


def use_local_dispatcher(dispatcher: LocalDispatcher | None) -> None:
    """Installed by the runner (``autoindex serve``, ``autoindex refresh``) for in-process delivery."""
    global _local  # noqa: PLW0603 - one dispatcher per process, like one event bus per account
    _local = dispatcher


class TransportUnavailable(RuntimeError):
    """Local transport with no runner to deliver to."""


def _dispatcher() -> LocalDispatcher:
    if _local is None:
        raise TransportUnavailable("EVENT_TRANSPORT=local but no local runner is active in this process")
    return _local


@functools.cache
def _events_client() -> Any:
    import boto3

    return boto3.client("events")


@functools.cache
def _sqs_client() -> Any:
    import boto3

    return boto3.client("sqs")


def publish(detail_type: EventName, detail: dict[str, Any]) -> None:
    """Publish one domain event; raises when the bus refuses it, so the caller's retry can try again."""
    settings = get_settings()
    if settings.event_transport == "local":
        _dispatcher().publish(detail_type, detail, source=settings.event_source)
        return
    response = _events_client().put_events(
        Entries=[
            {
                "Source": settings.event_source,
                "DetailType": detail_type,
                "Detail": dumps(detail),
                "EventBusName": settings.event_bus_name,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused {detail_type}: {response['Entries'][0].get('ErrorCode')}")
    logger.info("event published", extra={"detail_type": detail_type})


_SQS_BATCH = 10


# SQS caps a message's delay at 15 minutes; a longer wait is a chain of messages (webhooks.delivery does this).
SQS_MAX_DELAY_S = 900


def _queue_url(queue: str) -> str:
    settings = get_settings()
    urls = {
        "ingest": settings.ingest_queue_url,
        "webhooks": settings.webhook_queue_url,
        "backtests": settings.backtest_queue_url,
    }
    url = urls.get(queue)
    if url is None:
        raise ValueError(f"unknown queue {queue!r}")
    return url


def enqueue(queue: str, payloads: Sequence[dict[str, Any]], *, delay_s: float = 0.0) -> None:
    """Send work messages, visible after ``delay_s`` (at most 15 minutes); all or an exception (SQS batches of ten)."""
    settings = get_settings()
    bodies = [dumps(payload) for payload in payloads]
    delay_s = max(0.0, min(delay_s, SQS_MAX_DELAY_S))
    if settings.event_transport == "local":
        _dispatcher().enqueue(queue, bodies, delay_s)
        return
    url = _queue_url(queue)
    client = _sqs_client()
    for start in range(0, len(bodies), _SQS_BATCH):
        chunk = bodies[start : start + _SQS_BATCH]
        entries: list[dict[str, Any]] = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        if delay_s:
            for entry in entries:
                entry["DelaySeconds"] = round(delay_s)
        response = client.send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"SQS refused {len(response['Failed'])} of {len(chunk)} messages")


def reset_clients() -> None:
    for cached in (_events_client, _sqs_client):
        cached.cache_clear()
