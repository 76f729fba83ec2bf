"""The index read API through its handler: numbers, cache and ETags, validation, historical-FX simulation."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.index.compute import run_compute
from autoindex.market.models import Asset, AssetDividend, DailyPrice
from sqlalchemy import select, update

from tests.conftest import REDIS_URL
from tests.functions.conftest import Account, Client
from tests.integration.compute.seeding import publication, reset_index, stored_values
from tests.lambda_http import ROOT, function_handler
from tests.pipeline_fixtures import RecordingDispatcher


@pytest.fixture
def api(seeded: RecordingDispatcher) -> Client:
    return Client(function_handler("index"))


def get(api: Client, reader: Account, path: str, query: str = "", **headers: str) -> Any:
    return api.get(path, query=query, headers={**reader.bearer(), **headers})


def simulate(api: Client, reader: Account, body: dict[str, Any]) -> Any:
    return api.post("/v1/index/simulate", headers=reader.bearer(), body=body)


def test_reads_need_authentication(api: Client) -> None:
    assert api.get("/v1/index/current").status == 401


def test_history_and_current_are_the_stored_numbers(api: Client, reader: Account) -> None:
    dates, values = stored_values(1)
    history = get(api, reader, "/v1/index/history").json()
    assert [i["date"] for i in history["items"]] == [d.isoformat() for d in dates]
    assert [i["value"] for i in history["items"]] == pytest.approx(list(values), rel=1e-12)
    assert history["items"][0]["value"] == 100.0 and history["strategy_version"] == 1
    current = get(api, reader, "/v1/index/current").json()
    assert current["date"] == history["items"][-1]["date"]
    assert current["value"] == pytest.approx(history["items"][-1]["value"], rel=1e-12)
    assert sum(a["weight"] for a in current["allocations"]) == pytest.approx(1.0, abs=1e-12)
    assert {a["symbol"] for a in current["allocations"]} <= {"AAPL", "MSFT"}
    assert any("market-cap" in note for note in current["notes"])  # the fallback is never silent


def test_history_fields_and_range(api: Client, reader: Account) -> None:
    items = get(api, reader, "/v1/index/history").json()["items"]
    start, end = items[3]["date"], items[9]["date"]
    page = get(api, reader, "/v1/index/history", f"start={start}&end={end}&fields=daily_return,drawdown").json()
    assert [i["date"] for i in page["items"]] == [i["date"] for i in items[3:10]]
    first = page["items"][0]
    assert set(first) == {"date", "daily_return", "drawdown"}
    assert first["daily_return"] == pytest.approx(items[3]["value"] / items[2]["value"] - 1, rel=1e-12)
    assert first["drawdown"] <= 0.0


def test_allocations_on_a_date_are_the_rebalance_in_effect(api: Client, reader: Account) -> None:
    items = get(api, reader, "/v1/index/history").json()["items"]
    body = get(api, reader, "/v1/index/allocations", f"date={items[0]['date']}").json()
    assert body["rebalance_date"] == items[0]["date"]  # the formation
    later = get(api, reader, "/v1/index/allocations").json()
    assert later["date"] == items[-1]["date"] and later["rebalance_date"] <= later["date"]
    assert sum(a["weight"] for a in later["allocations"]) == pytest.approx(1.0, abs=1e-12)


def test_second_read_is_a_cache_hit_with_etag_and_304(api: Client, reader: Account) -> None:
    from redis import Redis

    items = get(api, reader, "/v1/index/history").json()["items"]
    query = f"start={items[5]['date']}"
    first = get(api, reader, "/v1/index/history", query)
    assert first.status == 200 and first.headers["x-cache"] == "miss"
    second = get(api, reader, "/v1/index/history", query)
    assert second.headers["x-cache"] == "hit" and second.body == first.body
    version = publication().data_version
    etag = first.headers["etag"]
    assert etag == second.headers["etag"] and etag.startswith(f'"v{version}-')
    keys = Redis.from_url(REDIS_URL).keys(f"ix:v{version}-*:index.history:*")
    assert len(keys) >= 2  # the warmed default read and this one
    not_modified = get(api, reader, "/v1/index/history", query, **{"If-None-Match": etag})
    assert not_modified.status == 304 and not_modified.body == b""


def test_warming_built_the_default_reads(api: Client, reader: Account) -> None:
    assert get(api, reader, "/v1/index/current").headers["x-cache"] == "hit"
    assert get(api, reader, "/v1/currencies").headers["x-cache"] == "hit"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/index/history", "start=2024-02-01&end=2024-01-01"),
        ("/v1/index/history", "fields=value,secret"),
        ("/v1/index/history", "start=1900-01-01&end=2026-01-01"),
        ("/v1/index/history", "start=2999-01-01"),
        ("/v1/index/history", "colour=red"),
        ("/v1/index/allocations", "date=2001-01-01"),
        ("/v1/index/allocations", "date=yesterday"),
        ("/v1/benchmark/compare", "end=2001-01-01"),
        ("/v1/index/history", "return_type=dividends"),
        ("/v1/benchmark/compare", "return_type=TOTAL"),
    ],
)
def test_bad_queries_are_422(api: Client, reader: Account, path: str, query: str) -> None:
    result = get(api, reader, path, query)
    assert result.status == 422, result.body
    assert result.headers["content-type"] == "application/problem+json"


def test_currencies_list_usd_and_the_fx_pairs(api: Client, reader: Account) -> None:
    items = get(api, reader, "/v1/currencies").json()["items"]
    codes = [c["code"] for c in items]
    assert len(codes) >= 21 and "USD" in codes and "EUR" in codes
    eur = next(c for c in items if c["code"] == "EUR")
    assert eur["fx_symbol"] == "USD/EUR" and eur["last_date"] is not None


def test_benchmark_series_and_compare(api: Client, reader: Account) -> None:
    series = get(api, reader, "/v1/benchmark/series").json()
    assert series["symbol"] == "SPX" and series["items"][0]["value"] == 100.0
    compare = get(api, reader, "/v1/benchmark/compare").json()
    index, bench = compare["index"], compare["benchmark_metrics"]
    assert compare["difference"]["total_return"] == pytest.approx(index["total_return"] - bench["total_return"])
    assert index["beta"] is not None
    # An 8-day range is not annualised: the earlier version reported CAGRs of hundreds of per cent.
    days = [i["date"] for i in get(api, reader, "/v1/index/history").json()["items"]]
    short = get(api, reader, "/v1/benchmark/compare", f"start={days[-9]}&end={days[-1]}").json()
    assert short["index"]["annualized"] is False and short["index"]["annualized_return"] is None
    assert short["index"]["total_return"] is not None and short["index"]["reason"]
    assert "annualized_return" not in short["difference"] and "total_return" in short["difference"]


def _fx_closes() -> dict[date, float]:
    with UnitOfWork(read_only=True) as uow:
        asset_id = uow.session.scalars(select(Asset.id).where(Asset.symbol == "USD/EUR")).one()
        rows = uow.session.execute(select(DailyPrice.date, DailyPrice.close).where(DailyPrice.asset_id == asset_id))
        return {d: float(c) for d, c in rows}


def test_simulation_uses_each_dates_historical_rate(api: Client, reader: Account) -> None:
    dates, values = stored_values(1)
    start, end = dates[2], dates[-4]
    body = {"amount": 10_000, "currency": "eur", "start_date": start.isoformat(), "end_date": end.isoformat()}
    before = simulate(api, reader, body)
    assert before.status == 200, before.body
    sim = before.json()
    fx = _fx_closes()
    usd = 10_000 / fx[start]
    assert sim["amount"] == "10000.00" and sim["start_value"] == "10000.00"  # decimal strings, to the cent
    assert float(sim["start_value_usd"]) == pytest.approx(usd, abs=0.005)
    assert float(sim["end_value"]) == pytest.approx(usd * values[-4] / values[2] * fx[end], abs=0.005)
    assert all(len(item["value"].split(".")[1]) == 2 for item in sim["series"])
    last_fx = max(fx)
    with UnitOfWork() as uow:  # today's rate jumps to 5: the past period must not move
        asset_id = uow.session.scalars(select(Asset.id).where(Asset.symbol == "USD/EUR")).one()
        five = Decimal("5")
        uow.session.execute(
            update(DailyPrice)
            .where(DailyPrice.asset_id == asset_id, DailyPrice.date == last_fx)
            .values(open=five, high=five, low=five, close=five)
        )
    assert simulate(api, reader, body).json() == sim
    to_today = simulate(api, reader, {**body, "end_date": None}).json()
    assert float(to_today["start_value_usd"]) == pytest.approx(usd, abs=0.005)
    assert to_today["series"][-1]["fx_rate"] == (5.0 if last_fx == dates[-1] else fx[dates[-1]])
    # An end after the last index date (today, on a Monday) moves back to it, as the start moves forward.
    later = simulate(api, reader, {**body, "end_date": (dates[-1] + timedelta(days=3)).isoformat()})
    assert later.status == 200, later.body
    assert later.json()["end_date"] == dates[-1].isoformat() and later.json() == to_today


def test_every_index_answer_says_its_prices_are_synthetic(api: Client, reader: Account) -> None:
    dates, _ = stored_values(1)
    reads = [
        get(api, reader, path).json()
        for path in ("/v1/index/current", "/v1/index/history", "/v1/index/allocations", "/v1/benchmark/compare")
    ]
    reads.append(simulate(api, reader, {"amount": 10, "currency": "USD", "start_date": dates[1].isoformat()}).json())
    assert [r["data_source"] for r in reads] == ["demo"] * 5


def test_every_weight_carrying_answer_states_its_cap_sources(api: Client, reader: Account) -> None:
    current = get(api, reader, "/v1/index/current").json()["disclosure"]
    allocations = get(api, reader, "/v1/index/allocations").json()["disclosure"]
    for disclosed in (current, allocations):
        assert disclosed["market_cap_leg"] == "equal_weights"  # the demo reports no capitalisations
        assert disclosed["market_cap_note"].startswith("equal weights stood in")
        assert set(disclosed["cap_sources"]) == {"AAPL", "MSFT"}
        assert {v["source"] for v in disclosed["cap_sources"].values()} == {"equal_fallback"}
        assert isinstance(disclosed["skipped_rebalances"], list)
    rebalances = get(api, reader, "/v1/index/rebalances").json()
    items = rebalances["items"]
    assert items[0]["kind"] == "formation" and items[0]["turnover"] == 0.0
    assert items[0]["date"] == get(api, reader, "/v1/index/history").json()["items"][0]["date"]
    assert all(i["kind"] in ("rebalance", "skipped") for i in items[1:]) and len(items) > 2
    assert all(i["cap_sources"] for i in items if i["kind"] != "skipped")
    assert any("equal weights stood in" in note for note in items[-1]["notes"] + items[0]["notes"])
    page = get(api, reader, "/v1/index/rebalances", "limit=2").json()
    assert page["items"] == items[:2] and page["next_cursor"]


def _set_aapl_dividend(day: date, amount: Decimal | None) -> Decimal | None:
    """Set (or with None remove) AAPL's dividend on ``day``; returns the amount stored before."""
    with UnitOfWork() as uow:
        aapl = uow.session.scalars(select(Asset.id).where(Asset.symbol == "AAPL")).one()
        row = uow.session.get(AssetDividend, (aapl, day))
        before = row.amount if row is not None else None
        if row is not None:
            uow.session.delete(row)
            uow.session.flush()
        if amount is not None:
            uow.session.add(AssetDividend(asset_id=aapl, ex_date=day, amount=amount, source="demo"))
    return before


def test_total_return_is_served_beside_price_return(api: Client, reader: Account) -> None:
    dates, _ = stored_values(1)
    price = get(api, reader, "/v1/index/history").json()
    total_before = get(api, reader, "/v1/index/history", "return_type=total").json()
    assert price["return_type"] == "price" and total_before["return_type"] == "total"
    day = dates[-20]
    with UnitOfWork(read_only=True) as uow:  # a dividend of 5 % of AAPL's close, well inside the index's history
        aapl = uow.session.scalars(select(Asset.id).where(Asset.symbol == "AAPL")).one()
        close = uow.session.scalar(select(DailyPrice.close).where(DailyPrice.asset_id == aapl, DailyPrice.date == day))
    assert close is not None
    previous = _set_aapl_dividend(day, close / 20)
    run_compute(uow=UnitOfWork(), trigger="cli")
    try:
        total = get(api, reader, "/v1/index/history", "return_type=total").json()
        assert get(api, reader, "/v1/index/history").json()["items"] == price["items"]  # price return unmoved
        assert [i["date"] for i in total["items"]] == [i["date"] for i in price["items"]]
        before = slice(0, len(dates) - 20)  # unchanged until the ex-date, ahead from it on
        assert [i["value"] for i in total["items"][before]] == pytest.approx(
            [i["value"] for i in total_before["items"][before]], rel=1e-12
        )
        ahead = zip(total["items"][-20:], total_before["items"][-20:], strict=True)
        assert all(new["value"] > old["value"] for new, old in ahead)
        compare = get(api, reader, "/v1/benchmark/compare", "return_type=total").json()
        assert compare["return_type"] == "total" and compare["benchmark_return_type"] == "price"  # SPX
        price_compare = get(api, reader, "/v1/benchmark/compare").json()
        assert compare["index"]["total_return"] > price_compare["index"]["total_return"]
        body = {"amount": 1000, "currency": "USD", "start_date": dates[1].isoformat()}
        sims = [simulate(api, reader, {**body, "return_type": kind}).json() for kind in ("price", "total")]
        assert sims[1]["return_type"] == "total" and sims[1]["roi"] > sims[0]["roi"]
    finally:
        _set_aapl_dividend(day, previous)
        run_compute(uow=UnitOfWork(), trigger="cli", full=True)


@pytest.mark.parametrize(
    "change",
    [
        {"return_type": "gross"},
        {"currency": "XYZ"},
        {"currency": "EURO"},
        {"amount": 0},
        {"amount": -5},
        {"start_date": "2001-01-01"},
        {"start_date": "2999-01-01"},
        {"end_date": "2001-01-01"},
        {"leverage": 3},
    ],
)
def test_bad_simulations_are_422(api: Client, reader: Account, change: dict[str, Any]) -> None:
    dates, _ = stored_values(1)
    body = {"amount": 1000, "currency": "EUR", "start_date": dates[1].isoformat(), **change}
    result = simulate(api, reader, body)
    assert result.status == 422, result.body
    assert result.headers["content-type"] == "application/problem+json"


def test_before_the_first_compute_reads_answer_409(api: Client, reader: Account) -> None:
    from redis import Redis

    reset_index()
    Redis.from_url(REDIS_URL).delete("ix:data-version")  # as when its lifetime ends (INDEX_CACHE_VERSION_TTL_S)
    try:
        result = get(api, reader, "/v1/index/current")
        assert result.status == 409 and result.json()["type"].endswith("index-not-ready")
        assert get(api, reader, "/v1/index/history").status == 409
    finally:
        assert run_compute(uow=UnitOfWork(), trigger="cli").status == "succeeded"
    assert get(api, reader, "/v1/index/current").status == 200


def test_a_new_compute_changes_the_etag(api: Client, reader: Account) -> None:
    first = get(api, reader, "/v1/index/current")
    with UnitOfWork() as uow:
        from autoindex.index.models import IndexEngineState
        from sqlalchemy import delete

        uow.session.execute(delete(IndexEngineState))
    assert run_compute(uow=UnitOfWork(), trigger="cli").status == "succeeded"
    again = get(api, reader, "/v1/index/current", **{"If-None-Match": first.headers["etag"]})
    assert again.status == 200 and again.headers["etag"] != first.headers["etag"]
    assert again.json()["date"] == first.json()["date"] and date.fromisoformat(
        again.json()["date"]
    ) > date.today() - timedelta(days=10)


def test_benchmark_series_starts_with_the_index_when_asked_from_earlier(api: Client, reader: Account) -> None:
    # A start before the base date gave the benchmark's warm-up closes too, normalised to 100 on its own first
    # close, so an overlay with the index (100 on the base date) compared two different bases.
    history = get(api, reader, "/v1/index/history").json()
    base = date.fromisoformat(history["base_date"])
    early = (base - timedelta(days=30)).isoformat()
    series = get(api, reader, "/v1/benchmark/series", f"start={early}").json()
    everything = get(api, reader, "/v1/benchmark/series").json()
    assert series["items"][0]["date"] == history["base_date"] and series["items"][0]["value"] == 100.0
    assert series["items"] == everything["items"]
    assert [i["date"] for i in series["items"]] == [i["date"] for i in history["items"]]


def test_benchmark_series_ends_with_the_index_when_newer_closes_are_stored(api: Client, reader: Account) -> None:
    # Prices refreshed, compute not yet run: a close after the index's last date is not beside any index value.
    last = date.fromisoformat(get(api, reader, "/v1/index/history").json()["items"][-1]["date"])
    with UnitOfWork() as uow:
        spx = uow.session.scalars(select(Asset.id).where(Asset.symbol == "SPX")).one()
        bar = {"open": Decimal(100), "high": Decimal(100), "low": Decimal(100), "close": Decimal(100), "volume": 1}
        uow.session.add(DailyPrice(asset_id=spx, date=last + timedelta(days=1), source="test", **bar))
    later = (last + timedelta(days=5)).isoformat()
    series = get(api, reader, "/v1/benchmark/series", f"end={later}").json()
    assert series["items"][-1]["date"] == last.isoformat()


@pytest.mark.parametrize("path", ["/v1/index/history", "/v1/benchmark/series"])
def test_series_pages_cover_every_day_once(api: Client, reader: Account, path: str) -> None:
    everything = get(api, reader, path).json()
    assert everything["next_cursor"] is None and len(everything["items"]) > 7
    seen: list[str] = []
    query = "limit=7"
    while True:
        page = get(api, reader, path, query).json()
        assert 1 <= len(page["items"]) <= 7
        seen += [item["date"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"limit=7&cursor={page['next_cursor']}"
    assert seen == [item["date"] for item in everything["items"]]


@pytest.mark.parametrize("cursor", ["czoA", "ZDoyMDI0LTEzLTAx", "b3RoZXI6MQ", "!!"])
def test_a_forged_series_cursor_is_a_422(api: Client, reader: Account, cursor: str) -> None:
    # NUL in the key, not a date ("d:2024-13-01"), another list's kind, not base64url
    response = get(api, reader, "/v1/index/history", f"cursor={cursor}")
    assert response.status == 422 and response.headers["content-type"].startswith("application/problem+json")


def test_every_documented_history_field_is_served(api: Client, reader: Account) -> None:
    document = json.loads((ROOT / "functions" / "docs" / "openapi.json").read_text())
    parameters = document["paths"]["/v1/index/history"]["get"]["parameters"]
    names = next(p for p in parameters if p["name"] == "fields")["schema"]["items"]["enum"]
    assert names == ["value", "daily_return", "drawdown"]
    for name in names:
        page = get(api, reader, "/v1/index/history", f"fields={name}&limit=3").json()
        assert [set(item) for item in page["items"]] == [{"date", name}] * 3
    every = get(api, reader, "/v1/index/history", f"fields={','.join(names)}&limit=3").json()
    assert list(every["items"][0]) == ["date", *names]
    for unlisted in ("weight", "value,daily_return,drawdown,value", "VALUE", ""):
        result = get(api, reader, "/v1/index/history", f"fields={unlisted}")
        assert result.status == 422, (unlisted, result.body)
