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

    def enqueue(self, queue: str, bodies: Sequence[str]) -> None: ...


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


def enqueue(queue: str, payloads: Sequence[dict[str, Any]]) -> None:
    """Send work messages; all or an exception (SQS batches of ten, each checked)."""
    settings = get_settings()
    bodies = [dumps(payload) for payload in payloads]
    if settings.event_transport == "local":
        _dispatcher().enqueue(queue, bodies)
        return
    if queue != "ingest" or settings.ingest_queue_url is None:
        raise ValueError(f"unknown queue {queue!r}")
    client = _sqs_client()
    for start in range(0, len(bodies), _SQS_BATCH):
        chunk = bodies[start : start + _SQS_BATCH]
        response = client.send_message_batch(
            QueueUrl=settings.ingest_queue_url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
        )
        if response.get("Failed"):
            raise RuntimeError(f"SQS refused {len(response['Failed'])} of {len(chunk)} messages")


def reset_clients() -> None:
    for cached in (_events_client, _sqs_client):
        cached.cache_clear()
