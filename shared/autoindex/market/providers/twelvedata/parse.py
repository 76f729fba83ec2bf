"""Read Twelve Data response bodies (numbers as strings, batch maps, error objects) into value types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from autoindex.market.providers.protocol import (
    Bar,
    Dividend,
    ForexPair,
    InvalidResponse,
    Quote,
    RejectedRow,
    StockListing,
    SymbolBars,
    SymbolError,
    SymbolMatch,
    Usage,
)
from autoindex.market.providers.sessions import daily_bar_is_final
from autoindex.market.providers.validation import to_decimal, validate_bar

SOURCE = "twelvedata"
NO_DATA = "no data is available on the specified dates"
_UTC_DAY_TYPES = {"Physical Currency", "Digital Currency"}


def error_of(body: object) -> tuple[int | None, str] | None:
    """``(code, message)`` when ``body`` is an error object (``"status": "error"``), else None."""
    if isinstance(body, Mapping) and body.get("status") == "error":
        code = body.get("code")
        message = body.get("message")
        return (code if isinstance(code, int) else None, message if isinstance(message, str) else "")
    return None


def error_body(code: int | None, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": "error"}


def is_symbol_problem(code: int | None, message: str) -> bool:
    """An unknown symbol, or one the plan does not cover: retrying will not help."""
    text = message.lower()
    return code in (400, 403, 404) and ("symbol" in text or "figi" in text)


def split_batch(body: object, symbols: Sequence[str]) -> dict[str, object]:
    """Each requested symbol's own body.

    A single symbol comes back flat; a comma list comes back as a map keyed by the symbol as it
    was spelled (matched here case-insensitively). A top-level error applies to every symbol.
    """
    if len(symbols) == 1 or error_of(body) is not None:
        return dict.fromkeys(symbols, body)
    if not isinstance(body, Mapping):
        raise InvalidResponse("The provider sent a batch response that is not an object.")
    folded = {str(key).upper(): value for key, value in body.items()}
    missing = error_body(None, "the provider's batch response has no entry for this symbol")
    return {s: body.get(s, folded.get(s.upper(), missing)) for s in symbols}


@dataclass(frozen=True, slots=True)
class SeriesPage:
    """One symbol's parsed response, with what paging needs: how many rows came, and the oldest date."""

    result: SymbolBars | SymbolError
    raw_count: int = 0
    oldest: date | None = None


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = body.get("meta")
    return meta if isinstance(meta, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _currency(symbol: str, meta: Mapping[str, Any], *, utc_days: bool) -> str | None:
    # FX meta names currencies in words ("Czech Koruna"); the pair itself carries the ISO code.
    _, slash, quote = symbol.strip().upper().partition("/")
    if utc_days and slash and len(quote) == 3:
        return quote
    return _text(meta.get("currency"))


def parse_series(symbol: str, body: object, *, start: date, end: date, now: datetime, settle: timedelta) -> SeriesPage:
    """One symbol's ``/time_series`` body as validated bars within ``[start, end]``.

    Rows failing validation are reported as rejected; today's unfinished bar and rows outside the
    range are left out; "No data is available on the specified dates" is an empty result.
    """
    err = error_of(body)
    if err is not None:
        code, message = err
        if NO_DATA in message.lower():
            return SeriesPage(SymbolBars(symbol=symbol, bars=()))
        return SeriesPage(
            SymbolError(symbol=symbol, message=message, code=code, not_found=is_symbol_problem(code, message))
        )
    if not isinstance(body, Mapping) or not isinstance(body.get("values"), list):
        return SeriesPage(SymbolError(symbol=symbol, message="the provider sent an unreadable series"))
    meta = _meta(body)
    kind = _text(meta.get("type"))
    tz = None if kind in _UTC_DAY_TYPES else _text(meta.get("exchange_timezone"))
    values: list[Any] = body["values"]
    bars: dict[date, Bar] = {}
    seen: set[date] = set()
    rejected: list[RejectedRow] = []
    unfinished: date | None = None
    for raw in values:
        if not isinstance(raw, Mapping):
            rejected.append(RejectedRow(symbol=symbol, date=None, reason="row is not an object"))
            continue
        row = validate_bar(symbol, raw)
        day = row.date
        if day is not None:
            if day in seen and isinstance(row, Bar):
                row = RejectedRow(symbol=symbol, date=day, reason="duplicate date")
            seen.add(day)
        if isinstance(row, RejectedRow):
            rejected.append(row)
        elif not daily_bar_is_final(row.date, tz, now, settle=settle):
            unfinished = row.date
        elif start <= row.date <= end:
            bars[row.date] = row
    result = SymbolBars(
        symbol=symbol,
        bars=tuple(sorted(bars.values(), key=lambda b: b.date)),
        rejected=tuple(rejected),
        source=SOURCE,
        currency=_currency(symbol, meta, utc_days=kind in _UTC_DAY_TYPES),
        exchange=_text(meta.get("exchange")),
        exchange_timezone=tz,
        instrument_type=kind,
        unfinished_dropped=unfinished,
    )
    return SeriesPage(result, raw_count=len(values), oldest=min(seen, default=None))


def _day(value: object) -> date:
    if not isinstance(value, str) or len(value) < 10:
        raise InvalidResponse("The provider sent a quote without a readable date.")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise InvalidResponse("The provider sent a quote without a readable date.") from None


def _number(body: Mapping[str, Any], name: str) -> Any:
    try:
        return to_decimal(body.get(name))
    except ValueError:
        raise InvalidResponse(f"The provider sent an unreadable {name}.") from None


def parse_quote(symbol: str, body: object) -> Quote:
    """A ``/quote`` body (no ``status`` field on success) as a :class:`Quote`."""
    if not isinstance(body, Mapping):
        raise InvalidResponse("The provider sent a quote that is not an object.")
    close = _number(body, "close")
    if close is None or close <= 0:
        raise InvalidResponse("The provider sent a quote without a positive close.")
    volume = _number(body, "volume")
    market_open = body.get("is_market_open")
    return Quote(
        symbol=symbol,
        as_of=_day(body.get("datetime")),
        close=close,
        open=_number(body, "open"),
        high=_number(body, "high"),
        low=_number(body, "low"),
        previous_close=_number(body, "previous_close"),
        volume=None if volume is None else int(volume),
        currency=_text(body.get("currency")),
        name=_text(body.get("name")),
        exchange=_text(body.get("exchange")),
        is_market_open=market_open if isinstance(market_open, bool) else None,
        source=SOURCE,
    )


def _items(body: object) -> list[Mapping[str, Any]]:
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        raise InvalidResponse("The provider sent a list response without data.")
    return [item for item in data if isinstance(item, Mapping) and _text(item.get("symbol"))]


def parse_matches(body: object) -> list[SymbolMatch]:
    return [
        SymbolMatch(
            symbol=item["symbol"],
            name=_text(item.get("instrument_name")) or item["symbol"],
            exchange=_text(item.get("exchange")),
            mic_code=_text(item.get("mic_code")),
            instrument_type=_text(item.get("instrument_type")),
            country=_text(item.get("country")),
            currency=_text(item.get("currency")),
            exchange_timezone=_text(item.get("exchange_timezone")),
        )
        for item in _items(body)
    ]


def parse_stocks(body: object) -> list[StockListing]:
    return [
        StockListing(
            symbol=item["symbol"],
            name=_text(item.get("name")) or item["symbol"],
            currency=_text(item.get("currency")),
            exchange=_text(item.get("exchange")),
            mic_code=_text(item.get("mic_code")),
            country=_text(item.get("country")),
            instrument_type=_text(item.get("type")),
            figi_code=_text(item.get("figi_code")),
            isin=_text(item.get("isin")),
        )
        for item in _items(body)
    ]


def parse_forex_pairs(body: object) -> list[ForexPair]:
    pairs = []
    for item in _items(body):
        base, _, quote = str(item["symbol"]).partition("/")
        pairs.append(
            ForexPair(
                symbol=item["symbol"],
                currency_base=_text(item.get("currency_base")) or base,
                currency_quote=_text(item.get("currency_quote")) or quote,
                currency_group=_text(item.get("currency_group")),
            )
        )
    return pairs


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_usage(body: object) -> Usage:
    """``/api_usage``: the spec's three fields plus the daily ones real Basic-plan responses carry."""
    if not isinstance(body, Mapping):
        raise InvalidResponse("The provider sent a usage response that is not an object.")
    stamp = _text(body.get("timestamp"))
    try:
        as_of = datetime.fromisoformat(stamp).replace(tzinfo=UTC) if stamp else None
    except ValueError:
        as_of = None
    return Usage(
        source=SOURCE,
        minute_used=_int(body.get("current_usage")),
        minute_limit=_int(body.get("plan_limit")),
        day_used=_int(body.get("daily_usage")),
        day_limit=_int(body.get("plan_daily_limit")),
        plan=_text(body.get("plan_category")),
        as_of=as_of,
    )


def parse_dividends(body: object, *, start: date, end: date) -> tuple[Dividend, ...]:
    """``/dividends``: ``{"meta", "dividends": [{"ex_date", "amount"}]}``, newest first, as oldest-first values.

    Rows outside ``[start, end]``, without a date or with a non-positive amount are left out.
    """
    rows = body.get("dividends") if isinstance(body, Mapping) else None
    if not isinstance(rows, list):
        raise InvalidResponse("The provider's dividends response has no list of dividends.")
    out = []
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        try:
            day = date.fromisoformat(str(row.get("ex_date")))
            amount = to_decimal(row.get("amount"))
        except (ValueError, TypeError, ArithmeticError):
            continue
        if amount is not None and amount > 0 and start <= day <= end:
            out.append(Dividend(ex_date=day, amount=amount))
    return tuple(sorted(out, key=lambda d: d.ex_date))
