"""The compute job: on new prices, a strategy change or an operator's request, bring the active index up to date."""

from __future__ import annotations

from typing import Any

from autoindex.db.uow import UnitOfWork
from autoindex.events.envelope import parse_event
from autoindex.index.compute import handle_trigger
from autoindex.index.events import ComputeTrigger
from autoindex.observability import lambda_entry, logger


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    trigger = parse_event(ComputeTrigger, event, consumer="compute")
    if trigger is None:
        return {"status": "rejected"}  # retrying a malformed event cannot help; it is logged and counted
    # The event id keys the idempotency ledger: a redelivery does nothing.
    outcome = handle_trigger(new_uow=UnitOfWork, event=trigger)
    logger.info(
        "compute finished",
        extra={"status": outcome.status, "mode": outcome.mode, "data_version": outcome.data_version},
    )
    return {
        "status": outcome.status,
        "mode": outcome.mode,
        "run_id": str(outcome.run_id) if outcome.run_id else None,
        "data_version": outcome.data_version,
        "days_added": outcome.days_added,
    }
