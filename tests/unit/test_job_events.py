"""Job events are parsed into typed models: the right ones pass, a malformed one is refused, logged and counted."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from autoindex.events import envelope
from autoindex.events.envelope import ScheduledEvent, parse_event
from autoindex.events.names import EventName
from autoindex.index.events import ComputeTrigger, VersionPublished
from autoindex.market.messages import IngestMessage, MalformedMessage
from autoindex_dev.envelopes import eventbridge_event
from autoindex_dev.lambda_events import scheduled_event


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The metric names recorded (Powertools would publish them as EMF at the end of the invocation)."""
    names: list[str] = []
    monkeypatch.setattr(envelope, "add_metric", lambda name, *args, **kwargs: names.append(name))
    return names


def _bus(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return eventbridge_event(detail_type, detail, source="autoindex")


def test_every_compute_trigger_parses_and_only_an_operator_request_may_rebuild() -> None:
    run_id = uuid.uuid4()
    for name in (EventName.PRICES_REFRESHED, EventName.STRATEGY_CHANGED, EventName.COMPUTE_REQUESTED):
        trigger = ComputeTrigger.model_validate(_bus(name, {"compute_run_id": str(run_id), "full": True}))
        assert trigger.detail_type is name and trigger.detail.compute_run_id == run_id
        assert trigger.full is (name is EventName.COMPUTE_REQUESTED)
    bare = ComputeTrigger.model_validate(_bus("PricesRefreshed", {"run_id": "r", "rows_written": 3}))
    assert bare.detail.compute_run_id is None and bare.full is False


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"detail-type": "PricesRefreshed", "source": "autoindex", "detail": {}}, "id"),
        (_bus("IndexComputed", {"version_token": "1-ab"}), "detail-type"),
        (_bus("NoSuchEvent", {}), "detail-type"),
        (_bus("ComputeRequested", {"compute_run_id": "not-a-uuid"}), "detail.compute_run_id"),
        (_bus("ComputeRequested", {"full": "yes"}), "detail.full"),
    ],
)
def test_a_malformed_compute_trigger_is_refused_logged_and_counted(
    event: dict[str, Any], field: str, metrics: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert parse_event(ComputeTrigger, event, consumer="compute") is None
    assert metrics == ["MalformedEvent"]
    (record,) = caplog.records
    assert record.levelname == "ERROR" and record.getMessage() == "malformed event rejected"
    assert getattr(record, "consumer", None) == "compute"
    assert field in [p["field"] for p in getattr(record, "problems", [])]


def test_a_rejection_names_fields_but_never_echoes_their_values(
    caplog: pytest.LogCaptureFixture, metrics: list[str]
) -> None:
    secret = "s3cr3t-value-that-must-not-be-logged"
    assert parse_event(ComputeTrigger, _bus("ComputeRequested", {"compute_run_id": secret}), consumer="compute") is None
    (record,) = caplog.records
    logged = json.dumps({"message": record.getMessage(), **record.__dict__}, default=str)
    assert "detail.compute_run_id" in logged and secret not in logged


def test_warming_needs_a_version_token_of_the_cache_s_shape(metrics: list[str]) -> None:
    ok = parse_event(VersionPublished, _bus("CacheInvalidated", {"version_token": "12-5f3a9c"}), consumer="warm")
    assert ok is not None and ok.detail.version_token == "12-5f3a9c"
    for detail in ({}, {"version_token": "../../etc"}, {"version_token": 7}):
        assert parse_event(VersionPublished, _bus("IndexComputed", detail), consumer="warm") is None
    assert parse_event(VersionPublished, _bus("PricesRefreshed", {"version_token": "1-a"}), consumer="warm") is None
    assert metrics == ["MalformedEvent"] * 4


def test_scheduled_events_parse_and_a_non_event_is_refused(metrics: list[str]) -> None:
    event = scheduled_event("refresh-weekdays")
    parsed = parse_event(ScheduledEvent, event, consumer="refresh")
    assert parsed is not None and parsed.id == event["id"] and parsed.detail_type == "Scheduled Event"
    junk: object
    for junk in (None, [], "event", {"id": ""}):
        assert parse_event(ScheduledEvent, junk, consumer="refresh") is None
    assert metrics == ["MalformedEvent"] * 4


def test_an_ingest_message_is_exactly_a_run_and_a_sequence_number(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[str] = []
    monkeypatch.setattr(envelope, "add_metric", lambda name, *args, **kwargs: counted.append(name))
    run_id = uuid.uuid4()
    assert IngestMessage.parse_body(json.dumps({"run_id": str(run_id), "seq": 3})) == IngestMessage(
        run_id=run_id, seq=3
    )
    for body in ("", "{}", "[]", '{"run_id": "x", "seq": 1}', json.dumps({"run_id": str(run_id), "seq": -1})):
        with pytest.raises(MalformedMessage):
            IngestMessage.parse_body(body)
    assert counted == ["MalformedEvent"] * 5
