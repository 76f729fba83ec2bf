"""The AWS side of the event transport, against moto: EventBridge rule -> SQS target, and the ingest queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from autoindex.events import transport
from autoindex.events.names import EventName
from moto import mock_aws


@pytest.fixture
def aws(fresh_settings: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        fresh_settings.setenv(name, value)
    with mock_aws():
        sqs = boto3.client("sqs")
        ingest_url = sqs.create_queue(QueueName="autoindex-ingest")["QueueUrl"]
        events_url = sqs.create_queue(QueueName="events-probe")["QueueUrl"]
        events_arn = sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        eventbridge = boto3.client("events")
        eventbridge.put_rule(
            Name="prices-refreshed",
            EventPattern=json.dumps({"source": ["autoindex"], "detail-type": ["PricesRefreshed"]}),
        )
        eventbridge.put_targets(Rule="prices-refreshed", Targets=[{"Id": "probe", "Arn": events_arn}])
        fresh_settings.setenv("EVENT_TRANSPORT", "aws")
        fresh_settings.setenv("INGEST_QUEUE_URL", ingest_url)
        transport.reset_clients()
        yield {"sqs": sqs, "ingest_url": ingest_url, "events_url": events_url}
        transport.reset_clients()


def _drain(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        bodies += [m["Body"] for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_enqueue_sends_every_message_in_batches_of_ten(aws: dict[str, Any]) -> None:
    payloads = [{"run_id": "r", "seq": i} for i in range(23)]
    transport.enqueue("ingest", payloads)
    received = sorted(json.loads(b)["seq"] for b in _drain(aws["sqs"], aws["ingest_url"]))
    assert received == list(range(23))


def test_published_events_reach_the_rules_targets(aws: dict[str, Any]) -> None:
    transport.publish(EventName.PRICES_REFRESHED, {"run_id": "abc", "rows_written": 5})
    transport.publish(EventName.INDEX_COMPUTED, {"run_id": "x"})  # not matched by the rule
    delivered = [json.loads(b) for b in _drain(aws["sqs"], aws["events_url"])]
    assert [(e["detail-type"], e["source"], e["detail"]["run_id"]) for e in delivered] == [
        ("PricesRefreshed", "autoindex", "abc")
    ]


def test_an_unknown_queue_is_refused(aws: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown queue"):
        transport.enqueue("nope", [{"a": 1}])


def test_local_transport_without_a_runner_says_so(fresh_settings: pytest.MonkeyPatch) -> None:
    transport.use_local_dispatcher(None)
    with pytest.raises(transport.TransportUnavailable):
        transport.publish(EventName.PRICES_REFRESHED, {})
