"""Which trading dates are rebalance dates (``daily``, ``weekly`` or ``monthly``).

The rule looks only at a date and its predecessor, so an extension by new days finds exactly the
dates a full compute would. The rule: ``docs/index-method.md`` ("Rebalance schedule").
"""

from __future__ import annotations

import numpy as np

from autoindex.index.engine._arrays import BoolArray, DateArray
from autoindex.index.engine.strategy import RebalanceFrequency

# 1970-01-01 was a Thursday: shifting by 3 days makes integer division by 7 count Monday-based weeks.
_EPOCH_TO_MONDAY = 3


def _period_ids(dates: DateArray, frequency: RebalanceFrequency) -> np.ndarray:
    days = dates.astype("datetime64[D]").astype(np.int64)
    if frequency == "daily":
        return days
    if frequency == "weekly":
        return (days + _EPOCH_TO_MONDAY) // 7
    return dates.astype("datetime64[M]").astype(np.int64)


def scheduled(dates: DateArray, previous: np.datetime64 | None, frequency: RebalanceFrequency) -> BoolArray:
    """Flag the scheduled rebalance dates among ``dates``.

    Parameters
    ----------
    dates
        Strictly increasing trading dates.
    previous
        The trading date just before ``dates[0]`` (``None`` when ``dates`` starts the series: the first
        date of a series is never a rebalance date, as no data exist before it).
    frequency
        ``daily``, ``weekly`` or ``monthly``.

    Returns
    -------
    numpy.ndarray
        Booleans, one per date.
    """
    if dates.size == 0:
        return np.zeros(0, dtype=np.bool_)
    ids = _period_ids(dates, frequency)
    flags = np.empty(dates.size, dtype=np.bool_)
    flags[1:] = ids[1:] != ids[:-1]
    if previous is None:
        flags[0] = False
    else:
        flags[0] = bool(_period_ids(np.asarray([previous]), frequency)[0] != ids[0])
    return flags
