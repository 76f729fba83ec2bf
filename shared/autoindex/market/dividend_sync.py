"""Which stored dividends a provider's answer changes: new or moved amounts to write, vanished ones to delete.

Pure. Like the price overlap, an unchanged dividend is not written again: re-stamping it would look like
a revision to the compute job and cost a full recompute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from autoindex.market.providers.protocol import Dividend

#: Amounts closer than this (cash per share) are the same dividend read twice.
SAME_AMOUNT = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class DividendChanges:
    write: list[Dividend]
    delete: list[date]


def dividend_changes(
    stored: Mapping[date, Decimal], reported: Sequence[Dividend], *, since: date, through: date
) -> DividendChanges:
    """Changes within ``[since, through]``, the range the provider's answer covers completely."""
    inside = {d.ex_date: d for d in reported if since <= d.ex_date <= through}
    write = [d for day, d in sorted(inside.items()) if day not in stored or abs(stored[day] - d.amount) > SAME_AMOUNT]
    delete = sorted(day for day in stored if since <= day <= through and day not in inside)
    return DividendChanges(write=write, delete=delete)
