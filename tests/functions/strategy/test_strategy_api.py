"""The strategy API through its handler: versioned config (admin changes, audited, recomputed), risk metrics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.identity.models import AuditEvent
from sqlalchemy import select

from tests.functions.conftest import Account, Client
from tests.integration.compute.seeding import latest_run, publication
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher

NEW_PARAMS = {"momentum_weight": 0.2, "market_cap_weight": 0.3, "risk_parity_weight": 0.5, "momentum_lookback_days": 40}


@pytest.fixture
def api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("strategy"))


def put(api: Client, account: Account, body: dict[str, Any]) -> Any:
    return api.request("PUT", "/v1/strategy/config", headers=account.bearer(), body=body)


def test_the_default_version_is_active(api: Client, reader: Account) -> None:
    config = api.get("/v1/strategy/config", headers=reader.bearer()).json()
    assert config["version"] == 1 and config["is_active"]
    assert config["params"]["momentum_weight"] == 0.4 and config["params"]["rebalance_frequency"] == "weekly"


def test_only_admins_see_who_made_a_version(api: Client, reader: Account, admin: Account) -> None:
    # Authors are internal account ids: a reader sees the versions, not who is behind them.
    for path in ("/v1/strategy/config", "/v1/strategy/config/history"):
        as_reader, as_admin = (api.get(path, headers=who.bearer()).json() for who in (reader, admin))
        reader_versions = as_reader.get("items", [as_reader])
        admin_versions = as_admin.get("items", [as_admin])
        assert reader_versions and all(v["author"] is None for v in reader_versions)
        assert all(v["author"] for v in admin_versions)
        assert [v["version"] for v in reader_versions] == [v["version"] for v in admin_versions]


def test_the_config_says_the_market_cap_weight_is_equal_weights_without_capitalisations(
    api: Client, reader: Account
) -> None:
    config = api.get("/v1/strategy/config", headers=reader.bearer()).json()
    assert config["params"]["market_cap_weight"] == 0.3
    assert config["disclosure"]["market_cap_leg"] == "equal_weights"
    assert config["disclosure"]["market_cap_note"]


def test_risk_metrics_of_the_total_return_index_say_what_they_measure(api: Client, reader: Account) -> None:
    price = api.get("/v1/strategy/risk-metrics", headers=reader.bearer()).json()
    total = api.get("/v1/strategy/risk-metrics", query="return_type=total", headers=reader.bearer()).json()
    assert price["return_type"] == "price" and total["return_type"] == "total"
    assert price["data_source"] == total["data_source"] == "demo"
    assert total["benchmark_return_type"] == "price" and total["benchmark"] == "SPX"  # SPX is a price index
    assert total["rolling"]["window"] == 30 and total["periods"]["index"]["inception"] is not None
    bad = api.get("/v1/strategy/risk-metrics", query="return_type=net", headers=reader.bearer())
    assert bad.status == 422


def test_risk_metrics_latest_and_rolling(api: Client, reader: Account) -> None:
    body = api.get("/v1/strategy/risk-metrics", query="window=30", headers=reader.bearer()).json()
    assert body["strategy_version"] == 1 and body["benchmark"] == "SPX"
    inception = body["periods"]["index"]["inception"]
    assert inception["total_return"] is not None and inception["beta"] is not None
    assert body["periods"]["benchmark"]["inception"]["beta"] is None
    # The seeded history is about 200 days: under a year, so nothing is annualised (GIPS), with the reason.
    assert inception["annualized"] is False and "under one year" in inception["reason"]
    assert inception["annualized_return"] is None and inception["sharpe_ratio"] is None
    assert inception["annualized_volatility"] is None and inception["sortino_ratio"] is None
    assert body["rolling"]["window"] == 30 and body["rolling"]["items"]
    assert api.get("/v1/strategy/risk-metrics", query="window=45", headers=reader.bearer()).status == 422


def test_a_non_admin_cannot_change_the_strategy(api: Client, reader: Account) -> None:
    result = put(api, reader, {"params": NEW_PARAMS, "reason": "try"})
    assert result.status == 403 and result.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"params": {**NEW_PARAMS, "momentum_weight": 0.3}, "reason": "sum is not 1"},
        {"params": {**NEW_PARAMS, "rebalance_frequency": "hourly"}, "reason": "bad frequency"},
        {"params": {**NEW_PARAMS, "momentum_lookback_days": 1}, "reason": "too short"},
        {"params": {**NEW_PARAMS, "leverage": 2}, "reason": "unknown field"},
        {
            "params": {**NEW_PARAMS, "benchmark_blend": [{"symbol": "SPX", "weight": 0.6}]},
            "reason": "blend weights must sum to 1",
        },
        {"params": NEW_PARAMS},
    ],
)
def test_invalid_changes_are_422(api: Client, admin: Account, body: dict[str, Any]) -> None:
    result = put(api, admin, body)
    assert result.status == 422, result.body
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json()["errors"]


def test_an_admin_change_adds_a_version_and_recomputes(
    api: Client, admin: Account, reader: Account, seeded: RecordingDispatcher
) -> None:
    before = publication().data_version
    result = put(api, admin, {"params": NEW_PARAMS, "reason": "less momentum"})
    assert result.status == 202, result.body
    accepted = result.json()
    version = accepted["version"]  # ids are never reused, so it is above 1 but not necessarily 2
    assert version > 1 and accepted["status"] == "queued"
    assert seeded.drain(60)
    run = latest_run()
    assert (str(run.id), run.status, run.strategy_version) == (accepted["compute_run_id"], "succeeded", version)
    assert publication().strategy_version == version and publication().data_version > before
    config = api.get("/v1/strategy/config", headers=reader.bearer()).json()
    assert config["version"] == version and config["params"]["momentum_lookback_days"] == 40
    assert config["reason"] == "less momentum"
    as_admin = api.get("/v1/strategy/config", headers=admin.bearer()).json()
    assert as_admin["author"] == f"user:{admin.user_id}"
    history = api.get("/v1/strategy/config/history", query="limit=1", headers=reader.bearer()).json()
    assert [v["version"] for v in history["items"]] == [version]
    rest = api.get("/v1/strategy/config/history", query=f"cursor={history['next_cursor']}", headers=reader.bearer())
    assert [(v["version"], v["is_active"]) for v in rest.json()["items"]] == [(1, False)]
    metrics = api.get("/v1/strategy/risk-metrics", headers=reader.bearer()).json()
    assert metrics["strategy_version"] == version
    with UnitOfWork(read_only=True) as uow:
        audit = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "strategy.update")).all()
    assert [(a.actor_id, a.target_id) for a in audit][-1:] == [(admin.user_id, str(version))]
    assert put(api, admin, {"params": NEW_PARAMS, "reason": "same again"}).status == 409


def test_a_blended_benchmark_is_versioned_with_the_strategy_and_named_in_compare(
    api: Client, admin: Account, reader: Account, seeded: RecordingDispatcher
) -> None:
    import numpy as np
    from autoindex.index.engine.benchmark import blend_values

    from tests.integration.compute.seeding import closes_matrix, stored_values

    blend = [{"symbol": "SPX", "weight": 0.6}, {"symbol": "MSFT", "weight": 0.4}]
    params = {**NEW_PARAMS, "momentum_lookback_days": 45, "benchmark_blend": blend}
    result = put(api, admin, {"params": params, "reason": "a benchmark that fits the universe"})
    assert result.status == 202, result.body
    assert seeded.drain(60)
    version = result.json()["version"]
    config = api.get("/v1/strategy/config", headers=reader.bearer()).json()
    assert config["version"] == version and config["params"]["benchmark_blend"] == blend
    metrics = api.get("/v1/strategy/risk-metrics", headers=reader.bearer()).json()
    assert metrics["benchmark"] == "60% SPX / 40% MSFT (monthly)"
    compare = Client(function_handler("index")).get("/v1/benchmark/compare", headers=reader.bearer()).json()
    assert compare["benchmark"] == "60% SPX / 40% MSFT (monthly)"
    # The blend rebuilt from the stored closes: 100 at the start, monthly back to 60/40.
    days, _ = stored_values(version)
    all_days, closes = closes_matrix(("SPX", "MSFT"))
    rows = [all_days.index(d) for d in days]
    expected = blend_values(np.array(days, dtype="datetime64[D]"), closes[rows], [0.6, 0.4], "monthly")
    total = expected[-1] / expected[0] - 1
    assert compare["benchmark_metrics"]["total_return"] == pytest.approx(total, rel=1e-9)


def _config_etag(api: Client, admin: Account) -> str:
    read = api.get("/v1/strategy/config", headers=admin.bearer())
    assert read.status == 200
    return str(read.headers["etag"])


def _versions() -> int:
    from autoindex.index.models import StrategyVersion
    from sqlalchemy import func

    with UnitOfWork(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(StrategyVersion)) or 0)


def test_if_match_turns_a_change_made_in_between_into_a_412(
    api: Client, admin: Account, seeded: RecordingDispatcher
) -> None:
    etag = _config_etag(api, admin)
    first = {"params": {**NEW_PARAMS, "momentum_lookback_days": 41}, "reason": "mine"}
    applied = api.request("PUT", "/v1/strategy/config", headers={**admin.bearer(), "If-Match": etag}, body=first)
    assert applied.status == 202, applied.body
    assert seeded.drain(60)
    # A second admin edited the same read: their change would silently undo the first.
    theirs = {"params": {**NEW_PARAMS, "momentum_lookback_days": 42}, "reason": "theirs"}
    versions = _versions()
    stale = api.request("PUT", "/v1/strategy/config", headers={**admin.bearer(), "If-Match": etag}, body=theirs)
    assert stale.status == 412, stale.body
    assert stale.headers["content-type"] == "application/problem+json"
    assert f"active version {applied.json()['version']}" in stale.json()["detail"]
    assert _versions() == versions  # nothing written
    config = api.get("/v1/strategy/config", headers=admin.bearer()).json()
    assert config["version"] == applied.json()["version"] and config["params"]["momentum_lookback_days"] == 41
    # A weak tag never matches (strong comparison); the current one or * does.
    weak = api.request("PUT", "/v1/strategy/config", headers={**admin.bearer(), "If-Match": f"W/{etag}"}, body=theirs)
    assert weak.status == 412
    fresh = _config_etag(api, admin)
    assert fresh != etag
    again = api.request("PUT", "/v1/strategy/config", headers={**admin.bearer(), "If-Match": fresh}, body=theirs)
    assert again.status == 202, again.body
    assert seeded.drain(60)
    star = {"params": {**NEW_PARAMS, "momentum_lookback_days": 43}, "reason": "any"}
    assert (
        api.request("PUT", "/v1/strategy/config", headers={**admin.bearer(), "If-Match": "*"}, body=star).status == 202
    )
    assert seeded.drain(60)


def test_of_two_changes_made_from_one_read_at_once_exactly_one_applies(
    api: Client, admin: Account, seeded: RecordingDispatcher
) -> None:
    import threading

    from autoindex.errors import PreconditionFailed
    from autoindex.identity.principal import Principal, RequestMeta, scopes_for_role
    from autoindex.index import strategy
    from autoindex.index.schemas import StrategyChange
    from autoindex.web.etag import if_match_holds, model_etag

    etag = _config_etag(api, admin)
    owner = uuid.UUID(admin.user_id)
    principal = Principal(kind="user", user_id=owner, email=admin.email, role="admin", scopes=scopes_for_role("admin"))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def change(days: int) -> None:
        body = StrategyChange.model_validate(
            {"params": {**NEW_PARAMS, "momentum_lookback_days": days}, "reason": "race"}
        )
        barrier.wait()
        try:
            strategy.update_config(
                uow=UnitOfWork(),
                principal=principal,
                change=body,
                meta=RequestMeta(request_id=None, source_ip=None),
                precondition=lambda current: if_match_holds(etag, model_etag(current)),
            )
            outcomes.append("applied")
        except PreconditionFailed:
            outcomes.append("412")

    versions = _versions()
    threads = [threading.Thread(target=change, args=(days,)) for days in (51, 52)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["412", "applied"]
    assert _versions() == versions + 1
    assert seeded.drain(60)


def _monthly_blend_reference(
    days: list[Any], closes: dict[str, dict[Any, float]], weights: dict[str, float]
) -> list[float]:
    """A 60/40-style blend by hand: units bought at the first close, bought back to the weights at the close of
    each month's first trading day; a close carried forward over a day the asset did not trade."""
    last: dict[str, float] = {}
    values: list[float] = []
    units: dict[str, float] = {}
    for t, day in enumerate(days):
        for symbol, by_day in closes.items():
            last[symbol] = by_day.get(day, last.get(symbol, float("nan")))
        if t == 0:
            units = {s: 100.0 * w / last[s] for s, w in weights.items()}
        value = sum(units[s] * last[s] for s in weights)
        values.append(value)
        if t > 0 and day.month != days[t - 1].month:
            units = {s: value * w / last[s] for s, w in weights.items()}
    return values


def test_the_benchmark_series_is_the_blend_compare_measures(
    api: Client, admin: Account, reader: Account, seeded: RecordingDispatcher
) -> None:
    from datetime import date

    from tests.integration.compute.seeding import closes_matrix

    blend = [{"symbol": "SPX", "weight": 0.6}, {"symbol": "MSFT", "weight": 0.4}]
    result = put(api, admin, {"params": {**NEW_PARAMS, "benchmark_blend": blend}, "reason": "a 60/40 benchmark"})
    assert result.status == 202, result.body
    assert seeded.drain(60)
    index_api = Client(function_handler("index"))
    history = index_api.get("/v1/index/history", headers=reader.bearer()).json()
    days = [date.fromisoformat(item["date"]) for item in history["items"]]
    series = index_api.get("/v1/benchmark/series", headers=reader.bearer()).json()
    compare = index_api.get("/v1/benchmark/compare", headers=reader.bearer()).json()
    # The series an overlay draws is the benchmark compare measures, named alike, on the index's own dates.
    assert series["benchmark"] == compare["benchmark"] == "60% SPX / 40% MSFT (monthly)"
    assert series["symbol"] is None and all(item["close"] is None for item in series["items"])
    assert [date.fromisoformat(item["date"]) for item in series["items"]] == days
    values = [item["value"] for item in series["items"]]
    assert values[-1] / values[0] - 1 == pytest.approx(compare["benchmark_metrics"]["total_return"], rel=1e-12)
    all_days, matrix = closes_matrix(("SPX", "MSFT"))
    closes = {
        symbol: {d: float(c) for d, c in zip(all_days, matrix[:, j], strict=True) if c == c}
        for j, symbol in enumerate(("SPX", "MSFT"))
    }
    expected = _monthly_blend_reference(days, closes, {"SPX": 0.6, "MSFT": 0.4})
    assert values == pytest.approx(expected, rel=1e-12)  # to the last bit but for summation order


@pytest.mark.parametrize("symbol", ["ZZZZ", "NOPRICES"])
def test_a_benchmark_blend_of_an_unusable_asset_is_refused_when_saved(
    api: Client, admin: Account, reader: Account, symbol: str
) -> None:
    from autoindex.market.models import Asset

    with UnitOfWork() as uow:  # a stored, active asset that has never had a price
        if symbol == "NOPRICES" and uow.session.scalars(select(Asset).where(Asset.symbol == symbol)).first() is None:
            uow.session.add(Asset(symbol=symbol, name="No prices yet", asset_type="stock", currency="USD"))
    before = api.get("/v1/strategy/config", headers=reader.bearer()).json()["version"]
    blend = [{"symbol": "SPX", "weight": 0.5}, {"symbol": symbol, "weight": 0.5}]
    result = put(api, admin, {"params": {**NEW_PARAMS, "benchmark_blend": blend}, "reason": "an unknown benchmark"})
    assert result.status == 422, result.body
    (error,) = result.json()["errors"]
    assert symbol in result.json()["detail"] and symbol in error["msg"]
    assert error["loc"] == ["body", "params", "benchmark_blend", 1, "symbol"]
    # Nothing was saved: the active version and every reader's compare are as before.
    assert api.get("/v1/strategy/config", headers=reader.bearer()).json()["version"] == before
    assert Client(function_handler("index")).get("/v1/benchmark/compare", headers=reader.bearer()).status == 200


def _activate_stored(params: dict[str, Any]) -> None:
    # A version as an older release stored it: written directly, since the API stores every parameter.
    from autoindex.index.models import StrategyVersion
    from sqlalchemy import update

    with UnitOfWork() as uow:
        uow.session.execute(update(StrategyVersion).where(StrategyVersion.is_active).values(is_active=False))
        uow.session.flush()
        uow.session.add(StrategyVersion(params=params, author="migration", reason="older release", is_active=True))


def test_resubmitting_the_active_versions_effective_parameters_is_a_409(api: Client, admin: Account) -> None:
    # A version stored before later parameters existed leaves them out and runs on their defaults. The
    # dashboard's editor submits every parameter: unchanged, that is no change (the 409), not a new version
    # and a full recompute.
    from autoindex.index.engine.strategy import StrategyParams

    current = api.get("/v1/strategy/config", headers=admin.bearer()).json()["params"]
    effective = StrategyParams.model_validate(current).model_dump(mode="json")
    _activate_stored({k: v for k, v in effective.items() if k not in {"stale_feed_days", "volatility_floor"}})
    before = _versions()
    result = put(api, admin, {"params": effective, "reason": "the editor, untouched"})
    assert result.status == 409, result.body
    assert _versions() == before
