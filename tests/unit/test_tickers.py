"""SEC's ticker → CIK map: tickers in one form, the document read whole or not at all, and its time cache."""

from __future__ import annotations

from typing import Any

import pytest
from autoindex.market.edgar_client import SEC_TICKERS, default_tickers_url
from autoindex.market.edgar_demo import company_tickers
from autoindex.market.ticker_cache import MemoryTickerCache
from autoindex.market.tickers import normalise_ticker, parse_company_tickers

# The reference's real excerpt (sec-edgar.md section 1): keys by position, cik_str an integer, a dash for the class.
EXCERPT = {
    "0": {"cik_str": 789019, "ticker": "MSFT", "title": "MICROSOFT CORP"},
    "1": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."},
    "3": {"cik_str": 1652044, "ticker": "GOOGL", "title": "Alphabet Inc."},
    "6": {"cik_str": 1067983, "ticker": "BRK-B", "title": "BERKSHIRE HATHAWAY INC"},
    "16": {"cik_str": 884394, "ticker": "SPY", "title": "SPDR S&P 500 ETF TRUST"},
}


@pytest.mark.parametrize(
    ("written", "sec"),
    [
        ("AAPL", "AAPL"),
        ("aapl ", "AAPL"),
        ("BRK.B", "BRK-B"),  # Twelve Data's and Yahoo's way
        ("BRK/B", "BRK-B"),
        ("brk b", "BRK-B"),
        ("BRK-B", "BRK-B"),  # SEC's own form is left alone
        ("BF.B", "BF-B"),
    ],
)
def test_a_share_class_is_written_the_way_sec_writes_it(written: str, sec: str) -> None:
    assert normalise_ticker(written) == sec


def test_the_real_shape_is_read_into_tickers_and_integer_ciks() -> None:
    mapping = parse_company_tickers(EXCERPT)
    assert mapping == {"MSFT": 789019, "AAPL": 320193, "GOOGL": 1652044, "BRK-B": 1067983, "SPY": 884394}
    assert mapping.get(normalise_ticker("BRK.B")) == 1067983
    assert "TLT" not in mapping  # a fund SEC does not list has no CIK; the funds rule covers it


def test_the_demo_map_has_secs_shape_and_two_classes_of_one_issuer() -> None:
    body = company_tickers()
    assert list(body) == [str(i) for i in range(len(body))]
    assert all(isinstance(row["cik_str"], int) for row in body.values())
    mapping = parse_company_tickers(body)
    assert mapping["GOOGL"] == mapping["GOOG"] == 1652044  # one issuer, two tickers: not ambiguous
    assert {"TLT", "IEF", "SLV", "USO"}.isdisjoint(mapping)


def test_a_ticker_two_issuers_claim_is_left_out_not_guessed() -> None:
    body = {**EXCERPT, "17": {"cik_str": 111, "ticker": "AAPL", "title": "Someone else"}}
    mapping = parse_company_tickers(body)
    assert "AAPL" not in mapping and mapping["MSFT"] == 789019


def test_a_ticker_no_symbol_could_match_is_skipped() -> None:
    body = {**EXCERPT, "17": {"cik_str": 111, "ticker": "A^B", "title": "odd"}}
    assert parse_company_tickers(body) == parse_company_tickers(EXCERPT)


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        [],
        {},
        [EXCERPT["0"]],  # a list, not an object keyed by position
        {"cik": "not a company", "facts": []},  # the fake's garbage answer
        {"0": "MSFT"},
        {"MSFT": {"cik_str": 789019, "ticker": "MSFT"}},  # keyed by ticker
        {**EXCERPT, "17": {"cik_str": "320193", "ticker": "X"}},  # a CIK as a string: the shape changed
        {**EXCERPT, "17": {"cik_str": True, "ticker": "X"}},
        {**EXCERPT, "17": {"cik_str": -5, "ticker": "X"}},
        {**EXCERPT, "17": {"cik_str": 10**12, "ticker": "X"}},
        {**EXCERPT, "17": {"cik_str": 5}},
        {**EXCERPT, "17": {"cik_str": 5, "ticker": 7}},
        {"0": {"cik_str": 5, "ticker": "^^"}},  # nothing usable
    ],
)
def test_a_garbage_map_is_refused_whole(garbage: Any) -> None:
    with pytest.raises(ValueError):
        parse_company_tickers(garbage)


def test_the_map_is_fetched_from_www_sec_gov_beside_sec_and_from_the_fake_elsewhere() -> None:
    assert (
        default_tickers_url("https://data.sec.gov/") == SEC_TICKERS == "https://www.sec.gov/files/company_tickers.json"
    )
    assert default_tickers_url("http://127.0.0.1:18301") == "http://127.0.0.1:18301/files/company_tickers.json"


def test_the_memory_cache_holds_a_whole_map_for_its_time() -> None:
    now = [1000.0]
    cache = MemoryTickerCache(ttl_s=72 * 3600, clock=lambda: now[0])
    assert cache.lookup(["AAPL"]) is None  # nothing cached: the caller fetches
    cache.store(parse_company_tickers(EXCERPT))
    assert cache.lookup(["AAPL", "BRK-B", "TLT"]) == {"AAPL": 320193, "BRK-B": 1067983, "TLT": None}
    now[0] += 72 * 3600 - 1
    assert cache.lookup(["AAPL"]) == {"AAPL": 320193}
    now[0] += 1
    assert cache.lookup(["AAPL"]) is None  # expired: fetched again, at most once a period
