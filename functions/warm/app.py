"""Cache warming: on IndexComputed and CacheInvalidated, build the index API's most common reads for the new token."""

from __future__ import annotations

from typing import Any

from autoindex.events.envelope import parse_event
from autoindex.index.events import VersionPublished
from autoindex.index.warm import warm
from autoindex.observability import lambda_entry, logger


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    published = parse_event(VersionPublished, event, consumer="warm")
    if published is None:
        return {"status": "rejected"}
    token = published.detail.version_token
    outcome = warm(version_token=token)
    logger.info("caches warmed", extra={"version_token": token, "reads": outcome})
    return {"version_token": token, "reads": outcome}
