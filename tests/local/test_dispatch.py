"""The local runner's SQS and EventBridge delivery keeps AWS's semantics: batches, partial failures, DLQ, rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from autoindex_dev.dispatch import LocalDispatcher
from autoindex_dev.runner import Runner

TEMPLATE = """
Resources:
  IngestQueue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {maxReceiveCount: 3}
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: consumer/
      Handler: app.handler
      Events:
        Work: {Type: SQS, Properties: {Queue: !GetAtt IngestQueue.Arn, BatchSize: 4}}
  Listener:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: listener/
      Handler: app.handler
      Events:
        Done: {Type: EventBridgeRule, Properties: {Pattern: {source: [autoindex], detail-type: [Done]}}}
"""

CONSUMER = """
import json
SEEN = []

def handler(event, context):
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        SEEN.append((body["n"], int(record["attributes"]["ApproximateReceiveCount"]), len(event["Records"])))
        if body.get("fail_until", 0) >= int(record["attributes"]["ApproximateReceiveCount"]):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""

LISTENER = """
GOT = []

def handler(event, context):
    GOT.append((event["detail-type"], event["detail"]))
"""


@pytest.fixture
def dispatcher(tmp_path: Path) -> Any:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    for name, code in (("consumer", CONSUMER), ("listener", LISTENER)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(code)
    runner = Runner.from_file(tmp_path / "template.yaml")
    local = LocalDispatcher(runner)
    yield local, runner
    local.close()
    runner.close()


def _module(runner: Runner, function: str) -> Any:
    from autoindex_dev.loader import load_module

    fn = runner.template.function(function)
    return vars(load_module(fn.code_uri, fn.handler))


def test_messages_arrive_in_batches_and_failures_are_redelivered_then_dead_lettered(dispatcher: Any) -> None:
    local, runner = dispatcher
    consumer = _module(runner, "Consumer")
    bodies = [json.dumps({"n": n}) for n in range(5)]
    bodies.append(json.dumps({"n": 5, "fail_until": 1}))  # fails once, then succeeds
    bodies.append(json.dumps({"n": 6, "fail_until": 99}))  # never succeeds
    local.enqueue("ingest", bodies)
    assert local.drain(10)
    attempts = {n: max(c for m, c, _ in consumer["SEEN"] if m == n) for n in range(7)}
    assert attempts == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 3}
    assert max(size for _, _, size in consumer["SEEN"]) == 4  # the event source's BatchSize
    assert local.dead_letters == [("IngestQueue", bodies[6])]


def test_events_reach_only_matching_rules(dispatcher: Any) -> None:
    local, runner = dispatcher
    listener = _module(runner, "Listener")
    local.publish("Done", {"a": 1}, source="autoindex")
    local.publish("Other", {"a": 2}, source="autoindex")
    local.publish("Done", {"a": 3}, source="someone-else")
    assert local.drain(10)
    assert listener["GOT"] == [("Done", {"a": 1})]


def test_unknown_queue_is_refused(dispatcher: Any) -> None:
    local, _ = dispatcher
    with pytest.raises(ValueError, match="unknown queue"):
        local.enqueue("nope", ["{}"])
