"""The fake's reference-data and usage endpoints (1 credit per request)."""

from __future__ import annotations

from datetime import UTC, datetime

from autoindex.market.providers import catalog

from autoindex_dev.fake_twelvedata.common import BadRequest, Context, Reply

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
