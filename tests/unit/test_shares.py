"""Shares known on a date from EDGAR facts: filed-date point in time, amendments, classes, splits, staleness."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from autoindex.market.shares import BALANCE_SHEET, COVER, ShareFact, known_on, parse_companyfacts, shares_by_day
from hypothesis import given
from hypothesis import strategies as st

# The reference's Tesla fixture (sec-edgar.md section 7), real values.
TESLA = json.loads("""{"cik":1318605,"entityName":"Tesla, Inc.","facts":{"dei":{
 "EntityCommonStockSharesOutstanding":{"label":"Entity Common Stock, Shares Outstanding","units":{"shares":[
  {"end":"2021-10-21","val":1004264852,"accn":"0000950170-21-002253","fy":2021,"fp":"Q3","form":"10-Q","filed":"2021-10-25"},
  {"end":"2022-01-31","val":1033507611,"accn":"0000950170-22-000796","fy":2021,"fp":"FY","form":"10-K","filed":"2022-02-07"},
  {"end":"2022-01-31","val":1033507611,"accn":"0001564590-22-016871","fy":2021,"fp":"FY","form":"10-K/A","filed":"2022-05-02"},
  {"end":"2022-04-19","val":1036009925,"accn":"0000950170-22-006034","fy":2022,"fp":"Q1","form":"10-Q","filed":"2022-04-25"},
  {"end":"2022-10-18","val":3157752449,"accn":"0000950170-22-019867","fy":2022,"fp":"Q3","form":"10-Q","filed":"2022-10-24"}]}}},
 "us-gaap":{}}}""")


def test_the_reference_answers_for_tesla() -> None:
    facts = parse_companyfacts(TESLA)
    answers = {d: k.shares if (k := known_on(facts, d)) else None for d in map(date.fromisoformat, (
        "2021-10-24", "2022-02-06", "2022-05-10", "2022-10-24"))}  # fmt: skip
    assert answers == {
        date(2021, 10, 24): None,  # the first count was filed the next day
        date(2022, 2, 6): 1_004_264_852,
        date(2022, 5, 10): 1_036_009_925,  # the 10-K/A of 2022-05-02 repeats an older end: it does not win
        date(2022, 10, 24): 3_157_752_449,
    }


def test_an_amendment_wins_a_tie_and_classes_of_one_filing_are_summed() -> None:
    end = date(2024, 3, 31)
    facts = [
        ShareFact(COVER, end, date(2024, 4, 25), 5_824_000_000, "A-1", "10-Q"),  # class A
        ShareFact(COVER, end, date(2024, 4, 25), 5_456_000_000, "A-1", "10-Q"),  # class C
        ShareFact(COVER, end, date(2024, 5, 20), 11_300_000_000, "A-2", "10-Q/A"),
    ]
    assert known_on(facts, date(2024, 5, 1)).shares == 11_280_000_000  # type: ignore[union-attr]
    amended = known_on(facts, date(2024, 6, 1))
    assert amended is not None and (amended.shares, amended.accn) == (11_300_000_000, "A-2")


def test_counts_go_onto_todays_split_basis_and_stale_ones_are_not_used() -> None:
    facts = [ShareFact(COVER, date(2024, 4, 19), date(2024, 4, 25), 2_460_000_000, "N-1", "10-Q")]
    before, after = shares_by_day(facts, [date(2024, 5, 1), date(2025, 1, 2)], splits=[(date(2024, 6, 10), 10.0)])
    assert before is not None and before.shares == 24_600_000_000  # the prices are split-adjusted too
    assert after is not None and after.shares == 24_600_000_000
    assert known_on(facts, date(2024, 4, 25) + timedelta(days=600)) is None  # 15 months on: stale


@given(
    rows=st.lists(st.tuples(st.integers(0, 900), st.integers(0, 60), st.integers(1, 10**10)), min_size=1, max_size=12),
    day=st.integers(0, 1000),
    late=st.tuples(st.integers(0, 1000), st.integers(1, 10**10)),
)
def test_a_filing_made_public_later_changes_nothing_before_it(
    rows: list[tuple[int, int, int]], day: int, late: tuple[int, int]
) -> None:
    origin = date(2020, 1, 1)
    facts = [
        ShareFact(COVER, origin + timedelta(days=e), origin + timedelta(days=e + lag), v, f"a{i}", "10-Q")
        for i, (e, lag, v) in enumerate(rows)
    ]
    on = origin + timedelta(days=day)
    extra = ShareFact(COVER, origin + timedelta(days=late[0]), on + timedelta(days=1), late[1], "later", "10-K/A")
    assert known_on([*facts, extra], on) == known_on(facts, on)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"cik": 1},
        {"facts": {"dei": {"EntityCommonStockSharesOutstanding": {"units": {"shares": [{"end": "2024-01-01"}]}}}}},
        {
            "facts": {
                "dei": {
                    "EntityCommonStockSharesOutstanding": {
                        "units": {"shares": [{"end": "2024-01-01", "filed": "2024-01-05", "accn": "x", "val": -3}]}
                    }
                }
            }
        },
    ],
)
def test_garbage_is_refused_whole(body: object) -> None:
    with pytest.raises(ValueError):
        parse_companyfacts(body)


@given(
    rows=st.lists(
        st.tuples(st.integers(0, 900), st.integers(0, 60), st.integers(1, 10**10), st.booleans()),
        min_size=1,
        max_size=12,
    ),
)
def test_the_one_pass_series_equals_the_rule_day_by_day(rows: list[tuple[int, int, int, bool]]) -> None:
    origin = date(2020, 1, 1)
    facts = [
        ShareFact(
            COVER if cover else BALANCE_SHEET,
            origin + timedelta(days=e),
            origin + timedelta(days=e + lag),
            v,
            f"a{i % 5}",
            "10-Q",
        )
        for i, (e, lag, v, cover) in enumerate(rows)
    ]
    days = [origin + timedelta(days=d) for d in range(0, 1500, 7)]
    assert shares_by_day(facts, days) == [known_on(facts, d) for d in days]
