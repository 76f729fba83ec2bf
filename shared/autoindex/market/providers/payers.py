"""Which instruments can pay cash distributions: only those are asked for dividends.

A currency pair, an index (a number computed from prices, which nobody holds) and a crypto coin pay no
dividends or coupons, so reading dividends off them would spend a credit per symbol for nothing. Stocks,
ETFs and anything unrecognised count as payers: asking costs a credit, missing a distribution costs the
total return. The kind comes in two vocabularies, both understood here: ``assets.asset_type`` (the
catalog's ``Kind``: stock, etf, index, fx, crypto) and Twelve Data's ``instrument_type`` / ``meta.type``
(Common Stock, ETF, Index, Physical Currency, Digital Currency).
"""

from __future__ import annotations

#: Kinds that cannot pay a cash distribution, lower-cased, in both vocabularies.
NON_PAYING = frozenset({"index", "fx", "crypto", "physical currency", "digital currency"})


def pays_cash(kind: str | None) -> bool:
    """Whether an instrument of this kind may pay dividends or coupons (an unknown kind may)."""
    return kind is None or kind.strip().lower() not in NON_PAYING
