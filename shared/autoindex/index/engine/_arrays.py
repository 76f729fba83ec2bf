"""Array type aliases and the input checks every engine entry point shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
IntArray: TypeAlias = npt.NDArray[np.int64]
DateArray: TypeAlias = npt.NDArray[np.datetime64]

DAY = np.dtype("datetime64[D]")

_Item = TypeVar("_Item", bound=np.generic)


def as_dates(values: Sequence[dt.date] | DateArray) -> DateArray:
    """Return ``values`` as a ``datetime64[D]`` array (accepts ``datetime.date`` objects or any datetime64)."""
    return np.asarray(values).astype(DAY)


def to_date(value: np.datetime64) -> dt.date:
    """One ``datetime64`` as a ``datetime.date``."""
    return dt.date.fromisoformat(str(np.asarray(value).astype(DAY)))


def check_dates(dates: DateArray, name: str = "dates") -> DateArray:
    """Return ``dates`` as day precision, after checking they are one-dimensional and strictly increasing."""
    days = as_dates(dates)
    if days.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if days.size > 1 and not bool(np.all(days[1:] > days[:-1])):
        raise ValueError(f"{name} must be strictly increasing")
    return days


def check_matrix(values: npt.ArrayLike, rows: int, columns: int, name: str) -> FloatArray:
    """Return ``values`` as a float64 (rows x columns) matrix, or raise naming the expected shape."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.shape != (rows, columns):
        raise ValueError(f"{name} must have shape {(rows, columns)} (dates x assets), got {matrix.shape}")
    return matrix


def accumulate_rows(ufunc: np.ufunc, matrix: npt.NDArray[_Item]) -> npt.NDArray[_Item]:
    """``ufunc.accumulate(matrix, axis=0)`` for a C-ordered matrix, row by row.

    NumPy accumulates along the first axis of a C-ordered matrix one column at a time; combining whole
    rows is several times faster for the (dates x assets) shapes here, and gives identical results
    (each column is still combined in date order).
    """
    out = np.empty_like(matrix)
    if matrix.shape[0]:
        out[0] = matrix[0]
        for row in range(1, matrix.shape[0]):
            ufunc(out[row - 1], matrix[row], out=out[row])
    return out
