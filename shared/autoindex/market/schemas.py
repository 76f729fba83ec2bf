"""Assets, prices and pipeline runs as the API shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from autoindex.market.fallbacks import MAX_FALLBACK_REASON, MAX_FALLBACKS
from autoindex.schemas import CleanText, PageQuery, RangeQuery, field_list, fields_param

AssetType = Literal["stock", "etf", "index", "fx", "crypto"]
SYMBOL_PATTERN = r"^[A-Za-z0-9.\-]{1,20}(/[A-Za-z0-9]{2,10})?$"
Symbol = Annotated[str, Field(pattern=SYMBOL_PATTERN, max_length=32)]
PRICE_FIELDS = ("open", "high", "low", "close", "volume")


class AssetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    symbol: str
    name: str
    asset_type: str
    exchange: str | None
    mic_code: str | None
    currency: str
    sector: str | None
    in_universe: bool
    is_benchmark: bool
    is_active: bool


class SplitRead(BaseModel):
    date: Annotated[date, Field(description="The first session on the new share basis.")]
    shares_after: int = Field(description="New shares for every `shares_before` old ones (10 for a 10-for-1 split).")
    shares_before: int
    ratio: float = Field(description="New shares per old share: 10.0 for 10-for-1, 0.125 for a 1-for-8 reverse split.")
    source: str = Field(description="Where it was read: `twelvedata` or `demo` (from the provider's own closes).")


class AssetDetail(AssetRead):
    """One asset with its corporate actions."""

    splits: list[SplitRead] = Field(
        default_factory=list,
        description="Share splits, oldest first. Prices are split-adjusted onto today's basis; EDGAR share counts "
        "from before a split are multiplied by its ratio for the market cap.",
    )


class UniverseAssetRead(AssetRead):
    """An asset as the operator sees it after a universe change: with the CIK its share counts come from."""

    cik: int | None = Field(
        description="SEC's Central Index Key, for share counts from EDGAR. Null for a stock until it is found in "
        "SEC's ticker map (at once if the map is cached, else by the weekly share-count job) or set here; funds "
        "need none (they are excluded from the market-cap leg by rule)."
    )


class AssetPage(BaseModel):
    items: list[AssetRead]
    next_cursor: str | None


class AssetQuery(PageQuery):
    type: AssetType | None = None
    in_universe: bool | None = None
    q: Annotated[CleanText, Field(min_length=1, max_length=50)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class PriceQuery(RangeQuery, PageQuery):
    fields: Annotated[str | None, fields_param(PRICE_FIELDS)] = None
    limit: Annotated[int, Field(ge=1, le=5_000)] = 500

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        return field_list(value, PRICE_FIELDS)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.fields.split(",")) if self.fields else PRICE_FIELDS


class PricePage(BaseModel):
    symbol: str
    currency: str
    items: list[dict[str, Any]]  # date plus the requested fields; prices as decimal strings
    next_cursor: str | None


class HistoryQuery(RangeQuery, PageQuery):
    """Closing prices normalised to 100 over ``start``..``end``, ``limit`` days a page (40 years fit one)."""

    limit: Annotated[int, Field(ge=1, le=10_000)] = 10_000


class HistoryPoint(BaseModel):
    date: date
    value: float


class HistoryRead(BaseModel):
    symbol: str
    base: Literal[100] = 100
    start: date | None = Field(description="The first date in range: every page is normalised to its close.")
    items: list[HistoryPoint]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the days after this page; null on the last page."
    )


def _json_integer(value: object) -> object:
    """Lax ``int`` then takes 320193.0 and refuses 1.5; what is no JSON number at all is refused here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a JSON integer")
    return value


class UniverseChange(BaseModel):
    """PUT /v1/admin/universe/{symbol}: add the asset (created if new) or change it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[CleanText, Field(min_length=1, max_length=200)] | None = None
    asset_type: AssetType | None = None
    exchange: Annotated[CleanText, Field(max_length=32)] | None = None
    mic_code: Annotated[CleanText, Field(max_length=8)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    sector: Annotated[CleanText, Field(max_length=64)] | None = None
    # Strict like every body flag: JSON 0 or "no" is a mistake to name, not a value to guess at.
    in_universe: Annotated[bool, Field(strict=True)] = True
    is_benchmark: Annotated[bool, Field(strict=True)] | None = None
    is_active: Annotated[bool, Field(strict=True)] | None = Field(
        default=None, description="Unset: a new asset is active, a stored one keeps its state."
    )
    # A JSON integer only: true would be CIK 1, another company's filings; 320193.0 is JSON Schema's integer too.
    cik: Annotated[int, Field(ge=1, le=2_147_483_647), BeforeValidator(_json_integer)] | None = Field(
        default=None,
        description="SEC's Central Index Key, when the ticker is not in SEC's ticker map as written (unset: looked "
        "up there by ticker, a share class written BRK.B or BRK-B alike).",
    )


class RevisionSplit(BaseModel):
    date: date
    ratio: float = Field(description="New shares per old share.")


class RevisionRead(BaseModel):
    symbol: str
    first_changed: date = Field(description="The oldest date whose stored close changed.")
    factor: float = Field(description="Old close / new close where the overlap first differed (10 for a 10:1 split).")
    split: RevisionSplit | None = Field(
        None, description="The newly found split whose ratio is the factor, when one explains the revision."
    )


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    trigger: str
    requested_by: str | None
    status: str
    batches_total: int
    batches_done: int
    batches_failed: int
    rows_written: int
    dividends_written: int = Field(0, description="Dividends written: new, changed, or replaced with a history.")
    rows_rejected: int
    credits_used: int = Field(
        description="Provider credits the run's calls took from the shared budget: every page and every retry, "
        "failed batches included."
    )
    errors: dict[str, str]
    revisions: list[RevisionRead] = Field(
        default_factory=list, description="Symbols whose whole history was re-fetched and replaced, and why."
    )
    dividend_fallbacks: dict[str, str] = Field(
        default_factory=dict,
        description="Payers whose dividends could not be read off one call and took a second one (a credit "
        "more each), with the reason: why a refresh cost more than planned. At most "
        f"{MAX_FALLBACKS} symbols, each reason cut at {MAX_FALLBACK_REASON} characters.",
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunAccepted(BaseModel):
    run_id: uuid.UUID
    status: str
    joined: bool
    batches_total: int


class RunPage(BaseModel):
    items: list[RunRead]
    next_cursor: str | None


class FreshnessItem(BaseModel):
    symbol: str
    asset_type: str
    last_date: date | None
    checked_through: date | None
    expected_through: date
    stale: bool
    frozen: bool = Field(
        False,
        description="The close has not changed for the strategy's stale_feed_days trading days while other "
        "assets traded: a stale feed, not eligible for the index.",
    )


class FreshnessRead(BaseModel):
    expected_through: date
    stale_count: int
    frozen_feed_days: int
    frozen: list[str] = Field(default_factory=list, description="Symbols whose feed is frozen (see items).")
    items: list[FreshnessItem]


class ProviderUsageRead(BaseModel):
    provider: str
    minute_used: int
    minute_limit: int
    day_used: int
    day_limit: int
    minute_resets_in_s: float
    day_resets_in_s: float
    circuit: str


class PriceRead(BaseModel):
    date: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int | None
