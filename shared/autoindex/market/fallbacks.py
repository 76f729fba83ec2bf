"""Why payers' dividends took a second call: kept on the refresh run, bounded, for the operator.

A payer's refresh is usually read off one ``adjust=all`` call; when the answer alone cannot be decoded
exactly (``providers/dividend_decode.py``) it costs the ``adjust=splits`` call too. The run keeps each such
symbol with the decoder's reason, so a run that cost more than planned says why. Bounded in both
directions: a reason is cut at ``MAX_FALLBACK_REASON`` characters, and once ``MAX_FALLBACKS`` symbols are
listed further ones are left off (a day where every payer fell back needs no thousand lines to say so).
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_FALLBACK_REASON = 200
MAX_FALLBACKS = 100


def merge_fallbacks(recorded: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """``recorded`` with the ``new`` symbols' reasons added (cut to size), up to ``MAX_FALLBACKS`` symbols."""
    out = dict(recorded)
    for symbol, reason in new.items():
        if symbol not in out and len(out) >= MAX_FALLBACKS:
            continue
        out[symbol] = reason[:MAX_FALLBACK_REASON]
    return out
