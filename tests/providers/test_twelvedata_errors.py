"""The Twelve Data client against the fake over real HTTP: errors, retries, rate limits, the circuit."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
from autoindex.market.providers.budget import MemoryCreditBudget
from autoindex.market.providers.circuit import MemoryCircuitBreaker
from autoindex.market.providers.protocol import (
    AuthenticationFailed,
    CircuitOpen,
    DailyLimitExhausted,
    InvalidResponse,
    MinuteLimitExceeded,
    ProviderUnavailable,
    SymbolBars,
    SymbolError,
    SymbolNotFound,
)
from autoindex_dev.fake_twelvedata.server import FakeTwelveData

from tests.providers.conftest import API_KEY, MakeProvider, ManualClock

WEEK = (date(2024, 3, 4), date(2024, 3, 8))


def _plan(clock: ManualClock, per_minute: int, per_day: int) -> FakeTwelveData:
    return FakeTwelveData(credits_per_minute=per_minute, credits_per_day=per_day, api_key=API_KEY, clock=clock.epoch)


def test_unknown_symbol_is_a_modern_404(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    provider = make_provider(fake)
    result = provider.daily_bars(["NOPE"], *WEEK)["NOPE"]
    assert isinstance(result, SymbolError) and result.code == 404 and result.not_found
    with pytest.raises(SymbolNotFound) as raised:
        provider.latest_quote("NOPE")
    assert raised.value.status == 404 and raised.value.code == 404
    assert fake.status_count(404) == 2


def test_legacy_mode_errors_on_http_200_are_still_errors(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    fake.set_faults(legacy_errors=True)
    provider = make_provider(fake)
    result = provider.daily_bars(["NOPE"], *WEEK)["NOPE"]
    assert isinstance(result, SymbolError) and result.code == 400 and result.not_found
    assert "not found: NOPE" in result.message
    with pytest.raises(SymbolNotFound):
        provider.latest_quote("NOPE")
    empty = provider.daily_bars(["AAPL"], date(2024, 3, 9), date(2024, 3, 10))["AAPL"]  # "no data", on HTTP 200
    assert isinstance(empty, SymbolBars) and empty.bars == ()
    with pytest.raises(AuthenticationFailed):
        make_provider(fake, api_key="wrong-key").daily_bars(["AAPL"], *WEEK)
    assert fake.status_count(200) == fake.request_count() == 4  # every one of them came back as HTTP 200


def test_bad_key_fails_without_leaking_any_key(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    provider = make_provider(fake, api_key="wrong-key-77")
    with pytest.raises(AuthenticationFailed) as raised:
        provider.daily_bars(["AAPL"], *WEEK)
    assert fake.status_count(401) == 1  # not retried
    for text in (str(raised.value), repr(raised.value), raised.value.detail, repr(provider)):
        assert "wrong-key-77" not in text and API_KEY not in text
    assert raised.value.status == 502  # our credential failed, not the caller's


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [("html_502", ProviderUnavailable, "HTML error page"), ("malformed_json", InvalidResponse, "malformed JSON")],
)
def test_html_pages_and_malformed_json_are_retried_then_fail_cleanly(
    fake: FakeTwelveData,
    make_provider: MakeProvider,
    clock: ManualClock,
    fault: str,
    error: type[Exception],
    reason: str,
) -> None:
    provider = make_provider(fake)
    fake.set_faults(**{fault: 10})
    with pytest.raises(error, match=reason) as raised:
        provider.daily_bars(["AAPL"], *WEEK)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert fake.request_count("/time_series") == 3  # bounded attempts
    assert clock.sleeps == [1.0, 2.0]  # exponential backoff between them
    # One bad answer, then a good one: the retry recovers.
    fake.set_faults(**{fault: 1})
    result = provider.daily_bars(["AAPL"], *WEEK)["AAPL"]
    assert isinstance(result, SymbolBars) and len(result.bars) == 5
    assert fake.request_count("/time_series") == 5


def test_server_errors_are_retried(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    fake.set_faults(server_errors=2)
    result = make_provider(fake).daily_bars(["AAPL"], *WEEK)["AAPL"]
    assert isinstance(result, SymbolBars) and len(result.bars) == 5
    assert fake.status_count(500) == 2 and fake.status_count(200) == 1


def test_timeouts_are_retried_then_fail_cleanly(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    fake.set_faults(delay_s=0.4)
    provider = make_provider(fake, timeout_s=0.1, retry_attempts=2)
    with pytest.raises(ProviderUnavailable, match="timeout"):
        provider.latest_quote("AAPL")
    assert fake.request_count("/quote") == 2


def test_minute_429_waits_for_the_next_minute_then_succeeds(make_provider: MakeProvider, clock: ManualClock) -> None:
    clock.now = datetime(2024, 3, 13, 15, 0, 20, 250_000, tzinfo=UTC)
    with _plan(clock, per_minute=2, per_day=800) as fake:
        provider = make_provider(fake)  # no budget: nothing stops the client from provoking the 429
        provider.daily_bars(["AAPL", "MSFT"], *WEEK)
        result = provider.daily_bars(["SPY"], *WEEK)["SPY"]
        assert isinstance(result, SymbolBars) and len(result.bars) == 5
        assert fake.status_count(429) == 1 and fake.request_count("/time_series") == 3
    assert clock.sleeps == [pytest.approx(39.75 + 1.0)]  # to 15:01:00, plus the one-second margin


def test_minute_429_gives_up_after_the_bounded_retries(make_provider: MakeProvider, clock: ManualClock) -> None:
    with _plan(clock, per_minute=1, per_day=800) as fake:
        with pytest.raises(MinuteLimitExceeded) as raised:
            make_provider(fake, minute_limit_retries=1).daily_bars(["AAPL", "MSFT"], *WEEK)
        assert fake.status_count(429) == 2
    # One wait (61 s: to 15:01:00 plus the margin), then the give-up says how long to wait from 15:01:01.
    assert clock.sleeps == [61.0]
    assert raised.value.retry_after_s == pytest.approx(60.0) and raised.value.headers["Retry-After"] == "60"


def test_daily_429_stops_at_once_until_utc_midnight(make_provider: MakeProvider, clock: ManualClock) -> None:
    with _plan(clock, per_minute=8, per_day=2) as fake:
        budget = MemoryCreditBudget(minute_limit=8, day_limit=800, clock_ms=clock.epoch_ms)  # it believes 800
        provider = make_provider(fake, budget=budget)
        provider.daily_bars(["AAPL", "MSFT"], *WEEK)
        with pytest.raises(DailyLimitExhausted) as raised:
            provider.daily_bars(["SPY"], *WEEK)
        assert raised.value.resets_at == datetime(2024, 3, 14, tzinfo=UTC)
        assert "for the day" in (raised.value.provider_message or "")
        assert fake.status_count(429) == 1 and clock.sleeps == []
        # The provider said the day is spent: the shared budget now refuses without calling.
        with pytest.raises(DailyLimitExhausted):
            provider.daily_bars(["TLT"], *WEEK)
        assert fake.request_count() == 2


def test_budget_refusal_makes_no_call(fake: FakeTwelveData, make_provider: MakeProvider, clock: ManualClock) -> None:
    budget = MemoryCreditBudget(minute_limit=8, day_limit=3, clock_ms=clock.epoch_ms)
    provider = make_provider(fake, budget=budget)
    provider.daily_bars(["AAPL", "MSFT", "SPY"], *WEEK)
    with pytest.raises(DailyLimitExhausted):
        provider.daily_bars(["GLD"], *WEEK)
    assert fake.request_count() == 1


def test_circuit_opens_after_repeated_failures_and_stops_calling(
    fake: FakeTwelveData, make_provider: MakeProvider, clock: ManualClock
) -> None:
    circuit = MemoryCircuitBreaker(threshold=2, cooldown_ms=30_000, clock_ms=clock.epoch_ms)
    provider = make_provider(fake, circuit=circuit, retry_attempts=1)
    fake.set_faults(html_502=2)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            provider.latest_quote("AAPL")
    with pytest.raises(CircuitOpen) as raised:
        provider.latest_quote("AAPL")
    assert fake.request_count() == 2 and 0 < raised.value.retry_after_s <= 30
    clock.sleep(30)  # the cooldown passes; one trial call closes the circuit again
    assert provider.latest_quote("AAPL").symbol == "AAPL"
    assert circuit.state().state == "closed"


def test_the_key_never_reaches_a_log_line(
    fake: FakeTwelveData,
    make_provider: MakeProvider,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    provider = make_provider(fake)
    fake.set_faults(html_502=1, server_errors=1)
    provider.daily_bars(["AAPL"], *WEEK)
    fake.set_faults(malformed_json=5)
    with pytest.raises(InvalidResponse):
        provider.latest_quote("AAPL")
    logged = capsys.readouterr().out + caplog.text
    assert "provider call failed; retrying" in logged and "HTTP Request" in logged
    assert API_KEY not in logged
