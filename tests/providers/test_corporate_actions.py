"""Splits as the provider shows them: the client always asks for split-adjusted bars, and the fake knows both bases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from autoindex.market.providers.protocol import SymbolBars
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from autoindex_dev.fake_twelvedata.state import parse_split

from tests.providers.conftest import API_KEY, MakeProvider, ManualClock

# The manual clock stands at Wednesday 2024-03-13; a 4-for-1 split took effect on Monday 2024-03-11.
SPLIT = "AAPL:2024-03-11:4"


def _closes(fake: FakeTwelveData, adjust: str | None) -> dict[str, Decimal]:
    params = {"symbol": "AAPL", "interval": "1day", "start_date": "2024-03-04", "end_date": "2024-03-13"}
    if adjust is not None:
        params["adjust"] = adjust
    body = httpx.get(fake.url + "/time_series", params=params, headers={"Authorization": f"apikey {API_KEY}"}).json()
    return {row["datetime"]: Decimal(row["close"]) for row in body["values"]}


def test_the_client_asks_for_split_adjusted_bars_explicitly(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 4), date(2024, 3, 8))
    [request] = fake.requests
    assert request.query["adjust"] == ["splits"]


def test_history_before_a_split_is_adjusted_once_it_has_happened(fake: FakeTwelveData, clock: ManualClock) -> None:
    plain = _closes(fake, "splits")
    fake.set_faults(splits=[SPLIT])
    adjusted, default, raw = _closes(fake, "splits"), _closes(fake, None), _closes(fake, "none")
    assert adjusted == plain == default  # the default is split-adjusted, as the reference says
    assert raw["2024-03-08"] == plain["2024-03-08"] * 4 and raw["2024-03-11"] == plain["2024-03-11"]
    # A week earlier the split had not happened: the adjusted history still showed the old, higher prices
    # (2024-03-06 was that day's unfinished bar; the day before was final)
    clock.now -= timedelta(days=7)
    before = _closes(fake, "splits")
    assert before["2024-03-05"] == plain["2024-03-05"] * 4 and "2024-03-11" not in before


def test_an_unknown_adjust_mode_is_a_400(fake: FakeTwelveData) -> None:
    response = httpx.get(
        fake.url + "/time_series",
        params={"symbol": "AAPL", "interval": "1day", "adjust": "sideways"},
        headers={"Authorization": f"apikey {API_KEY}"},
    )
    assert response.json()["code"] == 400 and "adjust" in response.json()["message"]


def test_split_flags_are_read_strictly() -> None:
    assert parse_split("nvda:2024-06-10:10") == ("NVDA", "2024-06-10", 10.0)
    for bad in ("NVDA:2024-13-01:10", "NVDA:2024-06-10:0", "NVDA:10"):
        with pytest.raises(ValueError):
            parse_split(bad)


def test_split_adjusted_bars_are_what_the_client_returns(fake: FakeTwelveData, make_provider: MakeProvider) -> None:
    fake.set_faults(splits=[SPLIT])
    result = make_provider(fake).daily_bars(["AAPL"], date(2024, 3, 6), date(2024, 3, 12))["AAPL"]
    assert isinstance(result, SymbolBars), result
    closes = {bar.date.isoformat(): bar.close for bar in result.bars}
    assert closes == {k: v for k, v in _closes(fake, "splits").items() if "2024-03-06" <= k <= "2024-03-12"}
