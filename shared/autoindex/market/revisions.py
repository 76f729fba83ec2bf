"""Notice a split, a re-basing or a provider revision: a re-fetched close that differs from the stored one.

Pure: the ingest job reads the stored closes of a batch's overlap, hands them here with what the
provider sent, and re-fetches the whole history of a symbol this module says was revised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from autoindex.market.batch_results import PriceRow
from autoindex.market.providers.protocol import Bar, Split

#: How close a revision's factor must be to a split's ratio for the split to explain it (the factor is read
#: off two 5-decimal closes; a provider revision of a close is far smaller than any split).
EXPLAINS = 1e-3


@dataclass(frozen=True, slots=True)
class Revision:
    """A symbol whose stored history no longer matches the provider's, as recorded on the refresh run."""

    symbol: str
    first_changed: date  # the oldest date whose close changed
    factor: float  # stored close / new close on that date: 10.0 after a 10-for-1 split
    split: Split | None = None  # the newly found split that explains it, if one does

    def as_record(self) -> dict[str, object]:
        split = None if self.split is None else {"date": self.split.date.isoformat(), "ratio": self.split.ratio}
        return {
            "symbol": self.symbol,
            "first_changed": self.first_changed.isoformat(),
            "factor": self.factor,
            "split": split,
        }


def explained_by(factor: float, new_splits: Sequence[Split]) -> Split | None:
    """The newest of ``new_splits`` (not stored before the re-fetch) whose ratio is the revision's factor."""
    for split in sorted(new_splits, key=lambda s: s.date, reverse=True):
        if abs(split.ratio / factor - 1.0) <= EXPLAINS:
            return split
    return None


def differs(stored: Decimal, new: Decimal, tolerance: float) -> bool:
    """Whether two closes differ by more than ``tolerance``, relative to the new one."""
    return abs(float(stored) / float(new) - 1.0) > tolerance


def detect_revision(
    symbol: str, stored: Mapping[date, Decimal], bars: Sequence[Bar], *, tolerance: float
) -> Revision | None:
    """The oldest overlapping bar whose close moved beyond ``tolerance``; ``None`` when history still holds."""
    for bar in sorted(bars, key=lambda b: b.date):
        old = stored.get(bar.date)
        if old is not None and differs(old, bar.close, tolerance):
            return Revision(symbol=symbol, first_changed=bar.date, factor=float(old) / float(bar.close))
    return None


def first_change(stored: Mapping[date, Decimal], rows: Sequence[PriceRow], *, tolerance: float) -> date | None:
    """The oldest date where a full re-fetch differs from what was stored (a date that vanished counts too)."""
    fresh = {row.date: row.close for row in rows}
    changed = [d for d, close in stored.items() if d not in fresh or differs(close, fresh[d], tolerance)]
    return min(changed, default=None)


def without_unchanged(
    rows: Sequence[PriceRow], stored: Mapping[int, Mapping[date, Decimal]], *, tolerance: float
) -> list[PriceRow]:
    """The rows worth writing: new days, and stored days whose close moved beyond ``tolerance``.

    Re-writing an identical overlap bar would stamp it as newly ingested, and the compute job would
    take that for a revision and recompute everything.
    """
    out = []
    for row in rows:
        old = stored.get(row.asset_id, {}).get(row.date)
        if old is None or differs(old, row.close, tolerance):
            out.append(row)
    return out
