"""`POST /v1/backtests` with an `Idempotency-Key`: one backtest, one quota unit and one job per key and owner.

A B2B client retries a POST whose answer it lost; without the key honoured, each retry queued another
backtest and spent another unit of the daily quota.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from sqlalchemy import func, select, update

from tests.functions.conftest import Account, Client
from tests.pipeline_fixtures import RecordingDispatcher


@pytest.fixture
def api(b2b: Client, seeded: RecordingDispatcher) -> Client:
    return b2b


@pytest.fixture
def enqueued(fresh_settings: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The backtest jobs queued; none runs, so each backtest stays queued and none answers from the cache."""
    jobs: list[dict[str, Any]] = []

    def record(queue: str, payloads: list[dict[str, Any]], delay_s: float = 0.0) -> None:
        jobs.extend(payloads)

    fresh_settings.setattr("autoindex.events.transport.enqueue", record)
    return jobs


def _keyed(account: Account, key: str) -> dict[str, str]:
    return {**account.bearer(), "Idempotency-Key": key}


def _rows_with(key: str) -> int:
    from autoindex.backtests.models import Backtest

    with UnitOfWork(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).where(Backtest.idempotency_key == key)) or 0)


def _used_today(api: Client, account: Account) -> int:
    usage = api.get("/v1/usage", headers=account.bearer())
    assert usage.status == 200, usage.body
    return int(usage.json()["backtests"]["account_today"])  # every key of the account


def test_the_same_key_and_body_answer_the_first_backtest_without_a_second_run_or_quota_unit(
    api: Client, user: Account, reader: Account, enqueued: list[dict[str, Any]], fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("BACKTEST_DAILY_QUOTA", "1")  # a replay is answered even with the quota spent
    body = {"strategy": {"drift_band": 0.21}, "symbols": ["MSFT", "AAPL"]}
    first = api.post("/v1/backtests", headers=_keyed(user, "order-2026-12-01.1"), body=body)
    assert first.status == 202, first.body
    assert first.json()["joined"] is False
    # The same body, written differently (symbols in another order, a default spelled out).
    same = {**body, "symbols": ["AAPL", "MSFT"], "scheme": "blend"}
    again = api.post("/v1/backtests", headers=_keyed(user, "order-2026-12-01.1"), body=same)
    assert again.status == 202, again.body
    assert again.json() == {**first.json(), "joined": True}
    assert again.headers["location"] == first.headers["location"] == f"/v1/backtests/{first.json()['id']}"
    assert enqueued == [{"backtest_id": first.json()["id"]}]
    assert _used_today(api, user) == 1
    listed = api.get("/v1/backtests", headers=user.bearer()).json()["items"]
    assert [b["id"] for b in listed] == [first.json()["id"]]
    # Without the key it is a new request, and the quota refuses it.
    assert api.post("/v1/backtests", headers=user.bearer(), body=body).status == 429

    # The key is the owner's: another account's same key is its own backtest.
    other = api.post("/v1/backtests", headers=_keyed(reader, "order-2026-12-01.1"), body=body)
    assert other.status == 202, other.body
    assert other.json()["id"] != first.json()["id"] and other.json()["joined"] is False


def test_the_same_key_with_another_body_is_a_422_and_runs_nothing(
    api: Client, user: Account, enqueued: list[dict[str, Any]]
) -> None:
    headers = _keyed(user, "reused-key-2026-12-01")
    first = api.post("/v1/backtests", headers=headers, body={"strategy": {"drift_band": 0.22}})
    assert first.status == 202, first.body
    other = api.post("/v1/backtests", headers=headers, body={"strategy": {"drift_band": 0.23}})
    assert other.status == 422, other.body
    assert other.json()["detail"].startswith("This Idempotency-Key was used for a backtest with another body")
    assert len(enqueued) == 1 and _rows_with("reused-key-2026-12-01") == 1
    assert _used_today(api, user) == 1


@pytest.mark.parametrize("key", ["two words", "x" * 101, "semi;colon"])
def test_a_malformed_key_is_a_422_naming_the_header(
    api: Client, user: Account, enqueued: list[dict[str, Any]], key: str
) -> None:
    refused = api.post("/v1/backtests", headers=_keyed(user, key), body={"strategy": {"drift_band": 0.24}})
    assert refused.status == 422, refused.body
    assert refused.json()["errors"][0]["loc"] == ["header", "idempotency-key"]
    assert enqueued == [] and _used_today(api, user) == 0


def test_a_key_whose_backtest_was_deleted_is_a_409_and_runs_nothing(
    api: Client, user: Account, enqueued: list[dict[str, Any]]
) -> None:
    body = {"strategy": {"drift_band": 0.26}}
    first = api.post("/v1/backtests", headers=_keyed(user, "deleted-then-replayed"), body=body)
    assert first.status == 202, first.body
    assert api.delete(first.headers["location"], headers=user.bearer()).status == 204
    replay = api.post("/v1/backtests", headers=_keyed(user, "deleted-then-replayed"), body=body)
    assert replay.status == 409, replay.body
    assert "deleted" in replay.json()["detail"] and "new key" in replay.json()["detail"]
    assert len(enqueued) == 1 and _used_today(api, user) == 1
    assert api.get(first.headers["location"], headers=user.bearer()).status == 404


def test_after_the_retention_window_the_key_starts_a_new_backtest(
    api: Client, user: Account, enqueued: list[dict[str, Any]], fresh_settings: pytest.MonkeyPatch
) -> None:
    from autoindex.backtests.models import Backtest

    fresh_settings.setenv("BACKTEST_IDEMPOTENCY_HOURS", "24")
    body = {"strategy": {"drift_band": 0.27}}
    first = api.post("/v1/backtests", headers=_keyed(user, "daily-run"), body=body)
    assert first.status == 202, first.body
    # Created well inside the window: still a replay. Then well outside it: the key names a new request.
    first_id = uuid.UUID(first.json()["id"])
    with UnitOfWork(read_only=True) as uow:
        created = uow.session.scalars(select(Backtest.created_at).where(Backtest.id == first_id)).one()
    for hours, replayed in ((23, True), (25, False)):
        with UnitOfWork() as uow:
            moved = update(Backtest).where(Backtest.id == first_id).values(created_at=created - timedelta(hours=hours))
            uow.session.execute(moved)
        again = api.post("/v1/backtests", headers=_keyed(user, "daily-run"), body=body)
        assert again.status == 202, again.body
        assert again.json()["joined"] is replayed and (again.json()["id"] == first.json()["id"]) is replayed
    assert len(enqueued) == 2 and _rows_with("daily-run") == 1


def _principals(user: Account, count: int, *, same_caller: bool) -> list[Any]:
    """API-key principals of one account: one key each, or the same key for all."""
    from autoindex.identity.principal import Principal

    keys = [uuid.uuid4()] * count if same_caller else [uuid.uuid4() for _ in range(count)]
    return [
        Principal(
            kind="api_key",
            user_id=uuid.UUID(user.user_id),
            email=user.email,
            role="user",
            scopes=frozenset({"read", "backtest"}),
            api_key_id=key,
        )
        for key in keys
    ]


def _submit_together(principals: list[Any], body: dict[str, Any], key: str, before: Callable[[], object]) -> list[Any]:
    from autoindex.backtests import service
    from autoindex.backtests.schemas import BacktestCreate

    create = BacktestCreate.model_validate(body)

    def one(principal: Any) -> Any:
        before()
        return service.submit(uow=UnitOfWork(), principal=principal, body=create, idempotency_key=key)

    with ThreadPoolExecutor(len(principals)) as pool:
        return list(pool.map(one, principals))


@pytest.fixture
def own_connections(fresh_settings: pytest.MonkeyPatch) -> None:
    from tests.conftest import clear_process_caches

    fresh_settings.setenv("DB_NULL_POOL", "true")  # a connection per thread: none waits for the pool
    clear_process_caches()


@pytest.mark.usefixtures("own_connections")
def test_two_api_keys_of_one_account_sending_one_key_at_once_make_one_backtest(
    api: Client, user: Account, enqueued: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two callers take two different locks; the unique index on (user_id, idempotency_key) decides. Both
    # look the key up (and find nothing) before either inserts: the loser's insert meets the winner's row.
    from autoindex.backtests import queries

    principals = _principals(user, 2, same_caller=False)
    both_looked = threading.Barrier(len(principals))
    lookups = [0]
    guard = threading.Lock()
    real_keyed = queries.keyed

    def keyed_then_wait(*args: Any) -> Any:
        found = real_keyed(*args)
        with guard:
            lookups[0] += 1
            first_round = lookups[0] <= len(principals)
        if first_round:
            both_looked.wait()
        return found

    monkeypatch.setattr(queries, "keyed", keyed_then_wait)
    answers = _submit_together(principals, {"strategy": {"drift_band": 0.28}}, "at-once-two-keys", lambda: None)
    assert lookups[0] == len(principals) + 1  # the loser looked again, after its insert was refused
    assert {a.id for a in answers} == {answers[0].id}
    assert sorted(a.joined for a in answers) == [False, True]
    assert enqueued == [{"backtest_id": str(answers[0].id)}] and _rows_with("at-once-two-keys") == 1
    assert _used_today(api, user) == 1


@pytest.mark.usefixtures("own_connections")
def test_one_api_key_sending_one_key_twice_at_once_makes_one_backtest(
    api: Client, user: Account, enqueued: list[dict[str, Any]]
) -> None:
    # One caller: the second request waits on the caller's lock, then finds the first one's row.
    principals = _principals(user, 2, same_caller=True)
    start = threading.Barrier(len(principals))
    answers = _submit_together(principals, {"strategy": {"drift_band": 0.29}}, "at-once-one-key", start.wait)
    assert {a.id for a in answers} == {answers[0].id}
    assert sorted(a.joined for a in answers) == [False, True]
    assert enqueued == [{"backtest_id": str(answers[0].id)}] and _rows_with("at-once-one-key") == 1
    assert _used_today(api, user) == 1
