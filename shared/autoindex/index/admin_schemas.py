"""Operator bodies for the compute trigger, compute runs and the read cache."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autoindex.schemas import CleanText


class ComputeRequest(BaseModel):
    """POST /v1/admin/compute: bring the index up to date now, or rebuild it from scratch."""

    model_config = ConfigDict(extra="forbid")

    full: bool = Field(False, strict=True, description="Recompute every day from the first instead of extending.")
    reason: Annotated[CleanText, Field(min_length=3, max_length=500)]


class RebalanceRequestBody(BaseModel):
    """POST /v1/admin/rebalance: rebalance off schedule at the next close, and why."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[CleanText, Field(min_length=3, max_length=500)]


class RebalanceAccepted(BaseModel):
    request_id: uuid.UUID
    effective_date: date = Field(
        description="The rebalance happens at the close of the first trading date on or after this date."
    )
    reason: str
    joined: bool = Field(description="True when this Idempotency-Key had already queued the request.")


class ComputeAccepted(BaseModel):
    run_id: uuid.UUID
    status: str
    strategy_version: int
    full: bool


class ComputeRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    trigger: str
    strategy_version: int | None
    status: str
    mode: str | None
    data_version: int | None
    days_added: int
    error: str | None
    disclosure: dict[str, Any] | None = Field(
        None,
        description="What the run's numbers rest on: market_cap_leg, market_cap_note, cap_sources, "
        "skipped_rebalances, notes, data_source.",
    )
    created_at: datetime
    finished_at: datetime | None


class ComputeRunPage(BaseModel):
    items: list[ComputeRunRead]
    next_cursor: str | None


class PublishedVersion(BaseModel):
    """What the database says readers should see."""

    data_version: int
    strategy_version: int
    as_of: date
    published_at: datetime
    version_token: str


class CacheStatsRead(BaseModel):
    backend: Literal["redis", "memory"]
    reachable: bool
    published: PublishedVersion | None = Field(description="None until the first compute.")
    current_token: str | None = Field(description="The token readers use now; None when it has lapsed or is unknown.")
    in_step: bool = Field(description="Whether readers use the published token (a lapsed token is re-read on a miss).")
    entries_current: int | None = Field(description="Stored reads of the current token; None if not counted.")
    entries_counted_all: bool = Field(description="False when counting stopped at the scan limit.")
    local_entries: int = Field(description="Bodies this container holds in process.")
    local_bytes: int
    hit_miss_metrics: str = "CacheHit and CacheMiss, EMF metrics in the service's namespace"


class CacheInvalidated(BaseModel):
    previous_token: str
    version_token: str
    data_version: int
