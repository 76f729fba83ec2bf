"""A refresh window fetched knowing what is stored: fewer calls than :meth:`MarketDataProvider.daily_bars`.

A provider that offers :meth:`IncrementalBars.refresh_bars` gets, per symbol, whether the instrument can
pay cash distributions (``providers/payers.py``) and what is stored inside the window, and reports what it
actually spent: an instrument that cannot pay gets no dividend call, and a payer whose overlap is stored can
be read off one call (``providers/dividend_decode.py``). The ingest job uses it when the provider has it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

from autoindex.market.providers.dividend_decode import StoredWindow
from autoindex.market.providers.protocol import SymbolBars, SymbolError


@dataclass(frozen=True, slots=True)
class SymbolState:
    """What the caller knows of one symbol before fetching its window."""

    pays_cash: bool
    stored: StoredWindow | None = None  # None: nothing stored in the window (a first fill)


@dataclass(frozen=True, slots=True)
class RefreshedBars:
    """The window's results, as ``daily_bars`` gives them, and what fetching them cost."""

    results: dict[str, SymbolBars | SymbolError]
    # The calls' planned credits, one page and one attempt each; what the transport reserved (retries and later
    # pages too) is counted by providers/credit_meter.py, and that is what a refresh records.
    credits: int
    one_call: tuple[str, ...] = ()  # payers whose dividends were read off the adjust=all call alone
    two_calls: dict[str, str] = field(default_factory=dict)  # payers asked twice after all, and why


@runtime_checkable
class PlannedCalls(Protocol):
    def batch_calls(self, symbols: int, *, whole_history: bool) -> tuple[int, ...]:
        """The credits of each call a batch of ``symbols`` may make at most, in order (its splits' too when
        ``whole_history``): what the ingest's time-left check waits for room for."""
        ...


@runtime_checkable
class IncrementalBars(Protocol):
    def refresh_bars(
        self, symbols: Sequence[str], start: date, end: date, states: Mapping[str, SymbolState]
    ) -> RefreshedBars:
        """Daily bars of ``[start, end]`` like ``daily_bars``, spending only what ``states`` leaves necessary."""
        ...
