"""Which bus events become which webhook events, and with what data (nothing internal leaves: ids and dates only)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from autoindex.events.envelope import BusEvent
from autoindex.events.names import EventName


class WebhookSource(BusEvent):
    """A bus event some webhook event is made from; its ``detail`` is read field by field below."""

    accepts: ClassVar[frozenset[str]] = frozenset(
        {EventName.INDEX_COMPUTED, EventName.BACKTEST_FINISHED, EventName.REFRESH_FAILED, EventName.PRICES_REFRESHED}
    )
    detail: dict[str, Any] = Field(default_factory=dict)


class Outgoing(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_type: str
    event_id: str
    data: dict[str, Any]
    user_id: uuid.UUID | None = None  # a private event goes to this owner's endpoints only


def _pick(detail: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: detail.get(name) for name in names}


def outgoing(event: WebhookSource) -> list[Outgoing]:
    """The webhook events one bus event stands for (none for one nobody subscribes to)."""
    detail, kind = event.detail, event.detail_type
    if kind == EventName.INDEX_COMPUTED:
        data = _pick(detail, "data_version", "strategy_version", "as_of", "mode")
        found = [Outgoing(event_type="index.computed", event_id=f"evt_{event.id}", data=data)]
        if detail.get("rebalanced_on"):
            rebalance = {**data, "rebalanced_on": detail["rebalanced_on"]}
            found.append(Outgoing(event_type="index.rebalanced", event_id=f"evt_{event.id}_rb", data=rebalance))
        return found
    if kind == EventName.BACKTEST_FINISHED and detail.get("user_id"):
        data = _pick(detail, "backtest_id", "status")
        return [
            Outgoing(
                event_type="backtest.finished",
                event_id=f"evt_{event.id}",
                data=data,
                user_id=uuid.UUID(str(detail["user_id"])),
            )
        ]
    failed = kind == EventName.REFRESH_FAILED or (
        kind == EventName.PRICES_REFRESHED and detail.get("status") in ("partial", "failed")
    )
    if failed:
        return [
            Outgoing(event_type="refresh.failed", event_id=f"evt_{event.id}", data=_pick(detail, "run_id", "status"))
        ]
    return []
