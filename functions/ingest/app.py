"""The ingest job: SQS batches of refresh work, each record all-or-nothing, failures reported per record."""

from __future__ import annotations

from typing import Any

from autoindex.market.ingest import check_time_left, ingest_batch
from autoindex.market.messages import IngestMessage
from autoindex.market.providers.factory import get_provider
from autoindex.observability import lambda_entry, logger
from autoindex.settings import get_settings
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> str:
    message = IngestMessage.parse_body(record.body)  # a malformed body is logged, counted, and fails the record
    remaining_ms = processor.lambda_context.get_remaining_time_in_millis()
    check_time_left(remaining_ms, run_id=message.run_id, seq=message.seq)  # else back to the queue, untouched
    receives = int(record.attributes.approximate_receive_count)
    outcome = ingest_batch(
        run_id=message.run_id,
        seq=message.seq,
        provider=get_provider(),
        final_attempt=receives >= get_settings().ingest_max_receives,
    )
    logger.info("batch processed", extra={"run_id": str(message.run_id), "seq": message.seq, "status": outcome.status})
    return outcome.status


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
