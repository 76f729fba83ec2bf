"""The fake's market-data endpoints: /time_series, /quote, /price, /eod, /exchange_rate, /earliest_timestamp.

Numbers go out as strings (5 decimals unless ``dp`` says otherwise), daily ``end_date`` is
exclusive, comma lists answer a map keyed by symbol with per-symbol error objects, and an
empty range is the 400 "No data is available on the specified dates" error.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from autoindex.market.providers.catalog import Instrument

from autoindex_dev.fake_twelvedata import series
from autoindex_dev.fake_twelvedata.actions import apply_dividends
from autoindex_dev.fake_twelvedata.common import (
    BAD_INTERVAL,
    INTERVALS,
    MAX_OUTPUT,
    NO_DATA,
    BadRequest,
    Context,
    Reply,
    decimals,
    error,
    num,
    parse_day,
    per_symbol,
    unknown,
)

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
        day = {"today": today, "yesterday": today - timedelta(days=1)}.get(word) or parse_day(p["date"], "date")
        return day, day, MAX_OUTPUT
    start = parse_day(p["start_date"], "start_date") if "start_date" in p else None
    end = parse_day(p["end_date"], "end_date") - timedelta(days=1) if "end_date" in p else None  # exclusive
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
        "open": num(row.open, dp),
        "high": num(row.high, dp),
        "low": num(row.low, dp),
        "close": num(row.close, dp),
    }
    if row.volume is not None:
        out["volume"] = str(row.volume)
    if bad is not None:
        out.update(series.corrupt(row, bad))
    return out


ADJUST_MODES = ("all", "splits", "dividends", "none")


def _split_factor(day: date, splits: list[tuple[str, float]], *, today: date, adjusted: bool) -> float:
    """How many times the traded price on ``day`` was the continuous (split-adjusted) series.

    Before a split's effective day the stock traded at ``ratio`` times that series. Split-adjusted
    history divides it back out, but only once the split has happened: until then the provider
    serves (and a client stores) the higher, unadjusted prices.
    """
    factor = 1.0
    for effective, ratio in splits:
        when = date.fromisoformat(effective)
        if day < when and not (adjusted and today >= when):
            factor *= ratio
    return factor


def _apply_splits(
    rows: list[series.Row], splits: list[tuple[str, float]], *, today: date, adjusted: bool
) -> list[series.Row]:
    out = []
    for r in rows:
        f = _split_factor(r.day, splits, today=today, adjusted=adjusted)
        volume = None if r.volume is None else round(r.volume / f)
        out.append(series.Row(r.day, r.open * f, r.high * f, r.low * f, r.close * f, volume) if f != 1.0 else r)
    return out


def _series(item: Instrument, ctx: Context) -> dict[str, Any]:
    start, end, size = _window(ctx)
    adjust = ctx.params.get("adjust", "splits").lower()
    if adjust not in ADJUST_MODES:
        raise BadRequest("**adjust** parameter is invalid")
    order = ctx.params.get("order", "desc").lower()
    if order not in ("asc", "desc"):
        raise BadRequest("**order** parameter is invalid")
    dp = decimals(ctx)
    rows = series.bars(item, start or item.first_date, end or date.max - timedelta(days=2), ctx.now)[-size:]
    splits = ctx.faults.splits.get(item.symbol, [])
    if splits:
        today = series.local_now(item, ctx.now).date()
        rows = _apply_splits(rows, splits, today=today, adjusted=adjust in ("splits", "all"))
    paid = ctx.faults.dividends.get(item.symbol, [])
    if paid and adjust in ("all", "dividends"):
        rows = apply_dividends(rows, item.symbol, paid, series.local_now(item, ctx.now).date())
    if not rows:
        return error(400, NO_DATA)
    bad = ctx.faults.bad_bars.get(item.symbol, {})
    values = [_row(r, dp, bad.get(r.day.isoformat())) for r in rows]
    if order == "desc":
        values.reverse()
    return {"meta": _meta(item, "1day"), "values": values, "status": "ok"}


def time_series(ctx: Context) -> Reply:
    _check_interval(ctx)
    return per_symbol(ctx, _series)


# --- /quote, /price, /eod, /exchange_rate, /earliest_timestamp


def _recent(item: Instrument, ctx: Context) -> list[series.Row]:
    last = series.last_bar_day(item, ctx.now)
    rows = series.bars(item, series.one_year_back(last), last, ctx.now)
    if len(rows) < 2:
        raise BadRequest(NO_DATA)
    return rows


def _quote(item: Instrument, ctx: Context) -> dict[str, Any]:
    dp = decimals(ctx)
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
    body.update({k: num(getattr(bar, k), dp) for k in ("open", "high", "low", "close")})
    if bar.volume is not None:
        body["volume"] = str(bar.volume)
        body["average_volume"] = str(sum(r.volume or 0 for r in rows[-9:]) // len(rows[-9:]))
    body.update(
        previous_close=num(previous.close, dp),
        change=num(bar.close - previous.close, dp),
        percent_change=num((bar.close / previous.close - 1) * 100, dp),
        is_market_open=progress is not None and progress < 1.0,
        fifty_two_week={
            "low": num(low52, dp),
            "high": num(high52, dp),
            "low_change": num(bar.close - low52, dp),
            "high_change": num(bar.close - high52, dp),
            "low_change_percent": num((bar.close / low52 - 1) * 100, dp),
            "high_change_percent": num((bar.close / high52 - 1) * 100, dp),
            "range": f"{low52:.6f} - {high52:.6f}",
        },
    )
    return body


def quote(ctx: Context) -> Reply:
    return per_symbol(ctx, _quote)


def price(ctx: Context) -> Reply:
    return per_symbol(ctx, lambda item, c: {"price": num(_recent(item, c)[-1].close, decimals(c))}, batch_meta=False)


def _eod(item: Instrument, ctx: Context) -> dict[str, Any]:
    rows = _recent(item, ctx)
    wanted = parse_day(ctx.params["date"], "date") if "date" in ctx.params else None
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
    body.update(datetime=bar.day.isoformat(), close=num(bar.close, decimals(ctx)))
    return body


def eod(ctx: Context) -> Reply:
    return per_symbol(ctx, _eod)


def exchange_rate(ctx: Context) -> Reply:
    def build(item: Instrument, c: Context) -> dict[str, Any]:
        if item.kind != "fx":
            return unknown(item.symbol, c)
        bar = _recent(item, c)[-1]
        # The spec has ``rate`` as a JSON number here, unlike almost everything else.
        return {"symbol": item.symbol, "rate": round(bar.close, 5), "timestamp": int(c.now.timestamp())}

    return per_symbol(ctx, build)


def earliest_timestamp(ctx: Context) -> Reply:
    if "interval" not in ctx.params:
        raise BadRequest("**interval** parameter is missing or invalid.")
    if ctx.params["interval"] not in INTERVALS:
        raise BadRequest(BAD_INTERVAL.format(ctx.params["interval"][:20]))

    def build(item: Instrument, _: Context) -> dict[str, Any]:
        first = max(item.first_date, date(2000, 1, 3))
        return {"datetime": first.isoformat(), "unix_time": series.epoch(first, item)}

    return per_symbol(ctx, build)
