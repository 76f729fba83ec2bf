"""SEC's ticker → CIK map (``company_tickers.json``), read strictly. Pure.

The document is one object keyed ``"0"``, ``"1"``, … whose values are ``{"cik_str": <int>, "ticker":
<str>, "title": <str>}`` (``../shared/reference/sec-edgar.md`` section 1). SEC writes a share class
with a dash (``BRK-B``); Twelve Data and operators may write ``BRK.B`` or ``BRK/B``. Both sides are put
in one form (:func:`normalise_ticker`) before they are compared, and nothing else is guessed: a
ticker the map does not hold (funds such as TLT, foreign listings, delisted names) has no CIK.

A CIK names the issuer, not the class: ``GOOGL`` and ``GOOG`` share Alphabet's, and EDGAR's share
counts are entity-wide. A ticker that two different CIKs claim is ambiguous and left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Class separators seen across data vendors: "BRK.B" (Twelve Data, Yahoo), "BRK/B", "BRK B"; SEC writes "BRK-B".
_SEPARATORS = re.compile(r"[./\s]+")
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
_MAX_CIK = 2_147_483_647  # the assets.cik column is a 32-bit integer; SEC's CIKs are far below


def normalise_ticker(symbol: str) -> str:
    """``symbol`` in SEC's form: upper case, a share class after a dash (``brk.b`` → ``BRK-B``)."""
    return _SEPARATORS.sub("-", symbol.strip().upper()).strip("-")


def parse_company_tickers(body: object) -> dict[str, int]:
    """The map as ``{normalised ticker: CIK}``, or an error for the whole document (nothing half-read).

    Raises
    ------
    ValueError
        Not an object of ``{"cik_str", "ticker"}`` entries keyed by their position, an entry whose CIK is
        not a positive integer or whose ticker is not a string, or no usable entry at all. (An entry whose
        ticker no stored symbol could match is skipped.)
    """
    if not isinstance(body, Mapping) or not body:
        raise ValueError("the ticker map is not a non-empty object")
    out: dict[str, int] = {}
    ambiguous: set[str] = set()
    for key, row in body.items():
        if not isinstance(key, str) or not key.isdigit():
            raise ValueError(f"the ticker map has a key that is not a position: {str(key)[:20]!r}")
        if not isinstance(row, Mapping):
            raise ValueError(f"ticker map entry {key} is not an object")
        cik, ticker = row.get("cik_str"), row.get("ticker")
        if not isinstance(cik, int) or isinstance(cik, bool) or not 0 < cik <= _MAX_CIK:
            raise ValueError(f"ticker map entry {key} has no positive integer cik_str")
        if not isinstance(ticker, str):
            raise ValueError(f"ticker map entry {key} has no ticker")
        name = normalise_ticker(ticker)
        if not _TICKER.match(name):  # no stored symbol could match it; SEC's format may grow, so not fatal
            continue
        if out.get(name, cik) != cik:
            ambiguous.add(name)
        out[name] = cik
    for name in ambiguous:
        del out[name]
    if not out:
        raise ValueError("the ticker map holds no usable ticker")
    return out
