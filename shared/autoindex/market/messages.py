"""Entry points shared by the job functions: message parsing and the SQS batch processor."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class IngestMessage(BaseModel):
    """The body of one ingest queue message: which batch of which run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: uuid.UUID
    seq: int
