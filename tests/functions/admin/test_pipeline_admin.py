"""Operator routes for the pipeline: start and watch refreshes, freshness, provider usage, the universe."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.conftest import Account, Client
from tests.pipeline_fixtures import RecordingDispatcher


def test_refresh_is_accepted_then_watched_to_completion(
    admin_api: Client, admin: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    started = admin_api.post("/v1/admin/refresh", headers=admin.bearer())
    assert started.status == 202, started.body
    body = started.json()
    assert started.headers["location"] == f"/v1/admin/runs/{body['run_id']}"
    assert dispatcher.drain(60)
    run = admin_api.get(f"/v1/admin/runs/{body['run_id']}", headers=admin.bearer()).json()
    assert run["status"] == "succeeded" and run["rows_written"] > 0 and run["batches_done"] == run["batches_total"]
    listed = admin_api.get("/v1/admin/runs", headers=admin.bearer()).json()["items"]
    assert listed[0]["id"] == body["run_id"]
    audit = admin_api.get("/v1/admin/audit", headers=admin.bearer(), query="action=pipeline.refresh.request").json()
    assert audit["items"][0]["target_id"] == body["run_id"] and audit["items"][0]["actor_id"] == admin.user_id


def test_the_same_idempotency_key_never_starts_two_runs(
    admin_api: Client, admin: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    headers = {**admin.bearer(), "Idempotency-Key": "nightly-2026-11-26"}
    first = admin_api.post("/v1/admin/refresh", headers=headers).json()
    assert dispatcher.drain(60)
    second = admin_api.post("/v1/admin/refresh", headers=headers).json()
    assert second["run_id"] == first["run_id"] and second["joined"] is True


def test_freshness_flags_stale_symbols(
    admin_api: Client, admin: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    before = admin_api.get("/v1/admin/freshness", headers=admin.bearer()).json()
    assert before["stale_count"] == len(before["items"]) == 4
    admin_api.post("/v1/admin/refresh", headers=admin.bearer())
    assert dispatcher.drain(60)
    after = admin_api.get("/v1/admin/freshness", headers=admin.bearer()).json()
    assert after["stale_count"] == 0
    assert all(item["checked_through"] == after["expected_through"] for item in after["items"])
    assert after["frozen"] == [] and after["frozen_feed_days"] == 5


def test_a_frozen_feed_is_named_in_freshness_and_readiness(
    admin_api: Client, admin: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import Asset, DailyPrice
    from sqlalchemy import select, update

    from tests.lambda_http import call, function_handler

    admin_api.post("/v1/admin/refresh", headers=admin.bearer())
    assert dispatcher.drain(60)
    with UnitOfWork() as uow:  # MSFT's feed repeats one close on its last six bars (five unchanged days)
        msft = uow.session.scalars(select(Asset.id).where(Asset.symbol == "MSFT")).one()
        days = list(
            uow.session.scalars(
                select(DailyPrice.date).where(DailyPrice.asset_id == msft).order_by(DailyPrice.date.desc()).limit(6)
            )
        )
        close = uow.session.scalars(
            select(DailyPrice.close).where(DailyPrice.asset_id == msft, DailyPrice.date == days[-1])
        ).one()
        uow.session.execute(
            update(DailyPrice)
            .where(DailyPrice.asset_id == msft, DailyPrice.date.in_(days))
            .values(open=close, high=close, low=close, close=close)
        )
    report = admin_api.get("/v1/admin/freshness", headers=admin.bearer()).json()
    assert report["frozen"] == ["MSFT"] and report["stale_count"] == 0
    assert [i["symbol"] for i in report["items"] if i["frozen"]] == ["MSFT"]
    ready = call(function_handler("health"), "GET", "/health/ready").json()["checks"]["data_freshness"]
    assert ready["status"] == "degraded" and "frozen feed" in ready["detail"] and "MSFT" in ready["detail"]


def test_provider_usage_reports_budget_and_circuit(admin_api: Client, admin: Account) -> None:
    usage = admin_api.get("/v1/admin/provider/usage", headers=admin.bearer())
    assert usage.status == 200
    body = usage.json()
    assert body["provider"] == "demo" and body["minute_limit"] == 8 and body["day_limit"] == 800
    assert body["circuit"] == "closed"


def test_a_cik_is_a_json_integer_not_true(admin_api: Client, admin: Account, market: Any) -> None:
    payload = {"name": "Netflix Inc", "asset_type": "stock", "currency": "USD", "exchange": "NASDAQ", "cik": True}
    refused = admin_api.request("PUT", "/v1/admin/universe/NFLX", headers=admin.bearer(), body=payload)
    assert refused.status == 422, refused.body  # true would be CIK 1, another company's filings
    assert refused.json()["errors"][0]["loc"][:2] == ["body", "cik"]


@pytest.mark.parametrize(("cik", "status"), [(789019.0, 200), ("789019", 422), (789019.5, 422)])
def test_a_cik_is_any_json_integer_and_only_that(
    admin_api: Client, admin: Account, market: Any, cik: object, status: int
) -> None:
    # JSON Schema's "integer" (what the document says) holds 789019.0, which the fuzz test sends; a string or a
    # fraction is no integer.
    answer = admin_api.request("PUT", "/v1/admin/universe/MSFT", headers=admin.bearer(), body={"cik": cik})
    assert answer.status == status, answer.body
    if status == 200:
        assert answer.json()["cik"] == 789019  # Microsoft's own


@pytest.mark.parametrize("flag", ["in_universe", "is_active", "is_benchmark"])
@pytest.mark.parametrize("value", [0, 1, "true", "no"])
def test_a_universe_flag_is_json_true_or_false_only(
    admin_api: Client, admin: Account, market: Any, flag: str, value: object
) -> None:
    refused = admin_api.request("PUT", "/v1/admin/universe/MSFT", headers=admin.bearer(), body={flag: value})
    assert refused.status == 422, refused.body  # 0 would take a stock out of the index by a guess
    assert refused.json()["errors"][0]["loc"][:2] == ["body", flag]


def test_universe_changes_are_admin_only_and_audited(
    admin_api: Client, admin: Account, user: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    payload = {"name": "Netflix Inc", "asset_type": "stock", "currency": "USD", "exchange": "NASDAQ"}
    assert admin_api.request("PUT", "/v1/admin/universe/NFLX", headers=user.bearer(), body=payload).status == 403
    created = admin_api.request("PUT", "/v1/admin/universe/nflx", headers=admin.bearer(), body=payload)
    assert created.status == 201 and created.json()["symbol"] == "NFLX" and created.json()["in_universe"] is True
    changed = admin_api.request("PUT", "/v1/admin/universe/NFLX", headers=admin.bearer(), body={"sector": "Media"})
    assert changed.status == 200 and changed.json()["sector"] == "Media"
    assert admin_api.delete("/v1/admin/universe/NFLX", headers=admin.bearer()).status == 204
    assert admin_api.delete("/v1/admin/universe/NOPE", headers=admin.bearer()).status == 404
    assert admin_api.delete("/v1/admin/universe/SPX", headers=admin.bearer()).status == 409  # the benchmark
    incomplete = admin_api.request("PUT", "/v1/admin/universe/ZZZZ", headers=admin.bearer(), body={"name": "x"})
    assert incomplete.status == 422
    actions = [
        e["action"]
        for e in admin_api.get("/v1/admin/audit", headers=admin.bearer(), query="actor_id=" + admin.user_id).json()[
            "items"
        ]
    ]
    assert actions[:3] == ["admin.universe.delete", "admin.universe.put", "admin.universe.put"]
    # Joining and leaving the index each queue a compute; a change of sector does not.
    assert dispatcher.drain(60)
    queued = [detail for kind, detail in dispatcher.published if kind == "ComputeRequested"]
    assert [d["reason"] for d in queued] == ["universe changed: NFLX", "universe changed: NFLX"]


def test_deactivating_and_reactivating_a_constituent_queues_computes(
    admin_api: Client, admin: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    for active in (False, True):
        answer = admin_api.request("PUT", "/v1/admin/universe/MSFT", headers=admin.bearer(), body={"is_active": active})
        assert answer.status == 200 and answer.json()["is_active"] is active
    assert dispatcher.drain(60)
    kinds = [kind for kind, _ in dispatcher.published]
    assert kinds.count("ComputeRequested") == 2


def test_a_change_that_does_not_name_is_active_leaves_a_deactivated_asset_inactive(
    admin_api: Client, admin: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    # is_active defaulted to true on every PUT, so correcting a deactivated asset's sector put it back in the
    # index (and queued a compute) without anyone asking.
    put = "/v1/admin/universe/MSFT"
    assert admin_api.request("PUT", put, headers=admin.bearer(), body={"is_active": False}).json()["is_active"] is False
    changed = admin_api.request("PUT", put, headers=admin.bearer(), body={"sector": "Software"})
    assert changed.status == 200 and changed.json()["sector"] == "Software"
    assert changed.json()["is_active"] is False
    assert dispatcher.drain(60)
    assert [kind for kind, _ in dispatcher.published].count("ComputeRequested") == 1  # the deactivation only
    assert admin_api.request("PUT", put, headers=admin.bearer(), body={"is_active": True}).json()["is_active"] is True


def _store_a_close(symbol: str) -> None:
    """One stored close (what a refresh would write), so the asset may be a benchmark."""
    from datetime import date
    from decimal import Decimal

    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import Asset, DailyPrice
    from sqlalchemy import select

    bar = {"open": Decimal(100), "high": Decimal(100), "low": Decimal(100), "close": Decimal(100), "volume": 1}
    with UnitOfWork() as uow:
        asset = uow.session.scalars(select(Asset.id).where(Asset.symbol == symbol)).one()
        uow.session.add(DailyPrice(asset_id=asset, date=date(2026, 1, 2), source="test", **bar))


def _benchmarks() -> list[str]:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import Asset
    from sqlalchemy import select

    with UnitOfWork(read_only=True) as uow:
        return list(uow.session.scalars(select(Asset.symbol).where(Asset.is_benchmark)))


def test_switching_the_benchmark_leaves_exactly_one(
    admin_api: Client, admin: Account, market: Any, dispatcher: RecordingDispatcher
) -> None:
    for symbol in ("SPY", "SPX"):
        _store_a_close(symbol)
    put = "/v1/admin/universe/SPY"
    assert admin_api.request("PUT", put, headers=admin.bearer(), body={"is_active": True}).status == 200
    assert admin_api.request("PUT", put, headers=admin.bearer(), body={"is_benchmark": True}).status == 200
    assert _benchmarks() == ["SPY"]
    back = {"is_benchmark": True, "in_universe": False}
    assert admin_api.request("PUT", "/v1/admin/universe/SPX", headers=admin.bearer(), body=back).status == 200
    assert _benchmarks() == ["SPX"]


@pytest.mark.parametrize(
    ("symbol", "body", "status"),
    [
        # Every compare and benchmark series would be a 422 on an asset without closes.
        ("NEWB", {"name": "New", "asset_type": "etf", "currency": "USD", "is_benchmark": True}, 422),
        ("SPY", {"is_benchmark": True}, 422),  # stored, no prices in this universe
        # The benchmark is replaced, never just unset or switched off (reads would answer 409).
        ("SPX", {"is_benchmark": False, "in_universe": False}, 409),
        ("SPX", {"is_active": False, "in_universe": False}, 409),
    ],
)
def test_a_change_that_leaves_no_usable_benchmark_is_refused(
    admin_api: Client, admin: Account, market: Any, symbol: str, body: dict[str, object], status: int
) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import Asset
    from sqlalchemy import select

    _store_a_close("SPX")
    refused = admin_api.request("PUT", f"/v1/admin/universe/{symbol}", headers=admin.bearer(), body=body)
    assert refused.status == status, refused.body
    if status == 422:
        assert refused.json()["errors"][0]["loc"] == ["body", "is_benchmark"]
        assert "Add it, refresh it, then make it the benchmark" in refused.json()["detail"]
    assert _benchmarks() == ["SPX"]  # nothing changed
    with UnitOfWork(read_only=True) as uow:
        assert uow.session.scalars(select(Asset.id).where(Asset.symbol == "NEWB")).first() is None
        assert uow.session.scalars(select(Asset.is_active).where(Asset.symbol == "SPX")).one() is True
