"""The events the index jobs consume, as typed models: what triggers a compute, and what a warm-up needs."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from autoindex.events.envelope import BusEvent
from autoindex.events.names import EventName


class _Detail(BaseModel):
    # Publishers may add fields; a consumer reads only what it names.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ComputeTriggerDetail(_Detail):
    compute_run_id: uuid.UUID | None = None  # the run a strategy change or an operator queued
    full: StrictBool = False


class ComputeTrigger(BusEvent):
    """New prices, a new strategy version, or an operator's request: bring the index up to date."""

    accepts: ClassVar[frozenset[EventName]] = frozenset(
        {EventName.PRICES_REFRESHED, EventName.STRATEGY_CHANGED, EventName.COMPUTE_REQUESTED}
    )
    detail_type: EventName = Field(alias="detail-type")
    detail: ComputeTriggerDetail = ComputeTriggerDetail()

    @field_validator("detail_type")
    @classmethod
    def _accepted(cls, value: EventName) -> EventName:
        if value not in cls.accepts:
            raise ValueError(f"the compute job does not handle {value}")
        return value

    @property
    def full(self) -> bool:
        """Only an operator's ComputeRequested may ask to rebuild every day from the first."""
        return self.detail_type is EventName.COMPUTE_REQUESTED and self.detail.full


class VersionDetail(_Detail):
    version_token: str = Field(pattern=r"^[0-9]+-[0-9a-f]+$", max_length=64)


class VersionPublished(BusEvent):
    """A data version readers now use (a compute, or an operator's republication): warm its reads."""

    accepts: ClassVar[frozenset[EventName]] = frozenset({EventName.INDEX_COMPUTED, EventName.CACHE_INVALIDATED})
    detail_type: EventName = Field(alias="detail-type")
    detail: VersionDetail

    @field_validator("detail_type")
    @classmethod
    def _accepted(cls, value: EventName) -> EventName:
        if value not in cls.accepts:
            raise ValueError(f"cache warming does not handle {value}")
        return value
