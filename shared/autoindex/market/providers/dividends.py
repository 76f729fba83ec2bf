"""Dividends read off two bases of the same closes: ``adjust=all`` (splits and dividends) against ``adjust=splits``.

A provider that back-adjusts for dividends multiplies every close before an ex-date ``e`` by
``1 - d / close(e-1)``. The ratio ``all / splits`` therefore steps up at each ex-date, and the step
gives the cash: ``d = close(e-1) * (1 - ratio(e-1) / ratio(e))``. The ratio between two consecutive days
does not depend on the window asked for, so any window with one day before an ex-date finds it. Pure.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from autoindex.market.providers.protocol import Bar, Dividend

#: Smallest relative step read as a distribution. The closes come with 5 decimals; on a close of 1.00 the
#: rounding moves the ratio by about 1e-5, so a step below this is rounding, not cash.
MIN_STEP = 5e-5
#: Decimals kept of a derived amount (the closes' rounding leaves the fifth uncertain).
AMOUNT_PLACES = Decimal("0.0001")


def derive_dividends(split_adjusted: Sequence[Bar], fully_adjusted: Sequence[Bar]) -> tuple[Dividend, ...]:
    """The distributions whose ex-date lies after the first common date of the two series, oldest first."""
    adjusted = {bar.date: bar.close for bar in fully_adjusted}
    common = [bar for bar in sorted(split_adjusted, key=lambda b: b.date) if bar.date in adjusted]
    out = []
    for before, on in itertools.pairwise(common):
        ratio_before = float(adjusted[before.date]) / float(before.close)
        ratio_on = float(adjusted[on.date]) / float(on.close)
        step = 1.0 - ratio_before / ratio_on
        if step > MIN_STEP:
            amount = Decimal(repr(float(before.close) * step)).quantize(AMOUNT_PLACES)
            if amount > 0:
                out.append(Dividend(ex_date=on.date, amount=amount))
    return tuple(out)
