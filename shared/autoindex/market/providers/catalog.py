"""The instruments the demo provider and the fake Twelve Data server know by name.

The default universe (DESIGN.md section 1), the S&P 500 benchmark and USD pairs of the supported
currencies, with reference data in the provider's own vocabulary (``instrument_type`` as Twelve
Data spells it). Synthetic-series parameters live with the generator, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Kind = Literal["stock", "etf", "index", "fx", "crypto"]

_TYPE_LABEL: dict[Kind, str] = {
    "stock": "Common Stock",
    "etf": "ETF",
    "index": "Index",
    "fx": "Physical Currency",
    "crypto": "Digital Currency",
}


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    name: str
    kind: Kind
    exchange: str | None = None
    mic_code: str | None = None
    currency: str = "USD"
    country: str | None = "United States"
    timezone: str | None = "America/New_York"  # None: UTC days (FX, crypto)
    first_date: date = date(2000, 1, 3)
    figi_code: str | None = None
    isin: str | None = None
    currency_base: str | None = None  # FX only: ISO codes
    currency_quote: str | None = None

    @property
    def instrument_type(self) -> str:
        return _TYPE_LABEL[self.kind]


def _nasdaq(symbol: str, name: str, first: date, isin: str) -> Instrument:
    return Instrument(symbol, name, "stock", "NASDAQ", "XNGS", first_date=first, isin=isin)


def _etf(symbol: str, name: str, exchange: str, mic: str, first: date) -> Instrument:
    return Instrument(symbol, name, "etf", exchange, mic, first_date=first)


_EQUITIES: tuple[Instrument, ...] = (
    _nasdaq("AAPL", "Apple Inc", date(2000, 1, 3), "US0378331005"),
    _nasdaq("MSFT", "Microsoft Corporation", date(2000, 1, 3), "US5949181045"),
    _nasdaq("GOOGL", "Alphabet Inc", date(2004, 8, 19), "US02079K3059"),
    _nasdaq("AMZN", "Amazon.com Inc", date(2000, 1, 3), "US0231351067"),
    _nasdaq("META", "Meta Platforms Inc", date(2012, 5, 18), "US30303M1027"),
    _nasdaq("TSLA", "Tesla Inc", date(2010, 6, 29), "US88160R1014"),
    _nasdaq("NVDA", "NVIDIA Corp", date(2000, 1, 3), "US67066G1040"),
    _etf("SPY", "SPDR S&P 500 ETF Trust", "NYSE", "ARCX", date(2000, 1, 3)),
    _etf("GLD", "SPDR Gold Shares", "NYSE", "ARCX", date(2004, 11, 18)),
    _etf("SLV", "iShares Silver Trust", "NYSE", "ARCX", date(2006, 4, 28)),
    _etf("USO", "United States Oil Fund LP", "NYSE", "ARCX", date(2006, 4, 10)),
    _etf("TLT", "iShares 20+ Year Treasury Bond ETF", "NASDAQ", "XNMS", date(2002, 7, 30)),
    _etf("IEF", "iShares 7-10 Year Treasury Bond ETF", "NASDAQ", "XNMS", date(2002, 7, 30)),
    Instrument("SPX", "S&P 500", "index", "NYSE", "XNYS"),
)

# USD pairs of the simulation currencies; base and quote are ISO 4217 codes as /forex_pairs has them.
_FX_QUOTES: tuple[tuple[str, str], ...] = (
    ("EUR", "Major"),
    ("GBP", "Major"),
    ("JPY", "Major"),
    ("CHF", "Major"),
    ("CAD", "Major"),
    ("AUD", "Major"),
    ("NZD", "Major"),
    ("SEK", "Minor"),
    ("NOK", "Minor"),
    ("DKK", "Minor"),
    ("PLN", "Exotic"),
    ("CZK", "Exotic"),
    ("HUF", "Exotic"),
    ("CNY", "Exotic"),
    ("HKD", "Exotic"),
    ("SGD", "Exotic"),
    ("KRW", "Exotic"),
    ("INR", "Exotic"),
    ("BRL", "Exotic"),
    ("MXN", "Exotic"),
    ("ZAR", "Exotic"),
)

FX_GROUPS: dict[str, str] = {f"USD/{code}": group for code, group in _FX_QUOTES}

_FX: tuple[Instrument, ...] = tuple(
    Instrument(
        f"USD/{code}",
        f"US Dollar / {code}",
        "fx",
        currency=code,
        country=None,
        timezone=None,
        currency_base="USD",
        currency_quote=code,
    )
    for code, _ in _FX_QUOTES
)

INSTRUMENTS: dict[str, Instrument] = {item.symbol: item for item in (*_EQUITIES, *_FX)}


# Load tests need universes of hundreds of symbols: SYN0000..SYN9999 are synthetic NASDAQ stocks
# that only the demo provider and the fake server know (never a real ticker of this shape).
_SYNTHETIC = re.compile(r"^SYN\d{4}$")


def lookup(symbol: str) -> Instrument | None:
    """The catalog entry of ``symbol`` (case-insensitive), or None."""
    key = symbol.strip().upper()
    found = INSTRUMENTS.get(key)
    if found is None and _SYNTHETIC.fullmatch(key):
        return Instrument(key, f"Synthetic {key}", "stock", "NASDAQ", "XNGS", first_date=date(2000, 1, 3))
    return found


def search(query: str, limit: int) -> list[Instrument]:
    """Catalog entries matching ``query``: exact symbol first, then symbol prefixes, then names."""
    q = query.strip().upper()
    if not q:
        return []
    exact = [i for i in INSTRUMENTS.values() if q in (i.symbol, i.isin, i.figi_code)]
    prefix = [i for i in INSTRUMENTS.values() if i.symbol.startswith(q) and i not in exact]
    named = [i for i in INSTRUMENTS.values() if q in i.name.upper() and i not in exact and i not in prefix]
    return [*exact, *prefix, *named][:limit]
