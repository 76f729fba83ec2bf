"""The refresh job: on its weekday schedule, plan only what is missing and queue it for ingestion."""

from __future__ import annotations

from typing import Any

from autoindex.db.uow import UnitOfWork
from autoindex.events.envelope import ScheduledEvent, parse_event
from autoindex.market.refresh import request_refresh
from autoindex.observability import lambda_entry, logger


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    scheduled = parse_event(ScheduledEvent, event, consumer="refresh")
    if scheduled is None:
        return {"status": "rejected"}
    # The scheduled event's id is the idempotency key: a duplicate delivery joins the run it started.
    ticket = request_refresh(
        uow=UnitOfWork(), trigger="schedule", requested_by=None, idempotency_key=f"schedule:{scheduled.id}", meta=None
    )
    run = ticket.run
    logger.info("refresh planned", extra={"run_id": str(run.id), "batches": run.batches_total, "joined": ticket.joined})
    return {"run_id": str(run.id), "status": run.status, "batches": run.batches_total, "joined": ticket.joined}
