"""EMF metric blobs go to Lambda's log (JSON format) and never between a person's readable log lines."""

from __future__ import annotations

import pytest
from autoindex.observability import add_metric, flush_metrics


@pytest.mark.parametrize(("log_format", "printed"), [("json", True), ("text", False)])
def test_metrics_are_printed_only_with_json_logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], log_format: str, printed: bool
) -> None:
    monkeypatch.setenv("LOG_FORMAT", log_format)
    add_metric("UnitTestMetric")
    flush_metrics()
    out = capsys.readouterr().out
    assert ('"UnitTestMetric"' in out) is printed
    flush_metrics()  # nothing pending any more, in either format
    assert '"UnitTestMetric"' not in capsys.readouterr().out
