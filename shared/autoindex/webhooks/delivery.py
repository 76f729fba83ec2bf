"""Fan an event out to its subscribers, and make one delivery attempt: sign, send, record, retry or give up.

A delivery is a row (the log the owner reads) and an SQS message naming it. A failed attempt
schedules the next with exponential backoff and full jitter (``WEBHOOK_RETRY_BASE_S`` doubling up
to ``WEBHOOK_RETRY_MAX_S``) by sending a delayed message; a wait longer than SQS's 15-minute delay
limit is a chain of messages. Once the first attempt is ``WEBHOOK_RETRY_WINDOW_S`` old the delivery
fails and its endpoint is disabled, with the reason for its owner to read. Delivery is at least
once: a receiver deduplicates by the event id in the body.
"""

from __future__ import annotations

import functools
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from autoindex.db.uow import UnitOfWork
from autoindex.events import transport
from autoindex.identity import audit
from autoindex.observability import add_metric, logger
from autoindex.settings import get_settings
from autoindex.webhooks import queries as repo
from autoindex.webhooks import signing, ssrf
from autoindex.webhooks.models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    import httpx

QUEUE = "webhooks"
USER_AGENT = "AutoIndex-Webhooks/1"


def new_delivery(endpoint: WebhookEndpoint, event_id: str, event_type: str, payload: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=endpoint.id,
        user_id=endpoint.user_id,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        status="pending",
        attempts=0,
        created_at=datetime.now(UTC),
    )


def enqueue(delivery_ids: Sequence[int], *, delay_s: float = 0.0) -> None:
    transport.enqueue(QUEUE, [{"delivery_id": i} for i in delivery_ids], delay_s=delay_s)


def fan_out(*, event_type: str, event_id: str, data: dict[str, Any], user_id: uuid.UUID | None = None) -> int:
    """One delivery per subscribed active endpoint (only ``user_id``'s for a private event); returns the count."""
    with UnitOfWork() as uow:
        rows = [new_delivery(e, event_id, event_type, data) for e in repo.subscribers(uow.session, event_type, user_id)]
        uow.session.add_all(rows)
        uow.session.flush()
        ids = [row.id for row in rows]
    if ids:
        enqueue(ids)  # after the commit, so the consumer finds every row
    add_metric("WebhookDeliveriesQueued", len(ids))
    logger.info("webhook event fanned out", extra={"event_type": event_type, "deliveries": len(ids)})
    return len(ids)


def body_of(delivery: WebhookDelivery) -> bytes:
    """What the receiver gets: the event id, type, the time it happened and its data, as compact JSON."""
    document = {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created": int(delivery.created_at.timestamp()),
        "data": delivery.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def backoff_s(attempts: int) -> float:
    """Full jitter: a uniform wait up to base * 2**(attempts-1), capped."""
    settings = get_settings()
    ceiling = min(settings.webhook_retry_max_s, settings.webhook_retry_base_s * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What one attempt needs, read in a short transaction so no row lock is held while sending."""

    url: str
    secrets: tuple[str, ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    status_code: int | None
    error: str | None


def attempt(delivery_id: int) -> str:
    """One attempt at a delivery; returns what happened (delivered, retrying, failed, waiting, skipped)."""
    return attempt_many([delivery_id])[delivery_id]


def attempt_many(delivery_ids: Sequence[int]) -> dict[int, str]:
    """One attempt at each delivery of an SQS batch: one read, the sends in parallel, one write.

    The database work is per batch, not per delivery (three round trips for ten deliveries instead of
    thirty), and no row lock is held while a receiver answers.
    """
    now = datetime.now(UTC)
    outcomes, prepared = _prepare(delivery_ids, now)
    if prepared:
        results = _send_all(prepared)
        outcomes.update(_record(results))
    return outcomes


def _prepare(delivery_ids: Sequence[int], now: datetime) -> tuple[dict[int, str], dict[int, _Attempt]]:
    outcomes: dict[int, str] = dict.fromkeys(delivery_ids, "skipped")  # deleted, or a duplicate of a finished one
    prepared: dict[int, _Attempt] = {}
    waiting: list[tuple[int, float]] = []
    with UnitOfWork() as uow:
        for row, endpoint in repo.deliveries_with_endpoints(uow.session, delivery_ids):
            if row.status != "pending":
                continue
            if not endpoint.is_active:
                row.status, row.last_error, row.next_attempt_at = "failed", "The webhook is disabled.", None
                outcomes[row.id] = "failed"
            elif row.next_attempt_at is not None and row.next_attempt_at > now + timedelta(milliseconds=50):
                waiting.append((row.id, (row.next_attempt_at - now).total_seconds()))  # the chain continues
                outcomes[row.id] = "waiting"
            else:
                secrets = [endpoint.secret]
                grace = endpoint.previous_secret_expires_at
                if endpoint.previous_secret and grace is not None and grace > now:
                    secrets.append(endpoint.previous_secret)
                prepared[row.id] = _Attempt(url=endpoint.url, secrets=tuple(secrets), body=body_of(row))
    for delivery_id, delay_s in waiting:
        enqueue([delivery_id], delay_s=delay_s)
    return outcomes, prepared


def _send_all(prepared: dict[int, _Attempt]) -> dict[int, SendResult]:
    if len(prepared) == 1:
        ((delivery_id, one),) = prepared.items()
        return {delivery_id: send(one.url, one.body, one.secrets)}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(prepared), 10), thread_name_prefix="webhook-send") as pool:
        futures = {i: pool.submit(send, a.url, a.body, a.secrets) for i, a in prepared.items()}
        return {i: future.result() for i, future in futures.items()}


@functools.cache
def _client() -> httpx.Client:
    """One client per container: building one costs an SSL context (tens of ms), and it keeps connections."""
    import httpx

    settings = get_settings()
    # No redirects (a 3xx is a failed attempt), no proxy or netrc from the environment.
    return httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False, trust_env=False)


def reset_client() -> None:
    if _client.cache_info().currsize:
        _client().close()
    _client.cache_clear()


def send(url: str, body: bytes, secrets: Sequence[str], *, client: httpx.Client | None = None) -> SendResult:
    """POST the signed body to the address the URL resolves to now, checked by the SSRF guard; no redirects."""
    import httpx

    settings = get_settings()
    try:
        target = ssrf.parse(url, stage=settings.stage)
        address = ssrf.safe_address(target, allow_private=settings.webhook_allow_private)
    except ssrf.UnsafeUrl as exc:
        return SendResult(ok=False, status_code=None, error=str(exc))
    host_for_url = f"[{address}]" if ":" in address else address
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": host_header,
        signing.HEADER: signing.sign(body, secrets, int(datetime.now(UTC).timestamp())),
    }
    # The connection goes to the checked address; TLS still verifies the certificate against the name (SNI).
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        response = (client or _client()).post(
            f"{target.scheme}://{host_for_url}:{target.port}{target.path}",
            content=body,
            headers=headers,
            extensions=extensions,
        )
    except httpx.HTTPError as exc:
        return SendResult(ok=False, status_code=None, error=f"{type(exc).__name__}: the request did not complete.")
    if 200 <= response.status_code < 300:
        return SendResult(ok=True, status_code=response.status_code, error=None)
    return SendResult(
        ok=False, status_code=response.status_code, error=f"The receiver answered {response.status_code}."
    )


def _record(results: dict[int, SendResult]) -> dict[int, str]:
    settings = get_settings()
    now = datetime.now(UTC)
    outcomes: dict[int, str] = {}
    retries: list[tuple[int, float]] = []
    with UnitOfWork() as uow:
        for row in repo.deliveries_for_update(uow.session, list(results)):
            if row.status != "pending":
                continue
            result = results[row.id]
            row.attempts += 1
            row.last_status_code, row.last_error = result.status_code, result.error
            if result.ok:
                row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
                outcomes[row.id] = "delivered"
            elif (now - row.created_at).total_seconds() >= settings.webhook_retry_window_s:
                row.status, row.next_attempt_at = "failed", None
                _disable(uow, row.endpoint_id, now, result)
                outcomes[row.id] = "failed"
            else:
                retry_in = backoff_s(row.attempts)
                row.next_attempt_at = now + timedelta(seconds=retry_in)
                retries.append((row.id, retry_in))
                outcomes[row.id] = "retrying"
    for delivery_id, delay_s in retries:
        enqueue([delivery_id], delay_s=delay_s)
    for outcome in set(outcomes.values()):
        add_metric(f"WebhookDelivery{outcome.capitalize()}", sum(1 for o in outcomes.values() if o == outcome))
    return outcomes


def _disable(uow: UnitOfWork, endpoint_id: uuid.UUID, now: datetime, result: SendResult) -> None:
    endpoint = uow.session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None or not endpoint.is_active:
        return
    hours = get_settings().webhook_retry_window_s / 3600
    endpoint.is_active, endpoint.disabled_at = False, now
    endpoint.disabled_reason = (
        f"Deliveries kept failing for {hours:g} h (last: {result.error or 'no answer'}); "
        "fix the receiver, then enable the webhook again."
    )[:500]
    endpoint.updated_at = now
    audit.record(
        uow.session,
        action="webhook.disabled",
        outcome="failure",
        meta=None,
        actor=("system", None),
        target=("webhook", str(endpoint.id)),
        details={"last_status_code": result.status_code},
    )
    logger.warning("webhook disabled after its retry window", extra={"endpoint_id": str(endpoint.id)})
