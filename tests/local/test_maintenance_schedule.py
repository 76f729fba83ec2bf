"""The weekly maintenance job is wired up: template.yaml schedules it, and the local runner delivers it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, tzinfo
from typing import Any

import pytest
from autoindex_dev import dispatch
from autoindex_dev.cron import Cron
from autoindex_dev.dispatch import LocalDispatcher
from autoindex_dev.loader import load_handler
from autoindex_dev.runner import Runner
from autoindex_dev.template import load_template

from tests.lambda_http import ROOT

SUNDAY_4AM = datetime(2026, 11, 29, 9, 0, 20, tzinfo=UTC)  # 04:00 in New York (EST, UTC-5)


def test_the_template_schedules_the_maintenance_handler_weekly() -> None:
    template = load_template(ROOT / "template.yaml")
    fn = template.function("maintenance")
    assert fn.logical_id == "MaintenanceFunction"
    assert fn.code_uri == (ROOT / "functions" / "maintenance").resolve()
    assert callable(load_handler(fn.code_uri, fn.handler))
    schedules = [
        (props["ScheduleExpression"], props["ScheduleExpressionTimezone"])
        for f, props in template.events_of_type("ScheduleV2")
        if f is fn
    ]
    assert schedules == [("cron(0 4 ? * SUN *)", "America/New_York")]


def test_the_refresh_runs_after_the_new_york_close_summer_and_winter() -> None:
    template = load_template(ROOT / "template.yaml")
    fn = template.function("refresh")
    [(expression, zone)] = [
        (props["ScheduleExpression"], props["ScheduleExpressionTimezone"])
        for f, props in template.events_of_type("ScheduleV2")
        if f is fn
    ]
    cron = Cron(expression, zone)
    assert cron.matches(datetime(2026, 12, 1, 21, 35, tzinfo=UTC))  # Tuesday, EST: 16:35
    assert cron.matches(datetime(2026, 7, 7, 20, 35, tzinfo=UTC))  # Tuesday, EDT: 16:35
    assert not cron.matches(datetime(2026, 7, 7, 21, 35, tzinfo=UTC))  # 17:35 in summer
    assert not cron.matches(datetime(2026, 12, 5, 21, 35, tzinfo=UTC))  # Saturday


@pytest.mark.parametrize(
    ("moment", "fires"),
    [
        (datetime(2026, 11, 29, 4, 0, tzinfo=UTC), True),  # a Sunday
        (datetime(2026, 12, 6, 4, 0, tzinfo=UTC), True),  # the next Sunday
        (datetime(2026, 11, 29, 4, 1, tzinfo=UTC), False),
        (datetime(2026, 11, 29, 5, 0, tzinfo=UTC), False),
        (datetime(2026, 11, 28, 4, 0, tzinfo=UTC), False),  # Saturday
        (datetime(2026, 11, 30, 4, 0, tzinfo=UTC), False),  # Monday
    ],
)
def test_the_local_cron_evaluator_reads_the_weekly_expression(moment: datetime, fires: bool) -> None:
    assert Cron("cron(0 4 ? * SUN *)").matches(moment) is fires


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _FrozenClock:
        return cls.fromtimestamp(SUNDAY_4AM.timestamp(), tz)


class _RecordingRunner(Runner):
    """The real template and handler lookup; the invocation is recorded instead of run (no database here)."""

    def __init__(self) -> None:
        super().__init__(load_template(ROOT / "template.yaml"))
        self.invoked: list[tuple[str, dict[str, Any]]] = []
        self.arrived = threading.Event()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        fn = self.template.function(function)
        assert callable(load_handler(fn.code_uri, fn.handler))
        self.invoked.append((fn.logical_id, event))
        self.arrived.set()
        return None


def test_the_local_runner_delivers_the_schedule_on_sunday_at_four(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatch, "datetime", _FrozenClock)
    runner = _RecordingRunner()
    local = LocalDispatcher(runner)
    try:
        local.start_schedules()
        assert runner.arrived.wait(10), "no schedule fired"
        assert local.drain(10)
    finally:
        local.close()
        runner.close()
    # Only the weekly job: the refresh runs on weekdays, and nothing else at 04:00.
    assert [name for name, _ in runner.invoked] == ["MaintenanceFunction"]
    event = runner.invoked[0][1]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"


def test_the_template_schedules_the_share_count_job_weekly_with_its_own_dlq_and_logs() -> None:
    template = load_template(ROOT / "template.yaml")
    fn = template.function("sharecounts")
    assert fn.logical_id == "ShareCountsFunction"
    assert callable(load_handler(fn.code_uri, fn.handler))
    [(props, cron)] = [
        (props, Cron(props["ScheduleExpression"], props["ScheduleExpressionTimezone"]))
        for f, props in template.events_of_type("ScheduleV2")
        if f is fn
    ]
    assert cron.matches(datetime(2026, 12, 5, 11, 0, tzinfo=UTC))  # Saturday 06:00 in New York
    assert not cron.matches(datetime(2026, 12, 7, 11, 0, tzinfo=UTC))  # not on a Monday
    assert "EventDeadLetterQueue" in str(props["DeadLetterConfig"])
