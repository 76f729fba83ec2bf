"""The share-count job: once a week, every stock's SEC EDGAR filings, stored all or nothing."""

from __future__ import annotations

from typing import Any

from autoindex.events.envelope import ScheduledEvent, parse_event
from autoindex.market.share_counts import cache_from_settings, refresh_share_counts, source_from_settings
from autoindex.observability import lambda_entry


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if parse_event(ScheduledEvent, event, consumer="share_counts") is None:
        return {"status": "rejected"}
    # A failure (throttled, garbage) raises: nothing was stored, the schedule retries, then the DLQ.
    # A duplicate delivery replaces the counts with the same documents. The next compute sees the new
    # counts (newer than its state) and recomputes in full.
    # Stocks without a CIK are looked up in SEC's ticker map (cached for days); an unreadable map fails
    # nothing: it is reported here and the stocks whose CIK was known are refreshed as usual.
    # Waiting for EDGAR's shared pace (other processes may be asking SEC too) never runs past the timeout.
    source = source_from_settings(time_left_s=lambda: context.get_remaining_time_in_millis() / 1000)
    outcome = refresh_share_counts(source, cache=cache_from_settings())
    return {
        "status": "succeeded",
        "assets": outcome.assets,
        "with_counts": outcome.with_counts,
        "facts": outcome.facts,
        "resolved": outcome.resolved,
        "unresolved": outcome.unresolved,
        "ticker_map": outcome.ticker_map,
    }
