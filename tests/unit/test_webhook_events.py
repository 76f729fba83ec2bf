"""Which bus events become which webhook events (issue 14), without a database."""

from __future__ import annotations

import uuid
from typing import Any

from autoindex.webhooks.events import WebhookSource, outgoing


def _event(detail_type: str, detail: dict[str, Any]) -> WebhookSource:
    return WebhookSource.model_validate(
        {"id": "e1", "detail-type": detail_type, "source": "autoindex", "detail": detail}
    )


def test_a_compute_with_a_new_rebalance_is_computed_and_rebalanced() -> None:
    detail = {"data_version": 4, "strategy_version": 1, "as_of": "2026-11-30", "mode": "incremental"}
    plain = outgoing(_event("IndexComputed", {**detail, "rebalanced_on": None, "version_token": "4-ab"}))
    assert [(o.event_type, o.data) for o in plain] == [("index.computed", detail)]  # nothing internal leaves
    both = outgoing(_event("IndexComputed", {**detail, "rebalanced_on": "2026-11-30"}))
    assert [o.event_type for o in both] == ["index.computed", "index.rebalanced"]
    assert both[1].data["rebalanced_on"] == "2026-11-30" and both[0].event_id != both[1].event_id
    assert all(o.user_id is None for o in both)  # public events: every subscriber


def test_a_backtest_goes_to_its_owner_only_and_refresh_failures_are_announced() -> None:
    owner = uuid.uuid4()
    (finished,) = outgoing(_event("BacktestFinished", {"backtest_id": "b", "status": "failed", "user_id": str(owner)}))
    assert (finished.event_type, finished.user_id, finished.data) == (
        "backtest.finished",
        owner,
        {"backtest_id": "b", "status": "failed"},
    )
    assert [o.event_type for o in outgoing(_event("RefreshFailed", {"run_id": "r", "status": "failed"}))] == [
        "refresh.failed"
    ]
    assert [o.event_type for o in outgoing(_event("PricesRefreshed", {"run_id": "r", "status": "partial"}))] == [
        "refresh.failed"
    ]
    assert outgoing(_event("PricesRefreshed", {"run_id": "r", "status": "succeeded"})) == []
