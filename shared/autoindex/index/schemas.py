"""The index, strategy and benchmark API's queries, bodies and responses."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from autoindex.index.engine.strategy import StrategyParams
from autoindex.schemas import CleanText, IsoDate, PageQuery, RangeQuery, check_range, field_list, fields_param

HISTORY_FIELDS = ("value", "daily_return", "drawdown")
ROLLING_WINDOWS = (30, 90)  # the engine's (engine.periods imports NumPy, so not imported here)


ReturnType = Literal["price", "total"]
RETURN_TYPE_DOC = (
    "`price` (the default): the index of closes alone. `total`: every dividend and coupon reinvested at its "
    "ex-date close in the asset that paid it, same rebalances (docs/index-method.md, Total return)."
)
BENCHMARK_TYPE_DOC = (
    "Whether the benchmark measured against is a price or a total-return series; SPX is a price index, so a "
    "total-return index is measured against price unless TOTAL_RETURN_BENCHMARK names an asset."
)


DATA_SOURCE_DOC = (
    "Where the prices behind these numbers came from: `twelvedata`, or `demo` for the synthetic market of the "
    "embedded default (not market data); `mixed` when both are stored."
)


def data_source_field() -> Any:
    return Field(None, description=DATA_SOURCE_DOC, examples=["demo"])


def return_type_param() -> Any:
    return Field("price", description=RETURN_TYPE_DOC)


NEXT_DAYS = "Pass as `cursor` for the days after this page; null on the last page."


class SeriesQuery(RangeQuery, PageQuery):
    """A daily series between ``start`` and ``end``, oldest first, ``limit`` days a page (40 years fit one)."""

    limit: Annotated[int, Field(ge=1, le=10_000)] = 10_000


class HistoryQuery(SeriesQuery):
    fields: Annotated[str | None, fields_param(HISTORY_FIELDS)] = None
    return_type: ReturnType = return_type_param()

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        return field_list(value, HISTORY_FIELDS)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.fields.split(",")) if self.fields else ("value",)


class AllocationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: IsoDate | None = None


class RiskMetricsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The validator's rule, stated in the schema too (a query string "30" is an int here, not a Literal).
    window: Annotated[int, Field(json_schema_extra={"enum": list(ROLLING_WINDOWS)})] = 30
    return_type: ReturnType = return_type_param()

    @field_validator("window")
    @classmethod
    def _known_window(cls, value: int) -> int:
        if value not in ROLLING_WINDOWS:
            raise ValueError(f"window must be one of {', '.join(map(str, ROLLING_WINDOWS))}")
        return value


class CompareQuery(RangeQuery):
    return_type: ReturnType = return_type_param()


CapSourceName = Literal["edgar", "fund_assets", "excluded", "equal_fallback"]
MarketCapLeg = Literal["market_caps", "partial", "equal_weights", "unused"]


class CapSource(BaseModel):
    source: CapSourceName = Field(
        description="edgar: shares from an SEC filing times the close; fund_assets: a fund's net assets; "
        "excluded: no capitalisation by rule, its market-cap share went to the others; equal_fallback: an "
        "equal share stood in because no capitalisation was known."
    )
    filed: dt.date | None = Field(None, description="The filing date of the share count used (edgar only).")


class Disclosure(BaseModel):
    """What the weights rest on. The market-cap third of the blend is equal weights whenever no
    capitalisations are known, and this says so wherever weights or parameters are served."""

    market_cap_leg: MarketCapLeg | None = Field(
        None,
        description="How the market-cap scheme was weighted at the rebalance: market_caps; partial (some assets "
        "fell back); equal_weights (no capitalisations at all); unused (the blend gives it no weight).",
    )
    market_cap_note: str | None = Field(None, description="Which assets fell back to equal weights, if any.")
    cap_sources: dict[str, CapSource] = Field(default_factory=dict, description="Per eligible asset.")
    skipped_rebalances: list[dt.date] = Field(
        default_factory=list, description="Scheduled dates on which no asset was eligible (holdings kept)."
    )
    notes: list[str] = Field(default_factory=list, description="The rebalance's notes: fallbacks, formation.")


class RebalanceRead(BaseModel):
    date: dt.date
    kind: Literal["formation", "rebalance", "skipped"]
    trigger: Literal["schedule", "drift", "request"]
    turnover: float | None
    cost: float | None = Field(description="Share of the index value paid in transaction costs.")
    market_cap_leg: str
    cap_sources: dict[str, CapSource]
    notes: list[str]


class RebalanceList(BaseModel):
    strategy_version: int
    items: list[RebalanceRead]
    next_cursor: str | None = Field(None, description=NEXT_DAYS)


class Allocation(BaseModel):
    symbol: str
    weight: float


class IndexCurrent(BaseModel):
    date: dt.date
    data_source: str | None = data_source_field()
    value: float
    strategy_version: int
    data_version: int
    rebalance_date: dt.date | None
    allocations: list[Allocation]  # drifted weights at the close of ``date``
    notes: list[str]
    disclosure: Disclosure = Field(default_factory=Disclosure)


class IndexHistory(BaseModel):
    strategy_version: int
    data_source: str | None = data_source_field()
    return_type: ReturnType = Field("price", description=RETURN_TYPE_DOC)
    base_date: dt.date
    items: list[dict[str, Any]] = Field(
        description="Each date with the fields asked for, in the order asked: `value` (the index level, 100 on "
        "`base_date`, whatever the range), `daily_return` (against the previous index date, also before the "
        "range) and `drawdown` (from the highest value since `base_date`, not since the range's start), so "
        "every page and range agrees with the whole series."
    )
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the days after this page; null on the last."
    )


class AllocationsRead(BaseModel):
    strategy_version: int
    data_source: str | None = data_source_field()
    date: dt.date
    rebalance_date: dt.date  # the rebalance in effect on ``date``; its weights come from data before it
    rebalance_trigger: Literal["schedule", "drift", "request"] = Field(
        "schedule", description="Why that rebalance happened: its schedule, a drift band, or an operator's request."
    )
    allocations: list[Allocation]
    disclosure: Disclosure = Field(default_factory=Disclosure, description="Of the rebalance in effect.")


class Currency(BaseModel):
    code: str
    fx_symbol: str | None  # None for USD, the index's own currency
    first_date: dt.date | None
    last_date: dt.date | None


class CurrencyList(BaseModel):
    base: Literal["USD"] = "USD"
    items: list[Currency]


class BenchmarkSeriesPoint(BaseModel):
    date: dt.date
    value: float = Field(description="The benchmark normalised to 100 on the first date of the range.")
    close: str | None = Field(
        description="The benchmark asset's close in force on the date (decimal string): its last close on or "
        "before it. Null when the benchmark is not one asset's closes: a blend, or a total-return benchmark."
    )


class BenchmarkSeriesQuery(SeriesQuery):
    return_type: ReturnType = return_type_param()


class BenchmarkSeries(BaseModel):
    """The served strategy's benchmark on every index date of the range: the one compare measures against."""

    benchmark: str = Field(description="Its name: the benchmark asset's symbol, or the blend it is.")
    symbol: str | None = Field(description="The one stored asset it is; null for a blend.")
    return_type: ReturnType = Field("price", description=RETURN_TYPE_DOC)
    benchmark_return_type: ReturnType = Field("price", description=BENCHMARK_TYPE_DOC)
    base: Literal[100] = 100
    items: list[BenchmarkSeriesPoint]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the days after this page; null on the last."
    )


class PeriodRiskMetrics(BaseModel):
    """The risk metrics of one period (docs/index-method.md, "Risk metrics").

    For a period under a year the annualised figures (CAGR, volatility, Sharpe, Sortino, Calmar,
    alpha, tracking error, information ratio) are null, ``annualized`` is false and ``reason`` says why:
    GIPS does not annualise such periods. ``total_return`` is the cumulative return over the period.
    """

    start_date: dt.date
    end_date: dt.date
    observations: int
    total_return: float | None
    annualized_return: float | None = Field(None, description="CAGR; null for a period under a year.")
    annualized_volatility: float | None = Field(None, description="Null for a period under a year.")
    sharpe_ratio: float | None = Field(None, description="Null for a period under a year.")
    sortino_ratio: float | None = Field(None, description="Null for a period under a year.")
    max_drawdown: float | None = None
    max_drawdown_peak_date: dt.date | None = None
    max_drawdown_trough_date: dt.date | None = None
    max_drawdown_recovery_date: dt.date | None = None
    current_drawdown: float | None = None
    calmar_ratio: float | None = None
    var_95: float | None = None
    cvar_95: float | None = None
    var_99: float | None = None
    cvar_99: float | None = None
    beta: float | None = None
    alpha: float | None = None
    correlation: float | None = None
    tracking_error: float | None = None
    information_ratio: float | None = None
    annualized: bool = Field(True, description="False for a period under a year: annualised figures are null.")
    reason: str | None = Field(None, description="Why the annualised figures are null, when they are.")


class BenchmarkCompare(BaseModel):
    benchmark: str
    data_source: str | None = data_source_field()
    return_type: ReturnType = Field("price", description=RETURN_TYPE_DOC)
    benchmark_return_type: ReturnType = Field("price", description=BENCHMARK_TYPE_DOC)
    strategy_version: int
    start: dt.date
    end: dt.date
    index: PeriodRiskMetrics
    benchmark_metrics: PeriodRiskMetrics  # the relative figures (beta, alpha, ...) are null
    difference: dict[str, float | None]  # index minus benchmark, for the figures both have


class RiskMetricsRead(BaseModel):
    strategy_version: int
    data_source: str | None = data_source_field()
    as_of: dt.date
    benchmark: str | None
    return_type: ReturnType = Field("price", description=RETURN_TYPE_DOC)
    benchmark_return_type: ReturnType = Field("price", description=BENCHMARK_TYPE_DOC)
    # {"index": {"inception"|"ytd"|"1y"|"3y": metrics or null}, "benchmark": {...} or null}
    periods: dict[str, dict[str, PeriodRiskMetrics | None] | None]
    rolling: dict[str, Any]  # {"window": w, "items": [...]}


# The string form the schema documents for a Decimal (pydantic's own pattern): digits with an optional point,
# no exponent. Pydantic's parser would also read "1e5"; an amount of money is written out in full.
_DECIMAL_TEXT = re.compile(r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$", re.ASCII)


def _plain_decimal(value: object) -> object:
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value):
        raise ValueError("must be a decimal number written out in full (digits and an optional point, no exponent)")
    return value


class SimulationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[Decimal, Field(gt=0, le=Decimal(10**12), allow_inf_nan=False), BeforeValidator(_plain_decimal)]
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    start_date: IsoDate
    end_date: IsoDate | None = None
    return_type: ReturnType = return_type_param()

    @model_validator(mode="after")
    def _range(self) -> SimulationRequest:
        check_range(self.start_date, self.end_date)
        return self


Money = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="A decimal string rounded to the currency's ISO 4217 minor units (JPY 0, EUR 2, KWD 3).",
        examples=["1000.00"],
    ),
]


class SimulationRead(BaseModel):
    currency: str
    data_source: str | None = data_source_field()
    amount: Money
    start_date: dt.date
    end_date: dt.date
    start_value: Money
    end_value: Money
    roi: float | None  # None when the start value is zero
    start_value_usd: Money
    end_value_usd: Money
    roi_usd: float | None
    strategy_version: int
    return_type: ReturnType = Field("price", description=RETURN_TYPE_DOC)
    series: list[dict[str, Any]]


class StrategyChange(BaseModel):
    """PUT /v1/strategy/config: the complete new parameters (omitted ones take the defaults) and why."""

    model_config = ConfigDict(extra="forbid")

    params: StrategyParams
    reason: Annotated[CleanText, Field(min_length=3, max_length=500)]


class StrategyVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    params: dict[str, Any]
    author: str | None = Field(default=None, description="Who made the version; shown to admins only.")
    reason: str
    created_at: dt.datetime
    is_active: bool
    disclosure: Disclosure | None = Field(
        None, description="What the served index of this version rests on; null until it has been computed."
    )


class StrategyAccepted(BaseModel):
    version: int
    compute_run_id: uuid.UUID
    status: str


class StrategyHistory(BaseModel):
    items: list[StrategyVersionRead]
    next_cursor: str | None
