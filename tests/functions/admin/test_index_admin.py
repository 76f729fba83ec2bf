"""Operator routes for the index: recompute on request, compute runs, cache state and invalidation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.index.models import IndexValue
from sqlalchemy import update

from tests.functions.conftest import Account, Client
from tests.integration.compute.seeding import publication, stored_values
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher


@pytest.fixture
def ops(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("admin"))


@pytest.fixture
def index_api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("index"))


def audit_actions(ops: Client, admin: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ops.get("/v1/admin/audit", headers=admin.bearer()).json()["items"]
    return items


def test_a_requested_compute_runs_in_the_job_and_is_watched(
    ops: Client, admin: Account, seeded: RecordingDispatcher
) -> None:
    before = publication().data_version
    started = ops.post("/v1/admin/compute", headers=admin.bearer(), body={"reason": "after a data fix"})
    assert started.status == 202, started.body
    body = started.json()
    assert body["status"] == "queued" and body["full"] is False
    assert started.headers["location"] == f"/v1/admin/compute-runs/{body['run_id']}"
    assert seeded.drain(60)
    run = ops.get(f"/v1/admin/compute-runs/{body['run_id']}", headers=admin.bearer()).json()
    # Nothing new arrived since the last compute, so an incremental run has nothing to add
    assert run["trigger"] == "ComputeRequested" and run["status"] == "noop" and run["finished_at"] is not None
    assert publication().data_version == before
    assert audit_actions(ops, admin)[0]["action"] == "admin.compute.request"


def test_a_full_recompute_rebuilds_the_same_numbers_under_a_new_version(
    ops: Client, admin: Account, seeded: RecordingDispatcher
) -> None:
    version = publication().strategy_version
    assert version is not None
    dates, values = stored_values(version)
    # Damage the stored series: an incremental compute would never look back at it, a full one must
    with UnitOfWork() as uow:
        uow.session.execute(update(IndexValue).where(IndexValue.strategy_version == version).values(value=1))
    before = publication().data_version
    started = ops.post("/v1/admin/compute", headers=admin.bearer(), body={"full": True, "reason": "rebuild"})
    assert started.status == 202
    assert seeded.drain(60)
    run = ops.get(f"/v1/admin/compute-runs/{started.json()['run_id']}", headers=admin.bearer()).json()
    assert (run["status"], run["mode"]) == ("succeeded", "full") and run["data_version"] == before + 1
    rebuilt_dates, rebuilt = stored_values(version)
    assert rebuilt_dates == dates
    np.testing.assert_allclose(rebuilt, values, rtol=1e-12)


def test_a_full_compute_run_discloses_the_market_cap_leg(
    ops: Client, admin: Account, seeded: RecordingDispatcher
) -> None:
    started = ops.post("/v1/admin/compute", headers=admin.bearer(), body={"reason": "disclosure", "full": True})
    assert started.status == 202 and seeded.drain(60)
    run = ops.get(f"/v1/admin/compute-runs/{started.json()['run_id']}", headers=admin.bearer()).json()
    disclosed = run["disclosure"]
    # The demo provider reports no capitalisations: the market-cap third is equal weights, and the run says so
    assert disclosed["market_cap_leg"] == "equal_weights" and "equal weights" in disclosed["market_cap_note"]
    assert {v["source"] for v in disclosed["cap_sources"].values()} == {"equal_fallback"}
    assert disclosed["data_source"] == "demo" and isinstance(disclosed["skipped_rebalances"], list)


def test_compute_runs_page_newest_first(ops: Client, admin: Account, seeded: RecordingDispatcher) -> None:
    for reason in ("first of three", "second of three", "third of three"):
        assert ops.post("/v1/admin/compute", headers=admin.bearer(), body={"reason": reason}).status == 202
    assert seeded.drain(60)
    first = ops.get("/v1/admin/compute-runs", headers=admin.bearer(), query="limit=2").json()
    second = ops.get("/v1/admin/compute-runs", headers=admin.bearer(), query=f"limit=2&cursor={first['next_cursor']}")
    ids = [r["id"] for r in first["items"]] + [r["id"] for r in second.json()["items"]]
    assert len(ids) == len(set(ids)) >= 3
    stamps = [r["created_at"] for r in first["items"] + second.json()["items"]]
    assert stamps == sorted(stamps, reverse=True)
    bad = ops.get("/v1/admin/compute-runs", headers=admin.bearer(), query="cursor=not-a-cursor")
    assert bad.status == 422


def test_cache_state_is_in_step_with_the_published_version(
    ops: Client, admin: Account, index_api: Client, reader: Account
) -> None:
    assert index_api.get("/v1/index/history", headers=reader.bearer()).status == 200
    stats = ops.get("/v1/admin/cache", headers=admin.bearer()).json()
    assert stats["backend"] == "redis" and stats["reachable"] is True
    assert stats["in_step"] is True and stats["current_token"] == stats["published"]["version_token"]
    assert stats["entries_current"] >= 8 and stats["entries_counted_all"] is True  # the warmed reads at least


def test_invalidation_replaces_every_etag_and_the_warmer_rebuilds(
    ops: Client, admin: Account, index_api: Client, reader: Account, seeded: RecordingDispatcher
) -> None:
    first = index_api.get("/v1/index/history", headers=reader.bearer())
    etag = first.headers["etag"]
    done = ops.post("/v1/admin/cache/invalidate", headers=admin.bearer())
    assert done.status == 200, done.body
    body = done.json()
    assert body["version_token"] != body["previous_token"] and body["data_version"] == publication().data_version
    assert seeded.drain(60)  # CacheInvalidated -> the warmer builds the default reads for the new token
    again = index_api.get("/v1/index/history", headers={**reader.bearer(), "If-None-Match": etag})
    assert again.status == 200 and again.headers["etag"] != etag
    assert again.headers["x-cache"] == "hit" and again.body == first.body  # same numbers, rebuilt by the warmer
    stats = ops.get("/v1/admin/cache", headers=admin.bearer()).json()
    assert stats["in_step"] is True and stats["current_token"] == body["version_token"]
    assert audit_actions(ops, admin)[0]["action"] == "admin.cache.invalidate"


def test_index_operations_are_admin_only(ops: Client, user: Account, seeded: RecordingDispatcher) -> None:
    for method, path in (
        ("POST", "/v1/admin/compute"),
        ("GET", "/v1/admin/compute-runs"),
        ("GET", "/v1/admin/cache"),
        ("POST", "/v1/admin/cache/invalidate"),
    ):
        assert ops.request(method, path, headers=user.bearer(), body={"reason": "not mine"}).status == 403, path


def test_bad_compute_requests_are_422(ops: Client, admin: Account, seeded: RecordingDispatcher) -> None:
    for body in ({}, {"reason": "ok reason", "full": "yes"}, {"reason": "ok reason", "extra": 1}, {"reason": "x"}):
        assert ops.post("/v1/admin/compute", headers=admin.bearer(), body=body).status == 422, body


def test_a_requested_rebalance_happens_at_the_next_close_and_says_so(
    ops: Client, admin: Account, user: Account, seeded: RecordingDispatcher
) -> None:
    from datetime import timedelta

    from autoindex.index.compute import run_compute
    from autoindex.index.models import IndexAllocation, IndexEngineState
    from autoindex.market.models import Asset, DailyPrice
    from sqlalchemy import delete, select

    from tests.integration.compute.seeding import refresh

    dates, _ = stored_values(1)
    # The next close after the cut is a Tuesday to Friday, so the weekly schedule does not fire on it.
    cut = max(i for i in range(len(dates) - 6) if dates[i + 1].weekday() != 0)
    with UnitOfWork() as uow:  # the days after the cut have not been fetched yet
        uow.session.execute(delete(DailyPrice).where(DailyPrice.date > dates[cut]))
        uow.session.execute(update(Asset).values(prices_checked_through=None))
        uow.session.execute(delete(IndexEngineState))
    assert run_compute(uow=UnitOfWork(), trigger="cli").status == "succeeded"
    body = {"reason": "a data fix moved the weights"}
    assert ops.post("/v1/admin/rebalance", headers=user.bearer(), body=body).status == 403
    headers = {**admin.bearer(), "Idempotency-Key": "fix-2026-11-30"}
    first = ops.post("/v1/admin/rebalance", headers=headers, body=body)
    assert first.status == 202, first.body
    accepted = first.json()
    assert accepted["effective_date"] == (dates[cut] + timedelta(days=1)).isoformat() and not accepted["joined"]
    again = ops.post("/v1/admin/rebalance", headers=headers, body=body).json()
    assert again["request_id"] == accepted["request_id"] and again["joined"] is True
    assert ops.post("/v1/admin/rebalance", headers=admin.bearer(), body={"reason": ""}).status == 422
    audit = [e for e in audit_actions(ops, admin) if e["action"] == "admin.rebalance.request"]
    assert [e["target_id"] for e in audit] == [accepted["request_id"]]

    refresh(seeded)  # the missing days arrive; the compute extends the index through them
    with UnitOfWork(read_only=True) as uow:
        triggers = dict(
            uow.session.execute(
                select(IndexAllocation.date, IndexAllocation.trigger).where(IndexAllocation.strategy_version == 1)
            ).all()
        )
    assert triggers[dates[cut + 1]] == "request"
    assert set(triggers.values()) == {"schedule", "request"}
    index_api = Client(function_handler("index"))
    served = index_api.get(
        "/v1/index/allocations", headers=admin.bearer(), query=f"date={dates[cut + 1].isoformat()}"
    ).json()
    assert served["rebalance_date"] == dates[cut + 1].isoformat() and served["rebalance_trigger"] == "request"
    extended = stored_values(1)
    assert run_compute(uow=UnitOfWork(), trigger="cli", full=True).status == "succeeded"
    np.testing.assert_allclose(stored_values(1)[1], extended[1], rtol=1e-12)  # full recompute agrees


def test_an_idempotency_key_used_for_another_reason_is_refused(ops: Client, admin: Account) -> None:
    # The key said "this request again" while the body said another: answering the first request as
    # joined let an operator believe the second reason was recorded (the IETF draft's 422).
    headers = {**admin.bearer(), "Idempotency-Key": "reused-key-2026-12-01"}
    first = ops.post("/v1/admin/rebalance", headers=headers, body={"reason": "a data fix moved the weights"})
    assert first.status == 202, first.body
    other = ops.post("/v1/admin/rebalance", headers=headers, body={"reason": "a different rebalance"})
    assert other.status == 422, other.body
    assert "Idempotency-Key" in other.json()["detail"]
    mine = [e for e in audit_actions(ops, admin) if e["actor_id"] == admin.user_id]
    assert [e["target_id"] for e in mine if e["action"] == "admin.rebalance.request"] == [first.json()["request_id"]]
