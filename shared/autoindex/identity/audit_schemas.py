"""The audit trail as the admin API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autoindex import pagination
from autoindex.schemas import CleanText, IsoDateTime, PageQuery


class AuditQuery(PageQuery):
    action: Annotated[str, Field(max_length=64, pattern=r"^[a-z_.]+$")] | None = None
    actor_id: Annotated[CleanText, Field(max_length=64)] | None = None
    outcome: Literal["success", "failure", "denied"] | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("since and until need a timezone (e.g. 2026-01-01T00:00:00Z)")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


def encode_cursor(last_id: int) -> str:
    return pagination.encode_cursor("a", str(last_id))


def decode_cursor(cursor: str) -> int:
    return pagination.decode_int_cursor("a", cursor, max_value=pagination.BIGINT_MAX)


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_type: str
    actor_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    request_id: str | None
    source_ip: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventRead]
    next_cursor: str | None
