"""The webhooks job: bus events fan out to subscribers' deliveries; an SQS batch is one attempt at each delivery.

The batch is handled as a whole (one read, parallel sends, one write: ``delivery.attempt_many``). A
retry is a new delayed message, so a record fails only when its body is malformed or the batch's
database work fails (then SQS delivers it again, and after five receives it goes to the DLQ).
"""

from __future__ import annotations

from typing import Any

from autoindex.events.envelope import parse_event, record_rejection
from autoindex.observability import lambda_entry, logger
from autoindex.webhooks import delivery
from autoindex.webhooks.events import WebhookSource, outgoing
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class DeliveryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delivery_id: int = Field(ge=1, le=2**63 - 1)


def _attempts(records: list[dict[str, Any]]) -> dict[str, Any]:
    failed: list[str] = []
    ids: dict[str, int] = {}
    for record in records:
        try:
            ids[record["messageId"]] = DeliveryMessage.model_validate_json(record["body"]).delivery_id
        except ValidationError as exc:
            record_rejection(exc, consumer="webhooks", what="message")
            failed.append(record["messageId"])
    if ids:
        try:
            outcomes = delivery.attempt_many(sorted(set(ids.values())))
            logger.info("webhook attempts", extra={"outcomes": sorted(outcomes.values())})
        except Exception:
            logger.exception("webhook attempts failed; the batch goes back to the queue")
            failed += list(ids)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _fan_out(event: dict[str, Any]) -> dict[str, Any]:
    source = parse_event(WebhookSource, event, consumer="webhooks")
    if source is None:
        return {"status": "rejected"}
    queued = 0
    for item in outgoing(source):
        queued += delivery.fan_out(
            event_type=item.event_type, event_id=item.event_id, data=item.data, user_id=item.user_id
        )
    logger.info("webhook fan-out", extra={"detail_type": source.detail_type, "deliveries": queued})
    return {"deliveries": queued}


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> Any:
    if "Records" in event:
        return _attempts(list(event["Records"]))
    return _fan_out(event)
