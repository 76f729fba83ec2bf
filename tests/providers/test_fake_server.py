"""The fake Twelve Data server itself: both key forms, the control endpoint, headers, and ``run_fake``."""

from __future__ import annotations

import subprocess
import sys

import httpx
from autoindex_dev.fake_twelvedata.server import FakeTwelveData

from tests.lambda_http import ROOT
from tests.providers.conftest import API_KEY


def test_the_fake_accepts_the_query_key_too_and_refuses_a_missing_one(fake: FakeTwelveData) -> None:
    with_query = httpx.get(fake.url + "/price", params={"symbol": "AAPL", "apikey": API_KEY}, timeout=60)
    assert with_query.status_code == 200 and set(with_query.json()) == {"price"}
    missing = httpx.get(fake.url + "/price", params={"symbol": "AAPL"}, timeout=60)
    assert missing.status_code == 401 and missing.json()["message"].startswith("**apikey** parameter is incorrect")
    bad_interval = httpx.get(
        fake.url + "/time_series", params={"symbol": "AAPL", "interval": "0.99min", "apikey": API_KEY}, timeout=60
    )
    assert bad_interval.status_code == 400 and "Invalid **interval** provided: 0.99min" in bad_interval.text
    control = httpx.post(fake.url + "/__fake__/faults", json={"server_errors": 1}, timeout=60)
    assert control.status_code == 200
    assert httpx.get(fake.url + "/price", params={"symbol": "AAPL", "apikey": API_KEY}, timeout=60).status_code == 500
    assert httpx.get(fake.url + "/__fake__/stats", timeout=60).json()["by_status"]["500"] == 1


def test_every_response_carries_the_credit_headers(fake: FakeTwelveData) -> None:
    for response in (
        httpx.get(fake.url + "/price", params={"symbol": "AAPL,MSFT", "apikey": API_KEY}, timeout=60),
        httpx.get(fake.url + "/price", params={"symbol": "AAPL"}, timeout=60),  # 401
        httpx.get(fake.url + "/nowhere", params={"apikey": API_KEY}, timeout=60),  # 404
    ):
        assert int(response.headers["api-credits-used"]) + int(response.headers["api-credits-left"]) == 1_000
    assert fake.credits_used() == (2, 2)  # refusals cost nothing
    assert httpx.post(
        fake.url + "/__fake__/faults", json={"bad_bars": {"AAPL": {"2024-03-04": "odd"}}}, timeout=60
    ).is_error


def test_run_fake_serves_on_loopback_until_stopped() -> None:
    code = "from autoindex_dev.fake_twelvedata.server import run_fake; run_fake(0, 8, 800)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:"), line
        answer = httpx.get(url + "/api_usage", headers={"Authorization": "apikey anything"}, timeout=60)
        assert answer.status_code == 200 and answer.json()["plan_limit"] == 8
        assert answer.json()["plan_daily_limit"] == 800
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
