"""Which stored splits a whole-history read changes. Pure.

Like dividends, an unchanged split is not written again: re-stamping it would look like a change to the
compute job (share counts before it are scaled by it) and cost a full recompute for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from autoindex.market.providers.protocol import Split


@dataclass(frozen=True, slots=True)
class SplitChanges:
    write: list[Split]
    delete: list[date]


def split_changes(
    stored: Mapping[date, tuple[int, int]], reported: Sequence[Split], *, since: date, through: date
) -> SplitChanges:
    """Changes within ``[since, through]`` (the window read): new or different splits, and vanished ones.

    ``stored`` maps effective dates to ``(shares_after, shares_before)``.
    """
    inside = {s.date: s for s in reported if since <= s.date <= through}
    write = [s for day, s in sorted(inside.items()) if stored.get(day) != (s.shares_after, s.shares_before)]
    delete = sorted(day for day in stored if since <= day <= through and day not in inside)
    return SplitChanges(write=write, delete=delete)
