"""Backtests through the real handler and the backtest job on the local runner, against the seeded market."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.index.models import IndexPublication, IndexValue
from sqlalchemy import select

from tests.functions.auth.keys import create_key
from tests.functions.b2b.backtests import run_backtest
from tests.functions.conftest import Account, Client
from tests.pipeline_fixtures import RecordingDispatcher

# The engine's data cleaning pulls outliers back and clips returns: a plain reference does neither, so both
# are set out of reach here (the demo prices never move 10 sigma or 1000 % in a day).
PLAIN = {"outlier_sigma": 100.0, "return_clip": 10.0, "transaction_cost_bps": 0.0}


@pytest.fixture
def api(b2b: Client, seeded: RecordingDispatcher) -> Client:
    return b2b


def _stored_live(total: bool = False) -> dict[str, float]:
    from autoindex.index.models import IndexTotalValue

    table = IndexTotalValue if total else IndexValue
    with UnitOfWork(read_only=True) as uow:
        version = uow.session.scalar(select(IndexPublication.strategy_version))
        rows = uow.session.execute(select(table.date, table.value).where(table.strategy_version == version))
        return {d.isoformat(): float(v) for d, v in rows}


def test_the_live_parameters_reproduce_the_live_index(api: Client, seeded: RecordingDispatcher, user: Account) -> None:
    report = run_backtest(api, seeded, user, {})
    series = report["result"]["series"]
    live = _stored_live()
    assert [p["date"] for p in series] == sorted(live)
    for point in series:
        assert abs(point["value"] - live[point["date"]]) <= 1e-9  # the live index starts at 100 too
        assert abs(point["value"] - point["live"]) <= 1e-9
    metrics = report["result"]["metrics"]
    assert metrics["backtest"]["inception"]["total_return"] == pytest.approx(
        metrics["live"]["inception"]["total_return"], abs=1e-9
    )
    assert metrics["benchmark_symbol"] == "SPX" and series[-1]["benchmark"] is not None


def test_total_return_with_the_live_parameters_is_the_live_total_return_index(
    api: Client, seeded: RecordingDispatcher, user: Account
) -> None:
    report = run_backtest(api, seeded, user, {"return_type": "total"})
    series = report["result"]["series"]
    live = _stored_live(total=True)
    assert series and [p["date"] for p in series] == sorted(live)
    for point in series:
        assert abs(point["value"] - live[point["date"]]) <= 1e-9
        assert abs(point["value"] - point["live"]) <= 1e-9


def test_a_range_is_the_live_index_rebased_over_that_range(
    api: Client, seeded: RecordingDispatcher, user: Account
) -> None:
    live = _stored_live()
    days = sorted(live)
    start, end = days[len(days) // 3], days[-5]
    report = run_backtest(api, seeded, user, {"start": start, "end": end})
    series = report["result"]["series"]
    assert (series[0]["date"], series[-1]["date"]) == (start, end)
    assert series[0]["value"] == series[0]["live"] == series[0]["benchmark"] == 100.0
    for point in series:
        assert abs(point["value"] - live[point["date"]] / live[start] * 100) <= 1e-9
    assert report["result"]["allocations"][0]["date"] <= start


def _closes(symbols: list[str]) -> tuple[list[dt.date], np.ndarray]:
    from autoindex.market.models import Asset, DailyPrice

    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(DailyPrice.date, Asset.symbol, DailyPrice.close).join(Asset).where(Asset.symbol.in_(symbols))
        ).all()
    days = sorted({d for d, _, _ in rows})
    matrix = np.full((len(days), len(symbols)), np.nan)
    for d, symbol, close in rows:
        matrix[days.index(d), symbols.index(symbol)] = float(close)
    return days, matrix


def _equal_weight_reference(days: list[dt.date], closes: np.ndarray, formation: dt.date) -> dict[str, float]:
    """The textbook portfolio: 1/n at the formation close, drift with each day's returns, back to 1/n at the
    close of the first trading day of every ISO week; no costs."""
    n = closes.shape[1]
    first = days.index(formation)
    weights, value, out = np.full(n, 1.0 / n), 100.0, {formation.isoformat(): 100.0}
    for t in range(first + 1, len(days)):
        growth = closes[t] / closes[t - 1]
        value *= float(weights @ growth)
        weights = weights * growth / float(weights @ growth)
        if days[t].isocalendar()[:2] != days[t - 1].isocalendar()[:2]:
            weights = np.full(n, 1.0 / n)
        out[days[t].isoformat()] = value
    return out


def test_an_equal_weight_backtest_matches_a_plain_reference(
    api: Client, seeded: RecordingDispatcher, user: Account
) -> None:
    report = run_backtest(api, seeded, user, {"scheme": "equal_weight", "strategy": PLAIN})
    result = report["result"]
    allocations = result["allocations"]
    assert all(set(a["weights"].values()) == {0.5} for a in allocations)
    days, closes = _closes(result["assets"])
    assert not np.isnan(closes).any()
    reference = _equal_weight_reference(days, closes, dt.date.fromisoformat(allocations[0]["date"]))
    assert [p["date"] for p in result["series"]] == list(reference)
    assert len(reference) > 50 and len(allocations) > 10  # weeks of drift and rebalances, not a trivial match
    for point in result["series"]:
        assert abs(point["value"] - reference[point["date"]]) <= 1e-9


def test_the_notes_say_when_the_cap_or_the_momentum_threshold_could_not_be_met(
    api: Client, seeded: RecordingDispatcher, user: Account
) -> None:
    # Two assets cannot both stay under a 20 % cap, and no momentum beats +1000 %: the engine falls back to
    # equal weights, as the live index's rebalance notes say; the backtest said nothing of it.
    strategy = {"max_weight_per_asset": 0.2, "momentum_drop_threshold": 10.0}
    report = run_backtest(api, seeded, user, {"strategy": strategy})
    assert all(set(a["weights"].values()) == {0.5} for a in report["result"]["allocations"])
    notes = " | ".join(report["result"]["notes"])
    assert "per-asset cap" in notes and "momentum" in notes, notes


def test_the_same_parameters_on_the_same_data_are_served_from_the_cache(
    api: Client, seeded: RecordingDispatcher, user: Account, reader: Account
) -> None:
    body = {"strategy": {"momentum_lookback_days": 30}, "symbols": ["AAPL", "MSFT"]}
    first = run_backtest(api, seeded, user, body)
    again = api.post("/v1/backtests", headers=reader.bearer(), body=body)
    assert again.status == 202
    assert again.json() == {"id": again.json()["id"], "status": "succeeded", "cached": True, "joined": False}
    second = api.get(f"/v1/backtests/{again.json()['id']}", headers=reader.bearer()).json()
    assert second["result"] == first["result"] and second["cached"] is True
    assert first["params"]["strategy"]["momentum_lookback_days"] == 30
    assert first["params"]["strategy"]["rebalance_frequency"] == "weekly"  # the live value fills what is not named


def test_nobody_else_sees_or_deletes_a_backtest(
    api: Client, seeded: RecordingDispatcher, user: Account, reader: Account
) -> None:
    report = run_backtest(api, seeded, user, {"strategy": {"rebalance_frequency": "monthly"}})
    path = f"/v1/backtests/{report['id']}"
    assert api.get(path, headers=reader.bearer()).status == 404
    assert api.delete(path, headers=reader.bearer()).status == 404
    assert report["id"] not in [b["id"] for b in api.get("/v1/backtests", headers=reader.bearer()).json()["items"]]
    assert report["id"] in [b["id"] for b in api.get("/v1/backtests", headers=user.bearer()).json()["items"]]
    assert api.delete(path, headers=user.bearer()).status == 204
    assert api.get(path, headers=user.bearer()).status == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"symbols": ["AAPL", "TSLA"]}, "symbols", "not in the universe"),
        ({"strategy": {"momentum_lookback_days": 1}}, "strategy", "momentum_lookback_days"),
        ({"strategy": {"momentum_weight": 0.9}}, "strategy", "sum to 1"),
        ({"strategy": {"leverage": 3}}, "strategy", "unknown strategy parameters"),
        ({"return_type": "dividends"}, "return_type", "price"),
        ({"start": "2001-01-01", "end": "2030-01-01"}, "body", "at most"),
        ({"symbols": ["AAPL", "AAPL"]}, "symbols", "repeat"),
    ],
)
def test_bad_parameters_are_a_422_naming_the_field(
    api: Client, user: Account, body: dict[str, Any], field: str, words: str
) -> None:
    refused = api.post("/v1/backtests", headers=user.bearer(), body=body)
    assert refused.status == 422, refused.body
    error = refused.json()["errors"][0]
    assert field in error["loc"] and words in error["msg"], error


def test_a_range_with_no_stored_close_is_refused_before_it_is_queued_or_counted(
    api: Client, user: Account, seeded: RecordingDispatcher
) -> None:
    days, _ = _closes(["AAPL", "MSFT"])
    first, last = days[0], days[-1]
    before = {"symbols": ["AAPL", "MSFT"], "end": (first - dt.timedelta(days=1)).isoformat()}
    after = {"symbols": ["AAPL", "MSFT"], "start": (last + dt.timedelta(days=1)).isoformat()}
    for body, field, words in ((before, "end", f"before the first stored close ({first})"), (after, "start", "after")):
        refused = api.post("/v1/backtests", headers=user.bearer(), body=body)
        assert refused.status == 422, refused.body  # it was a 202, then a failure about look-back windows
        error = refused.json()["errors"][0]
        assert error["loc"] == ["body", field] and words in error["msg"], error
    usage = api.get("/v1/usage", headers=user.bearer()).json()["backtests"]
    assert usage["today"] == 0  # nothing queued, no quota spent
    assert seeded.drain(60)


def test_the_concurrency_limit_and_the_daily_quota_are_429s(
    api: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("BACKTEST_MAX_CONCURRENT_PER_KEY", "1")
    fresh_settings.setenv("BACKTEST_DAILY_QUOTA", "2")
    fresh_settings.setattr(
        "autoindex.events.transport.enqueue", lambda queue, payloads, delay_s=0.0: None
    )  # stays queued
    assert api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": 0.2}}).status == 202
    busy = api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": 0.3}})
    assert busy.status == 429 and busy.headers["retry-after"] == "5"
    from autoindex.backtests.models import Backtest
    from sqlalchemy import update

    with UnitOfWork() as uow:
        uow.session.execute(update(Backtest).where(Backtest.status == "queued").values(status="failed"))
    assert api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": 0.4}}).status == 202
    spent = api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": 0.5}})
    assert spent.status == 429 and int(spent.headers["retry-after"]) > 5


def test_deleting_backtests_gives_no_quota_back(api: Client, user: Account, fresh_settings: pytest.MonkeyPatch) -> None:
    # The quota counted the rows there were, so deleting each backtest once read gave its run back: a
    # client could run any number a day. A deleted backtest is gone for its owner, yet still counts.
    fresh_settings.setenv("BACKTEST_DAILY_QUOTA", "2")
    fresh_settings.setattr("autoindex.events.transport.enqueue", lambda queue, payloads, delay_s=0.0: None)
    for band in (0.2, 0.3):
        posted = api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": band}})
        assert posted.status == 202, posted.body
        assert api.delete(posted.headers["location"], headers=user.bearer()).status == 204
        assert api.get(posted.headers["location"], headers=user.bearer()).status == 404
    assert api.get("/v1/backtests", headers=user.bearer()).json()["items"] == []
    spent = api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": 0.4}})
    assert spent.status == 429 and int(spent.headers["retry-after"]) > 5
    usage = api.get("/v1/usage", headers=user.bearer()).json()["backtests"]
    assert usage["today"] == 2 and usage["running"] == 0


def test_a_deleted_backtest_is_not_run_and_not_brought_back_by_its_job(
    api: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    import uuid

    from autoindex.backtests import run

    fresh_settings.setattr("autoindex.events.transport.enqueue", lambda queue, payloads, delay_s=0.0: None)
    queued = api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": 0.25}})
    assert api.delete(queued.headers["location"], headers=user.bearer()).status == 204
    assert run.run(uuid.UUID(queued.json()["id"])) == "skipped"

    running = api.post("/v1/backtests", headers=user.bearer(), body={"strategy": {"drift_band": 0.35}})

    def deleted_while_it_runs(backtest_id: uuid.UUID, params: dict[str, Any]) -> dict[str, Any]:
        assert api.delete(running.headers["location"], headers=user.bearer()).status == 204
        return {"series": []}

    fresh_settings.setattr(run, "_report", deleted_while_it_runs)
    run.run(uuid.UUID(running.json()["id"]))
    assert api.get(running.headers["location"], headers=user.bearer()).status == 404
    assert api.get("/v1/backtests", headers=user.bearer()).json()["items"] == []


def test_a_read_key_may_run_backtests_and_a_write_only_key_may_not(
    api: Client, auth: Client, seeded: RecordingDispatcher, user: Account
) -> None:
    read_key = create_key(auth, user, ["read"])["key"]
    write_key = create_key(auth, user, ["write"])["key"]
    body = {"strategy": {"rebalance_frequency": "daily"}}
    assert api.post("/v1/backtests", headers={"X-API-Key": write_key}, body=body).status == 403
    assert api.post("/v1/backtests", headers={"X-API-Key": read_key}, body=body).status == 202
    assert seeded.drain(120)


def _waiting_on_a_lock() -> int:
    """Sessions of this database blocked on an advisory lock right now."""
    from sqlalchemy import text

    query = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with UnitOfWork() as uow:
        return int(uow.session.scalar(text(query)) or 0)


def _submit_at_once(
    user: Account, bodies: list[dict[str, Any]], count: str, monkeypatch: pytest.MonkeyPatch
) -> list[int]:
    """Submit every body from its own thread, all released together by a barrier; each one's status (202/429).

    No timing: each submission, once it has taken the limit's ``count``, waits until every other one has
    either counted too (what happens without a per-caller lock: all count before any inserts, the race
    made certain) or is blocked on the caller's lock (the fix: they count one after another).
    """
    import threading
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from autoindex.backtests import queries, service
    from autoindex.backtests.schemas import BacktestCreate
    from autoindex.errors import RateLimited
    from autoindex.identity.principal import Principal

    # One fresh API key identity: earlier tests' rows do not count against it.
    principal = Principal(
        kind="api_key",
        user_id=uuid.UUID(user.user_id),
        email=user.email,
        role="user",
        scopes=frozenset({"read", "backtest"}),
        api_key_id=uuid.uuid4(),
    )
    barrier = threading.Barrier(len(bodies))
    guard = threading.Lock()
    counts = [0]
    real_count = getattr(queries, count)

    def count_then_wait(*args: Any) -> int:
        found = int(real_count(*args))
        with guard:
            counts[0] += 1
        for _ in range(6_000):  # a bound, not a timing: the condition is met as soon as the others get there
            if counts[0] + _waiting_on_a_lock() >= len(bodies):
                return found
            threading.Event().wait(0.01)
        raise AssertionError("the other submissions neither counted nor waited on the lock")

    monkeypatch.setattr(queries, count, count_then_wait)

    def one(body: dict[str, Any]) -> int:
        create = BacktestCreate.model_validate(body)
        barrier.wait()
        try:
            service.submit(uow=UnitOfWork(), principal=principal, body=create)
        except RateLimited:
            return 429
        return 202

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


@pytest.mark.parametrize(
    ("limits", "count", "accepted"),
    [
        ({"BACKTEST_MAX_CONCURRENT_PER_KEY": "2"}, "in_flight", 2),
        ({"BACKTEST_DAILY_QUOTA": "3"}, "started_since", 3),
    ],
    ids=["concurrency", "daily-quota"],
)
def test_simultaneous_submissions_accept_exactly_the_limit(
    api: Client, user: Account, fresh_settings: pytest.MonkeyPatch, limits: dict[str, str], count: str, accepted: int
) -> None:
    from tests.conftest import clear_process_caches

    fresh_settings.setenv("BACKTEST_MAX_CONCURRENT_PER_KEY", "100")
    fresh_settings.setenv("BACKTEST_DAILY_QUOTA", "100")
    for name, value in limits.items():
        fresh_settings.setenv(name, value)
    fresh_settings.setenv("DB_NULL_POOL", "true")  # a connection per thread: none waits for the pool
    clear_process_caches()
    fresh_settings.setattr(
        "autoindex.events.transport.enqueue", lambda queue, payloads, delay_s=0.0: None
    )  # stays queued
    # Distinct parameters nobody ran before: none is answered from the cache.
    bodies = [{"strategy": {"drift_band": round(0.61 + i / 100, 2)}} for i in range(5)]
    statuses = _submit_at_once(user, bodies, count, fresh_settings)
    assert sorted(statuses) == [202] * accepted + [429] * (len(bodies) - accepted)
