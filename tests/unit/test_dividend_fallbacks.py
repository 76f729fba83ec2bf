"""The run's record of payers asked twice stays small however many fell back."""

from __future__ import annotations

from autoindex.market.fallbacks import MAX_FALLBACK_REASON, MAX_FALLBACKS, merge_fallbacks


def test_reasons_are_cut_to_size_and_later_batches_add_their_symbols() -> None:
    first = merge_fallbacks({}, {"MSFT": "x" * (MAX_FALLBACK_REASON + 50)})
    assert first == {"MSFT": "x" * MAX_FALLBACK_REASON}
    assert merge_fallbacks(first, {"AAPL": "a two-day gap"}) == {**first, "AAPL": "a two-day gap"}


def test_once_full_further_symbols_are_left_off() -> None:
    full = {f"S{i}": "reason" for i in range(MAX_FALLBACKS)}
    merged = merge_fallbacks(full, {"LATE": "reason", "S0": "again"})
    assert len(merged) == MAX_FALLBACKS and "LATE" not in merged
    assert merged["S0"] == "again"  # a symbol already listed is still updated: no growth
