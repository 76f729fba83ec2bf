"""Delayed work messages (webhook retries): SQS DelaySeconds, capped at SQS's 15 minutes, on the right queue."""

from __future__ import annotations

from typing import Any

import pytest
from autoindex.events import transport


class _RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]]}


@pytest.fixture
def sqs(fresh_settings: pytest.MonkeyPatch) -> _RecordingSqs:
    fresh_settings.setenv("EVENT_TRANSPORT", "aws")
    fresh_settings.setenv("INGEST_QUEUE_URL", "https://sqs.example/ingest")
    fresh_settings.setenv("WEBHOOK_QUEUE_URL", "https://sqs.example/webhooks")
    recording = _RecordingSqs()
    fresh_settings.setattr(transport, "_sqs_client", lambda: recording)
    return recording


def test_a_delay_becomes_delay_seconds_capped_at_fifteen_minutes(sqs: _RecordingSqs) -> None:
    transport.enqueue("webhooks", [{"delivery_id": 1}], delay_s=42.4)
    transport.enqueue("webhooks", [{"delivery_id": 2}], delay_s=3_600)
    transport.enqueue("webhooks", [{"delivery_id": 3}])
    assert [batch["QueueUrl"] for batch in sqs.sent] == ["https://sqs.example/webhooks"] * 3
    assert [batch["Entries"][0].get("DelaySeconds") for batch in sqs.sent] == [42, 900, None]


def test_a_queue_without_a_url_is_refused(sqs: _RecordingSqs) -> None:
    with pytest.raises(ValueError, match="unknown queue"):
        transport.enqueue("backtests", [{"backtest_id": "x"}])
