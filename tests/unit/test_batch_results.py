"""Sorting one batch's provider answer: every asked symbol ends as rows or a reason, and nothing outside the range."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from autoindex.market.batch_results import MAX_REASON, PriceRow, sort_results
from autoindex.market.providers.protocol import Bar, RejectedRow, SymbolBars, SymbolError
from hypothesis import given, settings
from hypothesis import strategies as st

START, END = date(2026, 11, 2), date(2026, 11, 13)
SYMBOLS = [f"S{i}" for i in range(8)]


def _bar(day: date, close: str = "10") -> Bar:
    price = Decimal(close)
    return Bar(date=day, open=price, high=price, low=price, close=price, volume=100)


def test_rows_rejections_errors_and_unknown_symbols_are_told_apart() -> None:
    results: dict[str, SymbolBars | SymbolError] = {
        "AAPL": SymbolBars(
            "AAPL",
            (_bar(START - timedelta(days=1)), _bar(START), _bar(END), _bar(END + timedelta(days=1))),
            rejected=(RejectedRow("AAPL", START, "low above high"), RejectedRow("AAPL", END, "close not positive")),
        ),
        "MSFT": SymbolBars("MSFT", ()),  # answered, nothing new (a holiday week)
        "XXX": SymbolError("XXX", "symbol not found", code=404, not_found=True),
        "GONE": SymbolBars("GONE", (_bar(START),)),  # answered, but no longer in the asset table
    }
    got = sort_results(
        ["AAPL", "MSFT", "XXX", "GONE", "LOST"], START, END, {"AAPL": 1, "MSFT": 2, "XXX": 3, "LOST": 5}, results
    )
    assert got.rows == [PriceRow(1, START, *(Decimal(10),) * 4, 100), PriceRow(1, END, *(Decimal(10),) * 4, 100)]
    assert got.checked == [1, 2]  # a symbol with no new bars is still checked through the range's end
    assert got.rejected == 2 and got.source == "twelvedata"
    assert got.errors == {
        "AAPL": "2 rows rejected: close not positive; low above high",
        "XXX": "symbol not found",
        "GONE": "not in the asset table",
        "LOST": "missing from the provider's answer",
    }


def test_nothing_answered_means_no_source_and_no_rows() -> None:
    got = sort_results(["A"], START, END, {"A": 1}, {"A": SymbolError("A", "x" * 2_000)})
    assert (got.rows, got.checked, got.source) == ([], [], None)
    assert len(got.errors["A"]) == MAX_REASON


answers = st.one_of(
    st.none(),
    st.builds(SymbolError, st.just("?"), st.text(min_size=1, max_size=40)),
    st.lists(st.dates(min_value=START - timedelta(days=10), max_value=END + timedelta(days=10)), max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(plan=st.dictionaries(st.sampled_from(SYMBOLS), answers, min_size=1), known=st.sets(st.sampled_from(SYMBOLS)))
def test_each_symbol_is_stored_or_explained_and_only_asked_days_are_written(
    plan: dict[str, object], known: set[str]
) -> None:
    ids = {symbol: i for i, symbol in enumerate(SYMBOLS) if symbol in known}
    results: dict[str, SymbolBars | SymbolError] = {}
    for symbol, answer in plan.items():
        if isinstance(answer, SymbolError):
            results[symbol] = answer
        elif isinstance(answer, list):
            results[symbol] = SymbolBars(symbol, tuple(_bar(d) for d in sorted(set(answer))))
    got = sort_results(list(plan), START, END, ids, results)
    assert all(START <= row.date <= END for row in got.rows)
    written = {row.asset_id for row in got.rows}
    for symbol in plan:
        answered = isinstance(results.get(symbol), SymbolBars) and symbol in ids
        assert (ids.get(symbol) in got.checked) is answered
        assert answered or symbol in got.errors  # never silently dropped
        if symbol in ids and ids[symbol] in written:
            assert answered
    expected = sum(
        1
        for symbol, answer in results.items()
        if symbol in ids and isinstance(answer, SymbolBars)
        for bar in answer.bars
        if START <= bar.date <= END
    )
    assert len(got.rows) == expected
