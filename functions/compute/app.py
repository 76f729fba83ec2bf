"""The compute job: on new prices, a strategy change or an operator's request, bring the active index up to date."""

from __future__ import annotations

import uuid
from typing import Any

from autoindex.db.uow import UnitOfWork
from autoindex.index.compute import mark_failed, run_compute
from autoindex.observability import lambda_entry, logger


def _run_id(detail: dict[str, Any]) -> uuid.UUID | None:
    raw = detail.get("compute_run_id")
    return uuid.UUID(str(raw)) if raw else None


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The EventBridge event id keys the idempotency ledger: a redelivery does nothing.
    trigger = str(event.get("detail-type") or "unknown")
    detail = event.get("detail") or {}
    run_id = _run_id(detail)
    full = detail.get("full") is True  # only an operator's ComputeRequested asks for a rebuild
    try:
        outcome = run_compute(uow=UnitOfWork(), trigger=trigger, event_id=event.get("id"), run_id=run_id, full=full)
    except Exception as exc:
        if run_id is not None:
            mark_failed(uow=UnitOfWork(), run_id=run_id, error=type(exc).__name__)
        raise
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
