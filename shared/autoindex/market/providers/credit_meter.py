"""The credits a piece of work took from the shared budget, counted where the transport reserves them.

The ingest wraps one batch in :func:`metering`; every HTTP attempt the transport makes meanwhile adds
what it reserved (:func:`count`). So a batch records every page of a paged history, every retry after a
5xx or a 429, and what it spent before it failed: numbers no plan made in advance can know.
A context variable, not a global: concurrent batches in threads each see only their own meter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class CreditMeter:
    """Credits reserved so far by the calls made inside :func:`metering`."""

    reserved: int = 0


_current: ContextVar[CreditMeter | None] = ContextVar("credit_meter", default=None)


@contextmanager
def metering() -> Iterator[CreditMeter]:
    """Count the credits every provider call reserves until the block ends (nested blocks count alone)."""
    meter = CreditMeter()
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


def count(credits: int) -> None:
    """Add ``credits`` to the current meter, if any: the transport calls this once per reserved attempt."""
    meter = _current.get()
    if meter is not None:
        meter.reserved += credits
