"""The market read API through its handler: assets, paginated prices, history, ETags, validation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.events.transport import use_local_dispatcher
from autoindex.market.calendar import trading_days
from autoindex.market.refresh import request_refresh
from autoindex.pagination import encode_cursor
from sqlalchemy.engine import Engine

from tests.functions.conftest import Account, Client
from tests.lambda_http import ROOT, function_handler
from tests.pipeline_fixtures import RECENT_START, RecordingDispatcher, reset_market


@pytest.fixture(scope="module")
def seeded(migrated: Engine) -> Iterator[None]:
    """Four symbols with 45 days of demo prices, ingested by the real pipeline once for the module."""
    import os

    from autoindex_dev.runner import Runner

    from tests.conftest import clear_process_caches

    saved = {k: os.environ.get(k) for k in ("HISTORY_START", "REFRESH_BATCH_SYMBOLS")}
    os.environ["HISTORY_START"] = RECENT_START.isoformat()
    clear_process_caches()
    reset_market(keep={"AAPL", "MSFT", "SPX", "USD/EUR"})
    dispatcher = RecordingDispatcher(Runner.from_file(ROOT / "template.yaml"))
    use_local_dispatcher(dispatcher)
    request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(60)
    dispatcher.close()
    use_local_dispatcher(None)
    yield
    reset_market()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    clear_process_caches()


@pytest.fixture
def market(seeded: None) -> Client:
    return Client(function_handler("market"))


def get(market: Client, reader: Account, path: str, query: str = "", **headers: str) -> Any:
    return market.get(path, query=query, headers={**reader.bearer(), **headers})


def test_reads_need_authentication(market: Client) -> None:
    assert market.get("/v1/assets").status == 401


@pytest.mark.usefixtures("steady_minute")
def test_every_read_reports_the_callers_budget_even_a_304(market: Client, reader: Account) -> None:
    # The route builds its own response (for the ETag): the limit headers must survive that
    first = get(market, reader, "/v1/assets")
    second = get(market, reader, "/v1/assets", **{"If-None-Match": first.headers["etag"]})
    assert (first.status, second.status) == (200, 304)
    policies = [r.headers["ratelimit-policy"] for r in (first, second)]
    assert policies == ['"default";q=120;w=60'] * 2
    remaining = [int(r.headers["ratelimit"].split(";")[1].removeprefix("r=")) for r in (first, second)]
    assert remaining[1] == remaining[0] - 1  # the same caller's budget, counted per account


def test_assets_filter_search_and_pages(market: Client, reader: Account) -> None:
    stocks = get(market, reader, "/v1/assets", "type=stock&limit=3").json()
    assert [a["symbol"] for a in stocks["items"]] == ["AAPL", "AMZN", "GOOGL"]
    rest = get(market, reader, "/v1/assets", f"type=stock&limit=3&cursor={stocks['next_cursor']}").json()
    assert [a["symbol"] for a in rest["items"]] == ["META", "MSFT", "NVDA"]
    found = get(market, reader, "/v1/assets", "q=micro").json()["items"]
    assert [a["symbol"] for a in found] == ["MSFT"]
    assert get(market, reader, "/v1/assets", "q=%25").json()["items"] == []  # a LIKE wildcard is just text
    fx = get(market, reader, "/v1/assets", "type=fx&in_universe=false&limit=200").json()["items"]
    assert len(fx) == 21 and all(a["symbol"].startswith("USD/") for a in fx)


def test_asset_detail_for_plain_and_fx_symbols(market: Client, reader: Account) -> None:
    assert get(market, reader, "/v1/assets/aapl").json()["symbol"] == "AAPL"
    fx = get(market, reader, "/v1/assets/USD/EUR")
    assert fx.status == 200 and fx.json()["asset_type"] == "fx"
    assert get(market, reader, "/v1/assets/USD%2FEUR").status == 200
    missing = get(market, reader, "/v1/assets/NOPE")
    assert missing.status == 404 and missing.headers["content-type"] == "application/problem+json"


def test_asset_detail_lists_its_splits_oldest_first(market: Client, reader: Account) -> None:
    from datetime import UTC, datetime

    from autoindex.market.models import Asset, AssetSplit
    from sqlalchemy import delete, select

    # Given two splits stored for AAPL (as a whole-history refresh stores them) and none for MSFT
    with UnitOfWork() as uow:
        aapl = uow.session.scalars(select(Asset.id).where(Asset.symbol == "AAPL")).one()
        for day, after, before in ((date(2020, 8, 31), 4, 1), (date(2014, 6, 9), 7, 1)):
            uow.session.add(AssetSplit(asset_id=aapl, effective_date=day, shares_after=after, shares_before=before,
                                       source="twelvedata", ingested_at=datetime.now(UTC)))  # fmt: skip
    try:
        body = get(market, reader, "/v1/assets/AAPL").json()
        assert body["splits"] == [
            {"date": "2014-06-09", "shares_after": 7, "shares_before": 1, "ratio": 7.0, "source": "twelvedata"},
            {"date": "2020-08-31", "shares_after": 4, "shares_before": 1, "ratio": 4.0, "source": "twelvedata"},
        ]
        assert get(market, reader, "/v1/assets/MSFT").json()["splits"] == []
        assert "splits" not in get(market, reader, "/v1/assets", "limit=1").json()["items"][0]  # detail only
    finally:
        with UnitOfWork() as uow:
            uow.session.execute(delete(AssetSplit))


def test_prices_page_through_every_bar_once(market: Client, reader: Account) -> None:
    seen: list[str] = []
    cursor = ""
    while True:
        page = get(market, reader, "/v1/assets/AAPL/prices", f"limit=7{cursor}").json()
        seen += [item["date"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == sorted(set(seen))
    # The demo market trades every NYSE session: no gap, no duplicate, across page boundaries.
    sessions = trading_days(date.fromisoformat(seen[0]), date.fromisoformat(seen[-1]))
    assert seen == [d.isoformat() for d in sessions] and len(seen) > 20
    item = get(market, reader, "/v1/assets/AAPL/prices", "limit=1").json()["items"][0]
    assert set(item) == {"date", "open", "high", "low", "close", "volume"}
    assert isinstance(item["close"], str) and float(item["low"]) <= float(item["close"]) <= float(item["high"])


def test_fields_and_date_range_select_what_comes_back(market: Client, reader: Account) -> None:
    all_items = get(market, reader, "/v1/assets/USD/EUR/prices", "limit=500").json()["items"]
    start, end = all_items[3]["date"], all_items[8]["date"]
    page = get(market, reader, "/v1/assets/USD/EUR/prices", f"start={start}&end={end}&fields=close,volume").json()
    assert [i["date"] for i in page["items"]] == [i["date"] for i in all_items[3:9]]
    assert set(page["items"][0]) == {"date", "close", "volume"}
    assert page["items"][0]["volume"] is None  # FX has no volume


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=5001", "fields=close,secret", "start=2024-02-01&end=2024-01-01", "start=notadate",
     "start=1900-01-01&end=2026-01-01", "cursor=%%%", "colour=red"],
)  # fmt: skip
def test_bad_price_queries_are_422(market: Client, reader: Account, query: str) -> None:
    result = get(market, reader, "/v1/assets/AAPL/prices", query)
    assert result.status == 422, result.body
    assert result.headers["content-type"] == "application/problem+json"


def test_history_is_normalised_to_100(market: Client, reader: Account) -> None:
    history = get(market, reader, "/v1/assets/MSFT/history").json()
    closes = get(market, reader, "/v1/assets/MSFT/prices", "fields=close&limit=5000").json()["items"]
    assert history["items"][0]["value"] == 100.0
    expected = float(closes[-1]["close"]) / float(closes[0]["close"]) * 100
    assert history["items"][-1]["value"] == pytest.approx(expected, abs=5e-7)  # served to 6 decimals
    assert len(history["items"]) == len(closes)


def test_history_pages_chain_into_the_unpaged_series(market: Client, reader: Account) -> None:
    whole = get(market, reader, "/v1/assets/MSFT/history").json()
    assert whole["next_cursor"] is None and len(whole["items"]) > 20
    pages: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = get(market, reader, "/v1/assets/MSFT/history", f"limit=7{cursor}").json()
        assert len(page["items"]) <= 7 and page["start"] == whole["start"]
        pages.append(page)
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    chained = [item for page in pages for item in page["items"]]
    # No gap, no duplicate, every page normalised to the range's first close (not its own first).
    assert chained == whole["items"] and len(pages) == -(-len(whole["items"]) // 7)


def test_history_pages_keep_the_range(market: Client, reader: Account) -> None:
    whole = get(market, reader, "/v1/assets/MSFT/history").json()["items"]
    start, end = whole[3]["date"], whole[12]["date"]
    ranged = get(market, reader, "/v1/assets/MSFT/history", f"start={start}&end={end}").json()
    first = get(market, reader, "/v1/assets/MSFT/history", f"start={start}&end={end}&limit=6").json()
    rest = get(market, reader, "/v1/assets/MSFT/history", f"start={start}&end={end}&cursor={first['next_cursor']}")
    assert first["items"] + rest.json()["items"] == ranged["items"] and rest.json()["next_cursor"] is None
    assert ranged["items"][0]["value"] == 100.0 and len(ranged["items"]) == 10


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=10001", f"cursor={encode_cursor('p', '2024-01-02')}", f"cursor={encode_cursor('h', 'x')}",
     "cursor=aDo", "cursor=%%%"],
)  # fmt: skip
def test_bad_history_pages_are_422(market: Client, reader: Account, query: str) -> None:
    # Another read's cursor (prices), a key that is no date, a kind with no key, characters no cursor has.
    result = get(market, reader, "/v1/assets/MSFT/history", query)
    assert result.status == 422, result.body
    assert result.headers["content-type"] == "application/problem+json"


def test_etag_and_if_none_match(market: Client, reader: Account) -> None:
    first = get(market, reader, "/v1/assets/AAPL/prices", "limit=5")
    etag = first.headers["etag"]
    again = get(market, reader, "/v1/assets/AAPL/prices", "limit=5", **{"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag
    other = get(market, reader, "/v1/assets/AAPL/prices", "limit=6", **{"If-None-Match": etag})
    assert other.status == 200 and other.headers["etag"] != etag


def test_large_bodies_are_gzipped(market: Client, reader: Account) -> None:
    result = get(market, reader, "/v1/assets/AAPL/prices", "limit=500", **{"Accept-Encoding": "gzip"})
    assert result.status == 200 and result.headers["content-encoding"] == "gzip"
    assert len(result.json()["items"]) > 20


def test_an_api_key_with_read_scope_can_read(market: Client, reader: Account, auth: Client) -> None:
    key = auth.post("/v1/auth/api-keys", headers=reader.bearer(), body={"name": "r", "scopes": ["read"]}).json()["key"]
    assert market.get("/v1/assets/AAPL", headers={"X-API-Key": key}).status == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "czoA",  # "s:" and a NUL byte: the right kind, a key PostgreSQL would refuse
        encode_cursor("a", "12"),  # another list's cursor
        "a" * 201,  # too long
        "czo%20",  # a character no cursor has
        "czo",  # the right kind with no key
    ],
)
def test_a_forged_cursor_is_a_422_before_any_query(market: Client, reader: Account, cursor: str) -> None:
    result = market.get("/v1/assets", query=f"cursor={cursor}", headers=reader.bearer())
    assert result.status == 422, result.body
    assert result.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("fields", ["close,,open", "close,", " close", "CLOSE"])
def test_fields_outside_the_enumerated_list_are_422(market: Client, reader: Account, fields: str) -> None:
    result = get(market, reader, "/v1/assets/AAPL/prices", f"fields={fields}")
    assert result.status == 422, result.body


def _documented_fields(path: str) -> list[str]:
    document = json.loads((ROOT / "functions" / "docs" / "openapi.json").read_text())
    parameter = next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "fields")
    return list(parameter["schema"]["items"]["enum"])


def test_every_documented_price_field_is_served(market: Client, reader: Account) -> None:
    names = _documented_fields("/v1/assets/{symbol}/prices")
    assert names == ["open", "high", "low", "close", "volume"]
    for name in names:
        page = get(market, reader, "/v1/assets/AAPL/prices", f"fields={name}&limit=2").json()
        assert [set(item) for item in page["items"]] == [{"date", name}] * 2
    every = get(market, reader, "/v1/assets/AAPL/prices", f"fields={','.join(reversed(names))}&limit=1").json()
    assert list(every["items"][0]) == ["date", *reversed(names)]  # the order asked for


@pytest.mark.parametrize("fields", ["", "adjusted_close", "close,dividend", "close,close,close,close,close,close"])
def test_an_undocumented_price_field_or_too_many_is_422(market: Client, reader: Account, fields: str) -> None:
    result = get(market, reader, "/v1/assets/AAPL/prices", f"fields={fields}")
    assert result.status == 422, result.body
    assert result.json()["errors"][0]["loc"] == ["query", "fields"]
