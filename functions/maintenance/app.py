"""The maintenance job: once a week, delete what the retention settings allow, in one transaction."""

from __future__ import annotations

from typing import Any

from autoindex.db.uow import UnitOfWork
from autoindex.events.envelope import ScheduledEvent, parse_event
from autoindex.observability import lambda_entry
from autoindex.ops.maintenance import run_maintenance


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if parse_event(ScheduledEvent, event, consumer="maintenance") is None:
        return {"status": "rejected"}
    # A duplicate delivery is harmless: the second run finds only what the clock has let go since.
    return run_maintenance(uow=UnitOfWork()).as_dict()
