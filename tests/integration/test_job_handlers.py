"""Job handlers as Lambda calls them: a malformed event changes nothing; a failing compute marks its run failed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.index import compute
from autoindex.index.models import ComputeRun
from autoindex.market.models import RefreshRun
from autoindex_dev.envelopes import eventbridge_event, sqs_event, sqs_record
from autoindex_dev.lambda_events import LocalContext, scheduled_event
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher


def _count(model: type[Any]) -> int:
    with UnitOfWork(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _invoke(name: str, event: Any) -> Any:
    # Ingest checks the time left for a batch: give it the template's Timeout, as Lambda would.
    return function_handler(name)(event, LocalContext(function_name=name, timeout_s=300))


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("compute", {"id": "e1", "source": "autoindex", "detail": {}}),  # no detail-type
        ("compute", eventbridge_event("IndexComputed", {"version_token": "1-a"}, source="autoindex")),
        ("compute", eventbridge_event("ComputeRequested", {"full": "yes"}, source="autoindex")),
        ("warm", eventbridge_event("IndexComputed", {}, source="autoindex")),
        ("refresh", {"detail-type": "Scheduled Event", "source": "aws.events"}),  # no id to key the run on
        ("maintenance", []),
        ("share_counts", []),
    ],
)
def test_a_malformed_event_is_rejected_and_changes_nothing(migrated: Engine, name: str, event: Any) -> None:
    before = (_count(ComputeRun), _count(RefreshRun))
    assert _invoke(name, event) == {"status": "rejected"}
    assert (_count(ComputeRun), _count(RefreshRun)) == before


def test_malformed_and_not_yet_committed_ingest_messages_come_back(migrated: Engine) -> None:
    # Given a malformed message and one for a batch whose run is not committed (yet)
    bad = sqs_record(json.dumps({"run_id": "not-a-uuid", "seq": 0}), queue_name="ingest")
    unseen = sqs_record(json.dumps({"run_id": str(uuid.uuid4()), "seq": 0}), queue_name="ingest")
    # Then neither is deleted: every record failed, so the whole delivery returns to the queue
    # (deleting the unseen one would strand a run whose commit was merely slower than the consumer)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        _invoke("ingest", sqs_event([bad, unseen]))


def test_a_failing_compute_marks_its_queued_run_failed_and_raises(
    migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = uuid.uuid4()
    with UnitOfWork() as uow:
        uow.session.add(ComputeRun(id=run_id, trigger="ComputeRequested", status="queued"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(compute, "_locked", broken)
    event = eventbridge_event("ComputeRequested", {"compute_run_id": str(run_id), "full": False}, source="autoindex")
    with pytest.raises(RuntimeError, match="disk full"):
        _invoke("compute", event)
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(ComputeRun, run_id)
        assert run is not None and (run.status, run.error) == ("failed", "RuntimeError")
        assert run.finished_at is not None


@pytest.mark.usefixtures("market")
def test_a_scheduled_refresh_keys_its_run_on_the_event_id(dispatcher: RecordingDispatcher) -> None:
    event = scheduled_event("refresh-weekdays")
    first = _invoke("refresh", event)
    again = _invoke("refresh", event)
    assert again["run_id"] == first["run_id"] and again["joined"] is True
