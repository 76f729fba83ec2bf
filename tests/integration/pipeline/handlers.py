"""The refresh and ingest functions' handlers as the Lambda runtime loads them, and contexts to call them with."""

from __future__ import annotations

from typing import Any

from autoindex_dev.lambda_events import LocalContext

from tests.lambda_http import ROOT


def refresh_handler() -> Any:
    from autoindex_dev.loader import load_handler

    return load_handler(ROOT / "functions" / "refresh", "app.handler")


def ingest_context() -> LocalContext:
    return LocalContext(function_name="IngestFunction", timeout_s=300)  # the template's Timeout


def ingest_handler() -> Any:
    from autoindex_dev.loader import load_handler

    return load_handler(ROOT / "functions" / "ingest", "app.handler")


class LambdaClock(LocalContext):
    """A context whose remaining time is read off a script: how much of the Timeout is left at each check."""

    def __init__(self, remaining_ms: list[int]) -> None:
        super().__init__(function_name="IngestFunction", timeout_s=300)
        self._script = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._script.pop(0)
