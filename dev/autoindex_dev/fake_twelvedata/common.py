"""What every fake endpoint shares: the reply and context types, error objects, symbol lists, numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from autoindex.market.providers import catalog
from autoindex.market.providers.catalog import Instrument

from autoindex_dev.fake_twelvedata.state import Faults

INTERVALS = ("1min", "5min", "15min", "30min", "45min", "1h", "2h", "4h", "5h", "8h", "1day", "1week", "1month")
BAD_INTERVAL = (
    "Invalid **interval** provided: {0}. Supported intervals: 1min, 5min, 15min, 30min, 45min, 1h, 2h, 4h, 8h, "
    "1day, 1week, 1month"
)
NO_DATA = "No data is available on the specified dates. Try setting different start/end dates."
UNKNOWN_SYMBOL = "**symbol** or **figi** parameter is missing or invalid."
UNKNOWN_SYMBOL_LEGACY = "**symbol** not found: {0}. Please specify it correctly according to API Documentation."
MAX_SYMBOLS = 120
MAX_OUTPUT = 5_000


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    batch: bool = False


@dataclass(frozen=True, slots=True)
class Context:
    params: dict[str, str]  # names lower-cased
    now: datetime
    faults: Faults


class BadRequest(Exception):
    """A 400 (or other ``code``) for the whole request."""

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.code = code


def error(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "status": "error", **extra}


def symbols_of(params: dict[str, str]) -> list[str]:
    return [s.strip() for s in params.get("symbol", "").split(",") if s.strip()]


def parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise BadRequest(f"**{name}** parameter is invalid: {value[:40]}") from None


def decimals(ctx: Context) -> int:
    raw = ctx.params.get("dp", "-1")
    try:
        dp = int(raw)
    except ValueError:
        raise BadRequest("**dp** parameter is invalid") from None
    if not -1 <= dp <= 11:
        raise BadRequest("**dp** must be between 0 and 11")
    return 5 if dp == -1 else dp


def num(value: float, dp: int) -> str:
    return f"{value:.{dp}f}"


def unknown(symbol: str, ctx: Context) -> dict[str, Any]:
    if ctx.faults.legacy_errors:
        return error(400, UNKNOWN_SYMBOL_LEGACY.format(symbol))
    return error(404, UNKNOWN_SYMBOL)


def per_symbol(
    ctx: Context, build: Callable[[Instrument, Context], dict[str, Any]], *, batch_meta: bool = True
) -> Reply:
    """Run ``build`` per requested symbol: a flat body for one symbol, a map keyed by symbol for a list."""
    symbols = symbols_of(ctx.params)
    if not symbols:
        raise BadRequest("**symbol** parameter is missing or invalid.")
    if len(symbols) > MAX_SYMBOLS:
        raise BadRequest("Parameter Too Long: input parameter array exceeds the allowed length", 414)
    bodies: dict[str, dict[str, Any]] = {}
    for symbol in symbols:
        item = catalog.lookup(symbol)
        injected = ctx.faults.symbol_errors.get(symbol.upper())
        if injected is not None:
            body = error(*injected)
        elif item is None:
            body = unknown(symbol, ctx)
        else:
            try:
                body = build(item, ctx)
            except BadRequest as exc:
                body = error(exc.code, str(exc))
        if body.get("status") == "error" and len(symbols) > 1 and batch_meta:
            interval = ctx.params.get("interval", "")
            body["meta"] = {"symbol": ctx.params.get("symbol", ""), "interval": interval, "exchange": ""}
        bodies[symbol] = body
    if len(symbols) == 1:
        body = bodies[symbols[0]]
        return Reply(int(body["code"]) if body.get("status") == "error" else 200, body)
    return Reply(200, bodies, batch=True)
