"""The ingest queue's message: which batch of which refresh run to fetch and store."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autoindex.events.envelope import record_rejection


class MalformedMessage(ValueError):
    """A queue message that can never be processed; it fails its record and ends in the dead-letter queue."""


class IngestMessage(BaseModel):
    """The body of one ingest queue message: which batch of which run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: uuid.UUID
    seq: int = Field(ge=0)

    @classmethod
    def parse_body(cls, body: str) -> IngestMessage:
        """The message in ``body``; a malformed one is logged (fields and reasons, not values) and counted."""
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            record_rejection(exc, consumer="ingest", what="message")
            raise MalformedMessage("the ingest message is malformed") from None
