"""In-process delivery of what AWS would deliver: EventBridge rules, SQS event sources, schedules.

Deliveries run one at a time on a worker thread, through the same handlers Lambda calls, with
SQS semantics kept: batches of the event source's size, partial-batch failures redelivered with a
growing receive count, and messages past the queue's ``maxReceiveCount`` moved to a dead-letter list.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from autoindex.observability import logger

from autoindex_dev.cron import Cron
from autoindex_dev.envelopes import eventbridge_event, sqs_event, sqs_record
from autoindex_dev.lambda_events import scheduled_event

if TYPE_CHECKING:
    from autoindex_dev.runner import Runner

# Queue names the code uses -> the template's queue resource.
QUEUES = {"ingest": "IngestQueue", "webhooks": "WebhookQueue", "backtests": "BacktestQueue"}


@dataclass
class _Message:
    body: str
    receive_count: int = 1
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def _ref(value: Any) -> str | None:
    """The logical id a ``!GetAtt X.Arn`` or ``!Ref X`` points at."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Ref" in value:
            return str(value["Ref"])
    return None


def _pattern_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    for key, allowed in pattern.items():
        if key == "detail":
            continue  # rules here filter on source and detail-type only
        if isinstance(allowed, list) and event.get(key) not in allowed:
            return False
    return True


class LocalDispatcher:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.dead_letters: list[tuple[str, str]] = []  # (queue, body)
        self.delivered = 0
        self._work: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._loop, name="local-dispatch", daemon=True)
        self._worker.start()
        self._scheduler: threading.Thread | None = None
        self._timers = 0  # delayed sends not yet visible
        self._timers_lock = threading.Lock()

    # --- the transport side (autoindex.events.transport calls these)
    def publish(self, detail_type: str, detail: dict[str, Any], *, source: str) -> None:
        self._submit("event", eventbridge_event(detail_type, detail, source=source))

    def enqueue(self, queue_name: str, bodies: Sequence[str], delay_s: float = 0.0) -> None:
        logical = QUEUES.get(queue_name)
        if logical is None or logical not in self.runner.template.resources:
            raise ValueError(f"unknown queue {queue_name!r}")
        # One work item for the whole send, so a batch never starts before its last message is queued.
        item = (logical, [_Message(body) for body in bodies])
        if delay_s <= 0:
            self._submit("sqs", item)
            return
        # SQS's DelaySeconds: the messages become visible later; drain() waits for them too.
        with self._timers_lock:
            self._timers += 1
        self._idle.clear()

        def release() -> None:
            with self._timers_lock:  # queued before the count drops, so the worker never sees "idle" in between
                self._submit("sqs", item)
                self._timers -= 1

        timer = threading.Timer(delay_s, release)
        timer.daemon = True
        timer.start()

    # --- schedules
    def start_schedules(self) -> None:
        """Fire the template's schedules at their minutes (in each one's time zone), as EventBridge would."""
        self._scheduler = threading.Thread(target=self._schedule_loop, name="local-schedules", daemon=True)
        self._scheduler.start()

    def _schedule_loop(self) -> None:
        schedules = [
            (fn.logical_id, Cron(str(expression), str(props.get("ScheduleExpressionTimezone", "UTC"))))
            for fn, props in self.runner.template.events_of_type("Schedule", "ScheduleV2")
            if isinstance(expression := props.get("ScheduleExpression") or props.get("Schedule"), str)
        ]
        last_minute = None
        while not self._stop.wait(1.0):
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            if now == last_minute:
                continue
            last_minute = now
            for function, cron in schedules:
                if cron.matches(now):
                    self._submit("invoke", (function, scheduled_event(f"{function}-schedule")))

    # --- the worker
    def _submit(self, kind: str, payload: Any) -> None:
        self._idle.clear()
        self._work.put((kind, payload))

    def drain(self, timeout_s: float = 300.0) -> bool:
        """Wait until everything queued (and everything it queued in turn) has been delivered."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._idle.wait(0.05) and self._work.empty() and not self._timers:
                return True
        return False

    def close(self) -> None:
        self._stop.set()
        self._work.put(("stop", None))

    def _loop(self) -> None:
        while True:
            kind, payload = self._work.get()
            try:
                if kind == "stop":
                    return
                if kind == "event":
                    self._deliver_event(payload)
                elif kind == "sqs":
                    self._deliver_sqs(*payload)
                elif kind == "invoke":
                    self.runner.invoke(payload[0], payload[1])
            except Exception:
                logger.exception("local delivery failed", extra={"kind": kind})
            finally:
                self.delivered += 1
                with self._timers_lock:
                    if self._work.empty() and not self._timers:
                        self._idle.set()

    def _deliver_event(self, event: dict[str, Any]) -> None:
        for fn, props in self.runner.template.events_of_type("EventBridgeRule", "CloudWatchEvent"):
            if _pattern_matches(props.get("Pattern") or {}, event):
                self.runner.invoke(fn.logical_id, event)

    def _deliver_sqs(self, logical: str, messages: list[_Message]) -> None:
        consumers = [
            (fn, props)
            for fn, props in self.runner.template.events_of_type("SQS")
            if _ref(props.get("Queue")) == logical
        ]
        if not consumers:
            raise ValueError(f"no function consumes {logical}")
        fn, props = consumers[0]
        limit = int(props.get("BatchSize", 10))
        for start in range(0, len(messages), limit):
            self._deliver_batch(fn.logical_id, logical, messages[start : start + limit])

    def _deliver_batch(self, function: str, logical: str, batch: list[_Message]) -> None:
        records = [
            sqs_record(m.body, queue_name=logical, receive_count=m.receive_count, message_id=m.message_id)
            for m in batch
        ]
        try:
            result = self.runner.invoke(function, sqs_event(records))
            failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            logger.exception("consumer failed the whole batch", extra={"function": function})
            failed_ids = {m.message_id for m in batch}
        max_receives = self._max_receive_count(logical)
        retry = []
        for message in batch:
            if message.message_id not in failed_ids:
                continue
            if message.receive_count >= max_receives:
                logger.error("message moved to the dead-letter queue", extra={"queue": logical})
                self.dead_letters.append((logical, message.body))
            else:
                message.receive_count += 1
                retry.append(message)
        if retry:
            # SQS hides a failed message for its visibility timeout; a short pause stands for it here, so a
            # retry does not land before the transaction that queued the message has committed.
            time.sleep(min(0.05 * 2 ** max(m.receive_count for m in retry), 2.0))
            self._submit("sqs", (logical, retry))

    def _max_receive_count(self, logical: str) -> int:
        props = (self.runner.template.resources.get(logical) or {}).get("Properties") or {}
        return int((props.get("RedrivePolicy") or {}).get("maxReceiveCount", 3))
