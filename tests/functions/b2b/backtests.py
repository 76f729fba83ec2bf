"""Running a backtest through the B2B API to its finished report."""

from __future__ import annotations

from typing import Any

from tests.functions.conftest import Account, Client
from tests.pipeline_fixtures import RecordingDispatcher


def run_backtest(api: Client, seeded: RecordingDispatcher, account: Account, body: dict[str, Any]) -> dict[str, Any]:
    posted = api.post("/v1/backtests", headers=account.bearer(), body=body)
    assert posted.status == 202, posted.body
    assert posted.headers["location"] == f"/v1/backtests/{posted.json()['id']}"
    assert seeded.drain(120)
    got = api.get(posted.headers["location"], headers=account.bearer())
    assert got.status == 200, got.body
    report: dict[str, Any] = got.json()
    assert report["status"] == "succeeded", report
    assert report["progress"] == 1.0
    return report
