"""The demo market's SEC filings: companyfacts documents with quarterly share counts and a ticker → CIK map,
so ``make run`` goes through the same share-count path (CIK resolution included) as EDGAR does.

Deterministic: each demo stock has a share count that shrinks 1 % a year (buybacks), reported on a
quarterly cover page (``end`` 20 days after the quarter, ``filed`` 5 days later; the fourth quarter's
on a 10-K). Like EDGAR, counts are never split-adjusted: NVDA's before its 2024-06-10 split are a
tenth of today's basis.

The ticker map (:func:`company_tickers`) has SEC's shape and real CIKs: the seeded stocks, two
stocks an operator might add (NFLX with filings; BRK-B, a multi-class issuer whose companyfacts holds no
entity total, so it falls back like on EDGAR), and the two trusts SEC lists (SPY, GLD). TLT, IEF, SLV
and USO are absent, as a third party reports TLT is from SEC's.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from autoindex.market.providers.demo_actions import SPLITS
from autoindex.market.shares import COVER

# Shares outstanding in 2024 on today's basis (about the real magnitudes).
_SHARES: dict[str, float] = {
    "AAPL": 15.3e9,
    "MSFT": 7.43e9,
    "GOOGL": 12.3e9,
    "AMZN": 10.4e9,
    "META": 2.53e9,
    "TSLA": 3.19e9,
    "NVDA": 24.5e9,
    "NFLX": 0.43e9,
}
# (ticker as SEC writes it, CIK, SEC's title), in the map's order.
TICKERS: tuple[tuple[str, int, str], ...] = (
    ("MSFT", 789019, "MICROSOFT CORP"),
    ("AAPL", 320193, "Apple Inc."),
    ("NVDA", 1045810, "NVIDIA CORP"),
    ("GOOGL", 1652044, "Alphabet Inc."),
    ("AMZN", 1018724, "AMAZON COM INC"),
    ("META", 1326801, "Meta Platforms, Inc."),
    ("BRK-B", 1067983, "BERKSHIRE HATHAWAY INC"),
    ("GOOG", 1652044, "Alphabet Inc."),
    ("TSLA", 1318605, "Tesla, Inc."),
    ("SPY", 884394, "SPDR S&P 500 ETF TRUST"),
    ("NFLX", 1065280, "NETFLIX INC"),
    ("GLD", 1222333, "SPDR GOLD TRUST"),
)
_NO_ENTITY_TOTAL = {"BRK-B"}
_FIRST_YEAR = 2000


def company_tickers() -> dict[str, dict[str, Any]]:
    """``company_tickers.json`` as SEC serves it: one object keyed by position, ``cik_str`` an integer."""
    return {str(i): {"cik_str": cik, "ticker": t, "title": title} for i, (t, cik, title) in enumerate(TICKERS)}


def companyfacts_for_cik(cik: int, today: date) -> dict[str, Any] | None:
    """The document EDGAR would serve at ``CIK##########.json`` for ``cik`` on ``today``; None (a 404) for others."""
    for ticker, known, _ in TICKERS:
        if known == cik:
            return companyfacts(ticker, cik, today)
    return None


def companyfacts(symbol: str, cik: int, today: date) -> dict[str, Any] | None:
    """A companyfacts document for ``symbol`` as EDGAR would serve it on ``today``; None (a 404) for others."""
    if symbol in _NO_ENTITY_TOTAL:  # per-class cover facts only: nothing entity-wide, as SEC's API holds it
        return {"cik": cik, "entityName": symbol, "facts": {"dei": {}, "us-gaap": {}}}
    base = _SHARES.get(symbol)
    if base is None:
        return None
    split = SPLITS.get(symbol)
    facts = []
    for year in range(_FIRST_YEAR, today.year + 1):
        for quarter, month in enumerate((3, 6, 9, 12), start=1):
            end = date(year, month, 1) + timedelta(days=50)
            filed = end + timedelta(days=5)
            if filed > today:
                continue
            shares = base * 0.99 ** ((end - date(2024, 1, 1)).days / 365.25)
            if split is not None and end < split[0]:
                shares /= split[1]
            facts.append(
                {
                    "end": end.isoformat(),
                    "val": round(shares),
                    "accn": f"0000{cik:06d}-{year % 100:02d}-{quarter:06d}",
                    "fy": year,
                    "fp": "FY" if quarter == 4 else f"Q{quarter}",
                    "form": "10-K" if quarter == 4 else "10-Q",
                    "filed": filed.isoformat(),
                }
            )
    taxonomy, tag = COVER.split(":")
    return {
        "cik": cik,
        "entityName": symbol,
        "facts": {taxonomy: {tag: {"label": "Entity Common Stock, Shares Outstanding", "units": {"shares": facts}}}},
    }
