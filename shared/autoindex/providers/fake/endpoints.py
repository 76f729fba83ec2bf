"""The fake's endpoints: request parameters in, documented response shapes out (reference section 7).

Numbers go out as strings (5 decimals unless ``dp`` says otherwise), daily ``end_date`` is
exclusive, comma lists answer a map keyed by symbol with per-symbol error objects, and an
empty range is the 400 "No data is available on the specified dates" error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from autoindex.providers import catalog
from autoindex.providers.catalog import Instrument
from autoindex.providers.fake import series
from autoindex.providers.fake.state import Faults

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


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise BadRequest(f"**{name}** parameter is invalid: {value[:40]}") from None


def _dp(ctx: Context) -> int:
    raw = ctx.params.get("dp", "-1")
    try:
        dp = int(raw)
    except ValueError:
        raise BadRequest("**dp** parameter is invalid") from None
    if not -1 <= dp <= 11:
        raise BadRequest("**dp** must be between 0 and 11")
    return 5 if dp == -1 else dp


def _num(value: float, dp: int) -> str:
    return f"{value:.{dp}f}"


def _unknown(symbol: str, ctx: Context) -> dict[str, Any]:
    if ctx.faults.legacy_errors:
        return error(400, UNKNOWN_SYMBOL_LEGACY.format(symbol))
    return error(404, UNKNOWN_SYMBOL)


def _per_symbol(
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
            body = _unknown(symbol, ctx)
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


# --- /time_series


def _check_interval(ctx: Context) -> None:
    interval = ctx.params.get("interval")
    if interval is None:
        raise BadRequest("**interval** parameter is missing or invalid.")
    if interval not in INTERVALS:
        raise BadRequest(BAD_INTERVAL.format(interval[:20]))
    if interval != "1day":
        raise BadRequest("This fake server serves daily bars only (interval=1day).")


def _window(ctx: Context) -> tuple[date | None, date | None, int]:
    p = ctx.params
    if "date" in p:
        word = p["date"].strip().lower()
        today = ctx.now.date()
        day = {"today": today, "yesterday": today - timedelta(days=1)}.get(word) or _day(p["date"], "date")
        return day, day, MAX_OUTPUT
    start = _day(p["start_date"], "start_date") if "start_date" in p else None
    end = _day(p["end_date"], "end_date") - timedelta(days=1) if "end_date" in p else None  # exclusive
    dated = start is not None or end is not None
    try:
        size = int(p.get("outputsize", MAX_OUTPUT if dated else 30))
    except ValueError:
        raise BadRequest("**outputsize** parameter is invalid") from None
    return start, end, max(1, min(size, MAX_OUTPUT))


def _meta(item: Instrument, interval: str) -> dict[str, Any]:
    if item.kind == "fx":
        base, quote = item.currency_base or "", item.currency_quote or ""
        return {
            "symbol": item.symbol,
            "interval": interval,
            "currency_base": series.CURRENCY_NAMES.get(base, base),
            "currency_quote": series.CURRENCY_NAMES.get(quote, quote),
            "type": item.instrument_type,
        }
    return {
        "symbol": item.symbol,
        "interval": interval,
        "currency": item.currency,
        "exchange_timezone": item.timezone,
        "exchange": item.exchange,
        "mic_code": item.mic_code,
        "type": item.instrument_type,
    }


def _row(row: series.Row, dp: int, bad: str | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {
        "datetime": row.day.isoformat(),
        "open": _num(row.open, dp),
        "high": _num(row.high, dp),
        "low": _num(row.low, dp),
        "close": _num(row.close, dp),
    }
    if row.volume is not None:
        out["volume"] = str(row.volume)
    if bad is not None:
        out.update(series.corrupt(row, bad))
    return out


def _series(item: Instrument, ctx: Context) -> dict[str, Any]:
    start, end, size = _window(ctx)
    order = ctx.params.get("order", "desc").lower()
    if order not in ("asc", "desc"):
        raise BadRequest("**order** parameter is invalid")
    dp = _dp(ctx)
    rows = series.bars(item, start or item.first_date, end or date.max - timedelta(days=2), ctx.now)[-size:]
    if not rows:
        return error(400, NO_DATA)
    bad = ctx.faults.bad_bars.get(item.symbol, {})
    values = [_row(r, dp, bad.get(r.day.isoformat())) for r in rows]
    if order == "desc":
        values.reverse()
    return {"meta": _meta(item, "1day"), "values": values, "status": "ok"}


def time_series(ctx: Context) -> Reply:
    _check_interval(ctx)
    return _per_symbol(ctx, _series)


# --- /quote, /price, /eod, /exchange_rate, /earliest_timestamp


def _recent(item: Instrument, ctx: Context) -> list[series.Row]:
    last = series.last_bar_day(item, ctx.now)
    rows = series.bars(item, series.one_year_back(last), last, ctx.now)
    if len(rows) < 2:
        raise BadRequest(NO_DATA)
    return rows


def _quote(item: Instrument, ctx: Context) -> dict[str, Any]:
    dp = _dp(ctx)
    rows = _recent(item, ctx)
    bar, previous = rows[-1], rows[-2]
    low52, high52 = min(r.low for r in rows), max(r.high for r in rows)
    progress = series.session_progress(item, ctx.now)
    body: dict[str, Any] = {"symbol": item.symbol, "name": item.name}
    if item.exchange:
        body.update(exchange=item.exchange, mic_code=item.mic_code, currency=item.currency)
    else:
        body.update(currency_base=item.currency_base, currency_quote=item.currency_quote)
    stamp = series.epoch(bar.day, item)
    body.update(datetime=bar.day.isoformat(), timestamp=stamp, last_quote_at=int(ctx.now.timestamp()))
    body.update({k: _num(getattr(bar, k), dp) for k in ("open", "high", "low", "close")})
    if bar.volume is not None:
        body["volume"] = str(bar.volume)
        body["average_volume"] = str(sum(r.volume or 0 for r in rows[-9:]) // len(rows[-9:]))
    body.update(
        previous_close=_num(previous.close, dp),
        change=_num(bar.close - previous.close, dp),
        percent_change=_num((bar.close / previous.close - 1) * 100, dp),
        is_market_open=progress is not None and progress < 1.0,
        fifty_two_week={
            "low": _num(low52, dp),
            "high": _num(high52, dp),
            "low_change": _num(bar.close - low52, dp),
            "high_change": _num(bar.close - high52, dp),
            "low_change_percent": _num((bar.close / low52 - 1) * 100, dp),
            "high_change_percent": _num((bar.close / high52 - 1) * 100, dp),
            "range": f"{low52:.6f} - {high52:.6f}",
        },
    )
    return body


def quote(ctx: Context) -> Reply:
    return _per_symbol(ctx, _quote)


def price(ctx: Context) -> Reply:
    return _per_symbol(ctx, lambda item, c: {"price": _num(_recent(item, c)[-1].close, _dp(c))}, batch_meta=False)


def _eod(item: Instrument, ctx: Context) -> dict[str, Any]:
    rows = _recent(item, ctx)
    wanted = _day(ctx.params["date"], "date") if "date" in ctx.params else None
    progress = series.session_progress(item, ctx.now)
    done = [r for r in rows if not (r.day == rows[-1].day and progress is not None and progress < 1.0)]
    if wanted is not None:
        done = [r for r in done if r.day <= wanted]
    if not done:
        raise BadRequest(NO_DATA)
    bar = done[-1]
    body: dict[str, Any] = {"symbol": item.symbol}
    if item.exchange:
        body.update(exchange=item.exchange, mic_code=item.mic_code, currency=item.currency)
    body.update(datetime=bar.day.isoformat(), close=_num(bar.close, _dp(ctx)))
    return body


def eod(ctx: Context) -> Reply:
    return _per_symbol(ctx, _eod)


def exchange_rate(ctx: Context) -> Reply:
    def build(item: Instrument, c: Context) -> dict[str, Any]:
        if item.kind != "fx":
            return _unknown(item.symbol, c)
        bar = _recent(item, c)[-1]
        # The spec has ``rate`` as a JSON number here, unlike almost everything else.
        return {"symbol": item.symbol, "rate": round(bar.close, 5), "timestamp": int(c.now.timestamp())}

    return _per_symbol(ctx, build)


def earliest_timestamp(ctx: Context) -> Reply:
    if "interval" not in ctx.params:
        raise BadRequest("**interval** parameter is missing or invalid.")
    if ctx.params["interval"] not in INTERVALS:
        raise BadRequest(BAD_INTERVAL.format(ctx.params["interval"][:20]))

    def build(item: Instrument, _: Context) -> dict[str, Any]:
        first = max(item.first_date, date(2000, 1, 3))
        return {"datetime": first.isoformat(), "unix_time": series.epoch(first, item)}

    return _per_symbol(ctx, build)


# --- reference data and usage (1 credit per request)


def _matches(value: str | None, wanted: str | None) -> bool:
    return wanted is None or (value or "").upper() == wanted.strip().upper()


def symbol_search(ctx: Context) -> Reply:
    query = ctx.params.get("symbol", "")
    if not query.strip():
        raise BadRequest("**symbol** parameter is missing or invalid.")
    try:
        size = max(1, min(int(ctx.params.get("outputsize", "30")), 120))
    except ValueError:
        raise BadRequest("**outputsize** parameter is invalid") from None
    data = [
        {
            "symbol": i.symbol,
            "instrument_name": i.name,
            "exchange": i.exchange,
            "mic_code": i.mic_code,
            "exchange_timezone": i.timezone,
            "instrument_type": i.instrument_type,
            "country": i.country,
            "currency": i.currency,
        }
        for i in catalog.search(query, size)
        if i.kind != "fx"
    ]
    return Reply(200, {"data": data, "status": "ok"})


def stocks(ctx: Context) -> Reply:
    p = ctx.params
    data = [
        {
            "symbol": i.symbol,
            "name": i.name,
            "currency": i.currency,
            "exchange": i.exchange,
            "mic_code": i.mic_code,
            "country": i.country,
            "type": i.instrument_type,
            "figi_code": i.figi_code,
            "cfi_code": None,
            "isin": i.isin,
            "cusip": None,
        }
        for i in catalog.INSTRUMENTS.values()
        if i.kind != "fx"
        and _matches(i.symbol, p.get("symbol"))
        and _matches(i.exchange, p.get("exchange"))
        and _matches(i.mic_code, p.get("mic_code"))
        and _matches(i.country, p.get("country"))
        and _matches(i.instrument_type, p.get("type"))
    ]
    return Reply(200, {"data": data, "status": "ok"})


def forex_pairs(ctx: Context) -> Reply:
    p = ctx.params
    data = [
        {
            "symbol": i.symbol,
            "currency_group": catalog.FX_GROUPS.get(i.symbol, "Exotic"),
            "currency_base": i.currency_base,
            "currency_quote": i.currency_quote,
        }
        for i in catalog.INSTRUMENTS.values()
        if i.kind == "fx"
        and _matches(i.symbol, p.get("symbol"))
        and _matches(i.currency_base, p.get("currency_base"))
        and _matches(i.currency_quote, p.get("currency_quote"))
    ]
    return Reply(200, {"data": data, "status": "ok"})


def api_usage(now: datetime, minute_used: int, per_minute: int, day_used: int, per_day: int) -> Reply:
    return Reply(
        200,
        {
            "timestamp": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "current_usage": minute_used,
            "plan_limit": per_minute,
            "daily_usage": day_used,
            "plan_daily_limit": per_day,
            "plan_category": "basic",
        },
    )


# path -> (handler, credits: per symbol or per request)
PER_SYMBOL = "symbol"
PER_REQUEST = "request"
ROUTES: dict[str, tuple[Callable[[Context], Reply] | None, str]] = {
    "/time_series": (time_series, PER_SYMBOL),
    "/quote": (quote, PER_SYMBOL),
    "/price": (price, PER_SYMBOL),
    "/eod": (eod, PER_SYMBOL),
    "/exchange_rate": (exchange_rate, PER_SYMBOL),
    "/symbol_search": (symbol_search, PER_REQUEST),
    "/stocks": (stocks, PER_REQUEST),
    "/forex_pairs": (forex_pairs, PER_REQUEST),
    "/earliest_timestamp": (earliest_timestamp, PER_REQUEST),
    "/api_usage": (None, PER_REQUEST),  # answered by the server itself: it needs the ledger
}


def cost_of(path: str, params: dict[str, str]) -> int:
    """Credits a request costs: 1 per symbol on data endpoints, 1 per request elsewhere."""
    _, kind = ROUTES[path]
    return max(1, len(symbols_of(params))) if kind == PER_SYMBOL else 1
