"""Logging, metrics and tracing: one place, built lazily so cold starts stay small.

Every module logs through :data:`logger` (Powertools reuses one logger per service name).
Metrics go out as CloudWatch EMF, flushed by :func:`lambda_entry` at the end of each
invocation. The X-Ray tracer (which loads botocore, ~225 ms) is imported only when
``TRACING_ENABLED`` is true.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger

from autoindex.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics, Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "autoindex"

# Fields every Powertools record carries that a person at a terminal does not need on each line.
_PLAIN_SKIP = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "sampling_rate",
        "xray_trace_id",
        "correlation_id",
    }
    | {"function_name", "function_memory_size", "function_arn", "function_request_id", "exception_name", "stack_trace"}
)


def _plain_line(record: Mapping[str, Any]) -> str:
    """One readable line (and the traceback below it, if any) instead of a JSON object."""
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k not in _PLAIN_SKIP | {"exception"} and v is not None)
    line = f"{record.get('timestamp', '')} {record.get('level', '')} {record.get('message', '')} {extras}".rstrip()
    return f"{line}\n{record['exception']}" if record.get("exception") else line


def log_format() -> Literal["json", "text"]:
    """``LOG_FORMAT`` (``json`` or ``text``); by default JSON in Lambda (for Logs Insights), text elsewhere."""
    chosen = os.environ.get("LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return "json" if chosen == "json" else "text"
    return "json" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "text"


# Level and service come from POWERTOOLS_* / LOG_LEVEL in template.yaml; locally INFO is right.
logger = Logger(service=SERVICE) if log_format() == "json" else Logger(service=SERVICE, json_serializer=_plain_line)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

EventKind = Literal["http", "event"]
Handler = Callable[[dict[str, Any], "LambdaContext"], Any]


def client_request_id(value: str | None) -> str | None:
    """An incoming X-Request-ID when it is safe to log and echo; otherwise None."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return None


def http_event_request_id(event: Mapping[str, Any]) -> str | None:
    """The correlation id of an API Gateway v2.0 event: the caller's X-Request-ID, else API Gateway's."""
    headers = event.get("headers") or {}
    incoming = next((v for k, v in headers.items() if k.lower() == "x-request-id"), None)
    ctx = event.get("requestContext") or {}
    return client_request_id(incoming) or ctx.get("requestId")


@functools.cache
def get_metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=get_settings().metrics_namespace, service=SERVICE)


_metrics_pending = False


_metrics_lock = threading.Lock()  # uncontended in Lambda; the local runner serves requests on several threads


def add_metric(name: str, value: float = 1, unit: str = "Count") -> None:
    """Record one EMF metric; it is published when the current invocation ends."""
    global _metrics_pending  # noqa: PLW0603 - one flag per container, like the Metrics store itself
    from aws_lambda_powertools.metrics import MetricUnit

    with _metrics_lock:
        get_metrics().add_metric(name=name, unit=MetricUnit(unit), value=value)
        _metrics_pending = True


def flush_metrics() -> None:
    """Publish the invocation's metrics as EMF (JSON logs, in Lambda); with text logs, a person reads the
    output (``autoindex serve``), so the metric blobs are dropped instead of printed between the lines."""
    global _metrics_pending  # noqa: PLW0603
    with _metrics_lock:
        if _metrics_pending:
            if log_format() == "json":
                get_metrics().flush_metrics()
            else:
                get_metrics().clear_metrics()
            _metrics_pending = False


@functools.cache
def get_tracer() -> Tracer | None:
    if not get_settings().tracing_enabled:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def lambda_entry(kind: EventKind = "event") -> Callable[[Handler], Handler]:
    """Wrap a Lambda handler: logger context and correlation id, then tracer (when on), then metrics flush.

    ``kind="http"`` takes the correlation id from the API Gateway event (or a safe incoming
    X-Request-ID); ``kind="event"`` from the SQS or EventBridge record id.
    """

    def decorate(fn: Handler) -> Handler:
        logger.setLevel(get_settings().log_level)
        traced = fn
        tracer = get_tracer()
        if tracer is not None:
            traced = tracer.capture_lambda_handler(fn)

        @logger.inject_lambda_context(clear_state=True)
        @functools.wraps(fn)
        def handler(event: dict[str, Any], context: LambdaContext) -> Any:
            if kind == "http":
                logger.set_correlation_id(http_event_request_id(event))
            else:
                # A malformed event may not even be an object: the handler refuses it, the wrapper must not crash.
                event_id = event.get("id") if isinstance(event, dict) else None
                logger.set_correlation_id(event_id or getattr(context, "aws_request_id", None))
            try:
                return traced(event, context)
            finally:
                flush_metrics()

        return handler

    return decorate
