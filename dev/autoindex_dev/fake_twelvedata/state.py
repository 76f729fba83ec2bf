"""The fake Twelve Data server's mutable state: plan credits, switchable faults, recorded requests."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

MINUTE_MESSAGE = (
    "You have run out of API credits for the current minute. {used} API credits were used, with the current "
    "limit being {limit}. Wait for the next minute or consider switching to a higher tier plan at "
    "https://twelvedata.com/pricing"
)
# Only the verbatim part of the daily message is known (reference section 3.3); the real tail may go on.
DAY_MESSAGE = (
    "You have run out of API credits for the day. {used} API credits were used, with the current limit being {limit}."
)

BAD_BAR_KINDS = frozenset(
    {"non_positive", "high_below_low", "close_above_high", "open_below_low", "not_a_number", "negative_volume"}
)


def parse_split(text: str) -> tuple[str, str, float]:
    """``SYMBOL:YYYY-MM-DD:RATIO`` (``NVDA:2024-06-10:10`` for a 10-for-1 split) as a tuple."""
    symbol, day, ratio = text.rsplit(":", 2)
    date.fromisoformat(day)
    if float(ratio) <= 0:
        raise ValueError(f"a split ratio must be positive: {text!r}")
    return symbol.upper(), day, float(ratio)


def parse_dividend(text: str) -> tuple[str, str, float]:
    """``SYMBOL:YYYY-MM-DD:AMOUNT`` (``TLT:2024-03-01:0.28``) as a tuple."""
    symbol, day, amount = text.rsplit(":", 2)
    date.fromisoformat(day)
    if not float(amount) > 0:
        raise ValueError(f"a dividend must be positive: {text!r}")
    return symbol.upper(), day, float(amount)


def _coerce(name: str, value: Any) -> Any:
    if name in ("splits", "dividends"):
        parse = parse_split if name == "splits" else parse_dividend
        items = [parse(v) if isinstance(v, str) else parse(":".join(map(str, v))) for v in value]
        out: dict[str, list[tuple[str, float]]] = {}
        for symbol, day, number in items:
            out.setdefault(symbol, []).append((day, number))
        return out
    if name == "symbol_errors":
        return {str(s).upper(): (int(v[0]), str(v[1])) for s, v in dict(value).items()}
    if name == "bad_bars":
        bad = {str(s).upper(): {str(d): str(k) for d, k in dict(v).items()} for s, v in dict(value).items()}
        if any(k not in BAD_BAR_KINDS for days in bad.values() for k in days.values()):
            raise ValueError(f"bad_bars kinds are {sorted(BAD_BAR_KINDS)}")
        return bad
    if name == "legacy_errors":
        return bool(value)
    if name == "delay_s":
        return float(value)
    return int(value)


@dataclass
class Faults:
    """What the fake gets wrong on purpose. Counters count down one per data request."""

    server_errors: int = 0  # the next N requests answer HTTP 500 with a JSON error body
    html_502: int = 0  # the next N answer a Cloudflare-style HTML 502 page
    malformed_json: int = 0  # the next N answer HTTP 200 with truncated JSON
    delay_s: float = 0.0  # every data response waits this long first
    legacy_errors: bool = False  # errors come back as HTTP 200 with the error body (2020-2024 behaviour)
    symbol_errors: dict[str, tuple[int, str]] = field(default_factory=dict)  # SYMBOL -> (code, message)
    bad_bars: dict[str, dict[str, str]] = field(default_factory=dict)  # SYMBOL -> {YYYY-MM-DD: kind}
    # Not a fault but a market event: SYMBOL -> [(effective day, ratio)], e.g. 10.0 for a 10-for-1 split.
    splits: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    # SYMBOL -> [(ex-date, cash per share in today's basis)]: adjust=all/dividends back-adjusts for them.
    dividends: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a JSON-style change set (unknown names and bad kinds raise ValueError)."""
        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise ValueError(f"unknown fault {name!r}")
            setattr(self, name, _coerce(name, value))


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    at: float  # the fake's clock when the request arrived
    path: str
    query: dict[str, list[str]]  # parameter names lower-cased, as the API treats them
    headers: dict[str, str]  # header names lower-cased

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class CreditLedger:
    """Per-minute and per-UTC-day credits, as the Basic plan counts them.

    ``window_s`` shortens the "minute" for tests; the message still says minute, like the API.
    """

    def __init__(self, *, per_minute: int, per_day: int, window_s: float, clock: Callable[[], float]) -> None:
        if per_minute < 1 or per_day < 1 or window_s <= 0:
            raise ValueError("credits and window must be positive")
        self.per_minute = per_minute
        self.per_day = per_day
        self.window_s = window_s
        self._clock = clock
        self._minute: tuple[int, int] = (-1, 0)
        self._day: tuple[int, int] = (-1, 0)

    def _roll(self) -> None:
        now = self._clock()
        window, day = int(now // self.window_s), int(now // 86_400)
        if self._minute[0] != window:
            self._minute = (window, 0)
        if self._day[0] != day:
            self._day = (day, 0)

    def usage(self) -> tuple[int, int]:
        """Credits used in the current minute and UTC day."""
        self._roll()
        return self._minute[1], self._day[1]

    def charge(self, cost: int) -> str | None:
        """Count ``cost`` credits, or return the 429 message (day first) and count nothing."""
        self._roll()
        minute, day = self._minute[1], self._day[1]
        if day + cost > self.per_day:
            return DAY_MESSAGE.format(used=day + cost, limit=self.per_day)
        if minute + cost > self.per_minute:
            return MINUTE_MESSAGE.format(used=minute + cost, limit=self.per_minute)
        self._minute = (self._minute[0], minute + cost)
        self._day = (self._day[0], day + cost)
        return None


class FakeState:
    """Everything the request handlers share, behind one lock."""

    def __init__(self, *, ledger: CreditLedger, api_key: str | None, clock: Callable[[], float]) -> None:
        self.lock = threading.Lock()
        self.ledger = ledger
        self.api_key = api_key
        self.clock = clock
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()

    def take(self, name: str) -> bool:
        """Use up one count of a counting fault; True when it fired."""
        with self.lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    def stats(self) -> dict[str, Any]:
        with self.lock:
            minute, day = self.ledger.usage()
            return {
                "requests": sum(self.by_path.values()),
                "by_path": dict(self.by_path),
                "by_status": {str(k): v for k, v in self.by_status.items()},
                "credits_minute": minute,
                "credits_day": day,
            }

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.requests.clear()
            self.by_path.clear()
            self.by_status.clear()
