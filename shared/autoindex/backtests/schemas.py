"""What the backtest routes take and give. Parameters name the live strategy's; unnamed ones keep the live values."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autoindex.index.engine.strategy import StrategyParams
from autoindex.schemas import IsoDate
from autoindex.settings import Settings, get_settings

Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9.\-]{0,11}(/[A-Z]{3})?$")]
Scheme = Literal["blend", "equal_weight"]
ReturnType = Literal["price", "total"]
Status = Literal["queued", "running", "succeeded", "failed"]


def _strategy_overrides_schema(schema: dict[str, Any]) -> None:
    """State the parameter rule in the schema: the live strategy's names, each with its own constraints.

    The body stays a plain object (unnamed parameters keep their live values, so none has a default here);
    the cross-field rules (blend weights summing to 1 once merged with the live ones) are the 422's.
    """
    params = StrategyParams.model_json_schema(ref_template="#/components/schemas/{model}")
    properties = {
        name: {k: v for k, v in prop.items() if k not in ("default", "title")}
        for name, prop in params["properties"].items()
    }
    schema.update(properties=properties, additionalProperties=False)


# The schema states the default BACKTEST_MAX_ASSETS; a deploy that lowers it refuses more (422).
_DEFAULT_MAX_ASSETS = Settings.model_fields["backtest_max_assets"].default
SymbolList = Annotated[
    list[Symbol], Field(min_length=1, json_schema_extra={"uniqueItems": True, "maxItems": _DEFAULT_MAX_ASSETS})
]


class BacktestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: dict[str, Any] = Field(
        default_factory=dict,
        description="Any parameters of the live strategy (GET /v1/strategy/config); the others keep their live values.",
        examples=[{"rebalance_frequency": "monthly", "momentum_lookback_days": 120}],
        json_schema_extra=_strategy_overrides_schema,
    )
    scheme: Scheme = Field(
        "blend", description="blend: the strategy's three schemes; equal_weight: equal weights among eligible assets."
    )
    symbols: SymbolList | None = Field(None, description="A subset of the universe (default: the whole live universe).")
    start: IsoDate | None = Field(None, description="First date of the reported range (default: the index's first).")
    end: IsoDate | None = Field(None, description="Last date of the reported range (default: the newest close).")
    return_type: ReturnType = Field(
        "price",
        description="price, or total: every cash distribution reinvested (the live total-return index's method).",
    )

    @field_validator("strategy")
    @classmethod
    def _known_parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(StrategyParams.model_fields))
        if unknown:
            raise ValueError(f"unknown strategy parameters: {', '.join(unknown)[:150]}")
        return value

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(set(value)) != len(value):
            raise ValueError("symbols must not repeat")
        limit = get_settings().backtest_max_assets
        if len(value) > limit:
            raise ValueError(f"at most {limit} symbols")
        return sorted(value)

    @model_validator(mode="after")
    def _range(self) -> BacktestCreate:
        if self.start and self.end and self.start > self.end:
            raise ValueError("start must not be after end")
        limit = get_settings().backtest_max_range_days
        if self.start and self.end and (self.end - self.start).days > limit:
            raise ValueError(f"the range may span at most {limit} days")
        return self


def resolve_params(live: dict[str, Any], body: BacktestCreate) -> StrategyParams:
    """The live parameters with the request's on top (and the scheme's blend); raises ValueError naming fields."""
    merged = {**live, **body.strategy}
    if body.scheme == "equal_weight":
        # Without market capitalisations the market-cap scheme is equal weights among eligible assets.
        merged.update(momentum_weight=0.0, market_cap_weight=1.0, risk_parity_weight=0.0)
    try:
        return StrategyParams.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "strategy"
        raise ValueError(f"strategy.{where}: {first['msg']}"[:200]) from None


class BacktestAccepted(BaseModel):
    id: uuid.UUID
    status: Status
    cached: bool = Field(description="Answered from an identical earlier backtest on the same data version.")
    joined: bool = Field(
        description="True when this Idempotency-Key had already created the backtest: nothing queued or counted again."
    )


class SeriesPoint(BaseModel):
    date: date
    value: float
    live: float | None = Field(description="The live index over the same range, rebased to 100 at its start.")
    benchmark: float | None = Field(description="The benchmark over the same range, rebased to 100 at its start.")


class AllocationRead(BaseModel):
    date: date
    trigger: str
    weights: dict[str, float]


class BacktestResult(BaseModel):
    assets: list[str]
    start: date
    end: date
    metrics: dict[str, Any] = Field(
        description="Risk metrics per period (inception, ytd, 1y, 3y) for the backtest, the live index and the "
        "benchmark over the same range."
    )
    series: list[SeriesPoint]
    allocations: list[AllocationRead]
    notes: list[str]


class BacktestSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: Status
    progress: float = Field(ge=0, le=1)
    cached: bool
    data_version: int
    params: dict[str, Any]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BacktestRead(BacktestSummary):
    result: BacktestResult | None


class BacktestList(BaseModel):
    items: list[BacktestSummary]
    next_cursor: str | None
