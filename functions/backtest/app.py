"""The backtest job: SQS messages naming a queued backtest; each runs the engine once and stores the report."""

from __future__ import annotations

import uuid
from typing import Any

from autoindex.backtests.run import run
from autoindex.events.envelope import record_rejection
from autoindex.observability import lambda_entry, logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, ValidationError

processor = BatchProcessor(event_type=EventType.SQS)


class BacktestMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backtest_id: uuid.UUID


def record_handler(record: SQSRecord) -> str:
    try:
        message = BacktestMessage.model_validate_json(record.body)
    except ValidationError as exc:
        record_rejection(exc, consumer="backtest", what="message")
        raise
    status = run(message.backtest_id)
    logger.info("backtest processed", extra={"backtest_id": str(message.backtest_id), "status": status})
    return status


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
