"""Splits read off two bases of the same closes: ``adjust=none`` (as traded) against ``adjust=splits``. Pure.

A provider that back-adjusts for splits divides every close before a split effective on ``e`` by its
ratio ``k`` (new shares per old). Dividends are in neither basis, so the ratio ``none / splits`` is
constant between splits and steps down by exactly ``k`` at ``e``: ``k = ratio(e-1) / ratio(e)``. As with
dividends, the step between two consecutive days does not depend on the window asked for.

What counts as a split (the tolerance):

- the step is at least :data:`MIN_STEP` either way (10 %): between splits the two bases differ only by the
  closes' rounding (about 1e-5 on a 1.00 close at 5 decimals), so a smaller step is rounding or a glitch;
- the step, or its inverse for a reverse split, is within a relative :func:`tolerance` of a fraction
  whose denominator is at most :data:`MAX_DENOMINATOR` (10:1, 3:1, 3:2, 5:4, 1:8 as 8 old for 1 new).
  The tolerance is :data:`TOLERANCE` plus the worst rounding of the four closes involved (half the
  fifth decimal over each close), so a penny stock's split is still recognised.

A step that is large but not clean (a provider glitch, a re-basing for a spin-off) is not taken for a
split: the caller sees the closes as the provider adjusted them, and no share count is scaled by a
guess. A split effective after the window's last bar is not seen here; the next window holds it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from autoindex.market.providers.protocol import Bar, Split

#: Smallest step (either way) of the ratio of the two bases read as a split.
MIN_STEP = 1.1
#: Largest denominator of a clean ratio (as the larger side over the smaller: 3/2, 5/4, 10/1, 8/1).
MAX_DENOMINATOR = 5
#: Relative distance from a clean ratio still read as that ratio, before the closes' rounding is added.
TOLERANCE = 1e-3
#: Half the fifth decimal: the rounding of one close the provider serves.
HALF_ULP = 0.5e-5
#: More new shares per old (or old per new) than this is not a split but bad data.
MAX_SHARES = 1000
#: Asset types whose shares split (``assets.asset_type``); FX pairs and indices have no shares.
SPLITTING_TYPES = frozenset({"stock", "etf"})


def tolerance(*closes: float) -> float:
    """How far from a clean ratio a step may be, given the closes it was computed from."""
    return TOLERANCE + sum(HALF_ULP / c for c in closes)


def clean_ratio(step: float, tol: float) -> tuple[int, int] | None:
    """``(shares_after, shares_before)`` whose quotient is within ``tol`` of ``step``; None when there is none."""
    if not math.isfinite(step) or step <= 0:
        return None
    larger = max(step, 1.0 / step)
    if larger < MIN_STEP:
        return None
    # The smallest denominator that fits: 10.004 is 10:1, not 50:5 or a 5-denominator neighbour.
    for denominator in range(1, MAX_DENOMINATOR + 1):
        numerator = round(larger * denominator)
        if numerator > MAX_SHARES * denominator:
            return None
        if abs(numerator / denominator / larger - 1.0) <= tol:
            # Reduced already: had 6/4 fitted, 3/2 would have fitted first.
            return (numerator, denominator) if step >= 1.0 else (denominator, numerator)
    return None


def derive_splits(split_adjusted: Sequence[Bar], unadjusted: Sequence[Bar]) -> tuple[Split, ...]:
    """The splits effective after the first common date of the two series, oldest first."""
    raw = {bar.date: bar.close for bar in unadjusted}
    common = [bar for bar in sorted(split_adjusted, key=lambda b: b.date) if bar.date in raw]
    out = []
    for before, on in itertools.pairwise(common):
        closes = (float(raw[before.date]), float(before.close), float(raw[on.date]), float(on.close))
        step = (closes[0] / closes[1]) / (closes[2] / closes[3])
        found = clean_ratio(step, tolerance(*closes))
        if found is not None:
            out.append(Split(date=on.date, shares_after=found[0], shares_before=found[1]))
    return tuple(out)
