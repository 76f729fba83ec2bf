"""The webhooks job: bus events fan out to subscribers' deliveries; SQS records are delivery attempts."""

from __future__ import annotations

from typing import Any

from autoindex.events.envelope import parse_event, record_rejection
from autoindex.observability import lambda_entry, logger
from autoindex.webhooks import delivery
from autoindex.webhooks.events import WebhookSource, outgoing
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, Field, ValidationError

processor = BatchProcessor(event_type=EventType.SQS)


class DeliveryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delivery_id: int = Field(ge=1)


def record_handler(record: SQSRecord) -> str:
    try:
        message = DeliveryMessage.model_validate_json(record.body)
    except ValidationError as exc:
        record_rejection(exc, consumer="webhooks", what="message")
        raise
    # A retry is a new delayed message, so this record succeeds; only an error (a database outage) fails it.
    return delivery.attempt(message.delivery_id)


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
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    return _fan_out(event)
