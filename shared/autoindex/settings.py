"""All configuration, in one validated object.

Nothing else in the package reads ``os.environ``. Every field is read from the
environment variable of the same name in upper case (``DB_POOL_SIZE`` for
``db_pool_size``); docs/configuration.md lists them all.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

FailMode = Literal["open", "closed"]


class ConfigurationError(RuntimeError):
    """Raised at start-up when a setting is missing or invalid; names the variable, never echoes a secret."""


class RateLimitPolicy(BaseModel):
    """A named rate-limit policy: at most ``limit`` decisions per ``window_s`` seconds per key."""

    limit: Annotated[int, Field(ge=1, le=1_000_000)]
    window_s: Annotated[int, Field(ge=1, le=86_400)]
    fail_mode: FailMode = "open"


DEFAULT_RATE_LIMIT_POLICIES: dict[str, RateLimitPolicy] = {
    # Route-group policies count per caller: the IP when anonymous, the account or key once verified.
    # Reads: generous, and they may go on when Redis is down.
    "default": RateLimitPolicy(limit=120, window_s=60, fail_mode="open"),
    # Credential endpoints: strict, and closed when Redis is down (no brute force through an outage).
    "auth": RateLimitPolicy(limit=10, window_s=60, fail_mode="closed"),
    "login": RateLimitPolicy(limit=5, window_s=300, fail_mode="closed"),
    "register": RateLimitPolicy(limit=5, window_s=3_600, fail_mode="closed"),
    "admin": RateLimitPolicy(limit=60, window_s=60, fail_mode="closed"),
    # Once the caller is verified: per account and per API key, with the route group's policy.
    "user": RateLimitPolicy(limit=600, window_s=60, fail_mode="open"),
    "api_key": RateLimitPolicy(limit=600, window_s=60, fail_mode="open"),
}


# The route groups GET /v1/usage counts (the first path segment after /v1/; anything else is "other").
USAGE_GROUPS = (
    "index",
    "benchmark",
    "currencies",
    "assets",
    "strategy",
    "backtests",
    "webhooks",
    "usage",
    "auth",
    "admin",
    "other",
)


class Settings(BaseSettings):
    """The product's settings, with the documented defaults of the embedded local mode."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    # --- identity of this deployment
    stage: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")] = "local"
    service_name: str = "autoindex"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    tracing_enabled: bool = False
    metrics_namespace: Annotated[str, Field(min_length=1, max_length=255)] = "AutoIndex"

    # --- database: PostgreSQL (pg8000) in production and tests; a SQLite file when DATABASE_URL is unset
    database_url: SecretStr | None = None
    database_read_url: SecretStr | None = None
    database_secret_arn: str | None = None
    # RDS Proxy: the secret holds the instance's host; the functions connect through the proxy's endpoint instead.
    database_proxy_endpoint: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")] | None = None
    # The replica's URL read from Secrets Manager at run time (never a plain environment value in AWS).
    database_read_url_secret_arn: str | None = None
    embedded_database_path: Path = Path("var/autoindex.sqlite3")
    db_pool_size: Annotated[int, Field(ge=1, le=50)] = 1
    db_max_overflow: Annotated[int, Field(ge=0, le=50)] = 0
    db_pool_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    db_pool_recycle_s: Annotated[int, Field(ge=30, le=86_400)] = 300
    db_connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    db_statement_timeout_ms: Annotated[int, Field(ge=100, le=900_000)] = 15_000
    db_null_pool: bool = False  # behind RDS Proxy the proxy pools; the Lambda should not
    db_ssl: bool = False
    db_ssl_ca_file: Path | None = None

    # --- Redis (ElastiCache); in-process storage when REDIS_URL is unset
    redis_url: SecretStr | None = None
    redis_socket_timeout_s: Annotated[float, Field(gt=0, le=10)] = 0.25
    redis_connect_timeout_s: Annotated[float, Field(gt=0, le=10)] = 0.25
    # ElastiCache Serverless and cluster-mode groups speak the Redis Cluster protocol (MOVED, slots).
    redis_cluster: bool = False

    # --- rate limiting
    rate_limit_enabled: bool = True
    rate_limit_policies: dict[str, RateLimitPolicy] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMIT_POLICIES))
    rate_limit_key_prefix: str = "rl"
    trust_forwarded_for: bool = False
    trusted_proxy_count: Annotated[int, Field(ge=1, le=10)] = 1

    # --- HTTP
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_max_age_s: Annotated[int, Field(ge=0, le=86_400)] = 600
    hsts_max_age_s: Annotated[int, Field(ge=0, le=63_072_000)] = 31_536_000
    gzip_minimum_size: Annotated[int, Field(ge=0)] = 1_024
    max_page_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    max_concurrent_requests: Annotated[int, Field(ge=0, le=10_000)] = 16
    runner_body_deadline_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    runner_header_deadline_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    # Request bodies past these sizes get a 413 before anything parses them (auth routes take no large input).
    max_body_bytes: Annotated[int, Field(ge=1_024, le=6_291_456)] = 1_048_576
    auth_max_body_bytes: Annotated[int, Field(ge=1_024, le=6_291_456)] = 65_536

    # --- caching
    cache_ttl_s: Annotated[int, Field(ge=1, le=604_800)] = 3_600

    # --- identity: secrets from the environment locally, from Secrets Manager in AWS (the *_SECRET_ARN wins there)
    jwt_signing_key: SecretStr | None = None
    jwt_signing_key_secret_arn: str | None = None
    api_key_pepper: SecretStr | None = None
    api_key_pepper_secret_arn: str | None = None
    jwt_issuer: str = "autoindex"
    jwt_audience: str = "autoindex-api"
    access_token_ttl_s: Annotated[int, Field(ge=60, le=3_600)] = 900
    refresh_token_ttl_s: Annotated[int, Field(ge=3_600, le=90 * 86_400)] = 30 * 86_400
    session_max_age_s: Annotated[int, Field(ge=3_600, le=365 * 86_400)] = 30 * 86_400
    bcrypt_rounds: Annotated[int, Field(ge=4, le=16)] = 12
    api_key_daily_quota: Annotated[int, Field(ge=1)] = 10_000
    api_key_max_per_user: Annotated[int, Field(ge=1, le=1_000)] = 20
    api_key_max_ttl_days: Annotated[int, Field(ge=1, le=3_650)] = 365
    principal_cache_ttl_s: Annotated[int, Field(ge=0, le=3_600)] = 60
    principal_cache_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "pc"

    # --- events and the refresh pipeline: in-process locally, EventBridge and SQS in AWS
    event_transport: Literal["local", "aws"] = "local"
    event_bus_name: Annotated[str, Field(min_length=1, max_length=256)] = "default"
    event_source: str = "autoindex"
    ingest_queue_url: str | None = None
    history_start: date = date(2018, 1, 1)
    refresh_batch_symbols: Annotated[int, Field(ge=1, le=120)] = 8
    refresh_max_bars_per_call: Annotated[int, Field(ge=1, le=5_000)] = 5_000
    # Each refresh asks again for a symbol's newest stored bars: a split or a provider revision shows up there.
    refresh_overlap_bars: Annotated[int, Field(ge=0, le=60)] = 5
    # Relative difference between a stored and a re-fetched close that counts as a revision.
    revision_tolerance: Annotated[float, Field(ge=0, le=0.5)] = 1e-6
    ingest_max_receives: Annotated[int, Field(ge=1, le=100)] = 5  # the queue's maxReceiveCount
    # Kept free at the end of an ingest invocation for storing and committing a batch after its provider call.
    ingest_store_margin_s: Annotated[float, Field(ge=1, le=300)] = 20.0
    # --- retention: the weekly maintenance job deletes rows dead for longer than this (audit_events: never)
    retention_refresh_tokens_days: Annotated[int, Field(ge=1, le=3_650)] = 30
    retention_refresh_runs_days: Annotated[int, Field(ge=1, le=3_650)] = 180
    retention_compute_runs_days: Annotated[int, Field(ge=1, le=3_650)] = 180
    # The ledger must outlive every redelivery: EventBridge retries for 1 h, the ingest queue keeps a message 4 days.
    retention_processed_events_days: Annotated[int, Field(ge=5, le=3_650)] = 14
    retention_api_keys_days: Annotated[int, Field(ge=1, le=3_650)] = 365
    retention_webhook_deliveries_days: Annotated[int, Field(ge=1, le=3_650)] = 30
    retention_backtests_days: Annotated[int, Field(ge=1, le=3_650)] = 90
    # --- index engine: compute job, risk metrics, simulation, versioned read cache
    risk_free_rate: Annotated[float, Field(ge=-0.1, le=1.0)] = 0.0  # annual, de-annualised geometrically
    compute_statement_timeout_ms: Annotated[int, Field(ge=1_000, le=3_600_000)] = 300_000
    ingest_statement_timeout_ms: Annotated[int, Field(ge=1_000, le=3_600_000)] = 120_000
    simulation_max_fx_age_days: Annotated[int, Field(ge=0, le=31)] = 5
    index_max_range_days: Annotated[int, Field(ge=1, le=36_600)] = 11_000
    index_cache_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "ix"
    index_cache_version_ttl_s: Annotated[int, Field(ge=1, le=3_600)] = 30
    index_cache_local_max_entries: Annotated[int, Field(ge=1, le=100_000)] = 512
    index_cache_local_max_bytes: Annotated[int, Field(ge=0, le=1_073_741_824)] = 33_554_432
    market_timezone: str = "America/New_York"

    # --- market-data provider plan (Twelve Data Basic: 8 credits a minute, 800 a day)
    provider_credits_per_minute: Annotated[int, Field(ge=1)] = 8
    provider_credits_per_day: Annotated[int, Field(ge=1)] = 800
    # --- market-data provider: which one, the shared credit budget and circuit, the Twelve Data client
    # Unset means "demo" only in the local stage; anywhere else it must be named (demo prices are synthetic).
    market_data_provider: Literal["demo", "twelvedata"] | None = None
    provider_key_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "provider"
    provider_budget_max_wait_s: Annotated[float, Field(ge=0, le=900)] = 65.0
    provider_budget_guard_ms: Annotated[int, Field(ge=0, le=10_000)] = 1_000
    provider_circuit_failure_threshold: Annotated[int, Field(ge=1, le=100)] = 5
    provider_circuit_window_s: Annotated[int, Field(ge=1, le=3_600)] = 60
    provider_circuit_cooldown_s: Annotated[int, Field(ge=1, le=3_600)] = 30
    twelvedata_base_url: str = "https://api.twelvedata.com"
    twelvedata_api_key: SecretStr | None = None
    twelvedata_api_key_secret_arn: str | None = None  # in AWS: read at run time, never put in the environment
    twelvedata_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    twelvedata_connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    twelvedata_retry_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    twelvedata_retry_backoff_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    twelvedata_retry_backoff_max_s: Annotated[float, Field(ge=0, le=300)] = 8.0
    twelvedata_minute_limit_retries: Annotated[int, Field(ge=0, le=5)] = 2
    twelvedata_close_settle_min: Annotated[int, Field(ge=0, le=720)] = 30
    # --- corporate actions and total return (docs/index-method.md "Total return")
    # derived: dividends from the adjust=all vs adjust=splits closes (one more credit per symbol);
    # endpoint: Twelve Data's /dividends where the plan has it; off: price return only.
    twelvedata_dividends: Literal["derived", "endpoint", "off"] = "derived"
    # A stored asset whose total return (closes plus dividends) is the benchmark of the total-return index,
    # e.g. SPY; unset: the price benchmark, and responses say benchmark_return_type "price".
    total_return_benchmark: Annotated[str | None, Field(min_length=1, max_length=32)] = None
    # --- share counts for the market-cap leg (docs/index-method.md "Market capitalisation")
    # Unset: the demo market's filings when MARKET_DATA_PROVIDER is demo, else SEC EDGAR.
    share_count_source: Literal["demo", "edgar"] | None = None
    edgar_base_url: str = "https://data.sec.gov"
    edgar_user_agent: Annotated[str | None, Field(max_length=200)] = None  # "Operator Name contact@example.com"
    # SEC allows 10 a second; 8 leaves room for arrivals later than their slots (ratelimit/pace.py).
    edgar_max_rps: Annotated[float, Field(gt=0, le=10)] = 8.0
    # The ticker -> CIK map for stocks an admin adds, cached for days. Unset: SEC's (on www.sec.gov) beside
    # SEC's data API, else <EDGAR_BASE_URL>/files/company_tickers.json (the fake).
    edgar_tickers_url: str | None = None
    edgar_ticker_map_ttl_h: Annotated[int, Field(ge=1, le=720)] = 72
    # EDGAR's circuit, shared through Redis: failed documents in a row to open it; how long it stays open.
    edgar_circuit_failures: Annotated[int, Field(ge=1, le=100)] = 3
    edgar_circuit_cooldown_s: Annotated[int, Field(ge=1, le=86_400)] = 600  # SEC's block lasts 10 minutes

    # --- B2B: webhooks, backtests, exports (issue 14; docs/webhooks.md, docs/backtests.md, docs/exports.md)
    webhook_queue_url: str | None = None
    backtest_queue_url: str | None = None
    export_bucket: str | None = None
    # Private, loopback and link-local receivers only for local development and tests (never in AWS).
    webhook_allow_private: bool = False
    webhook_timeout_s: Annotated[float, Field(gt=0, le=30)] = 5.0
    webhook_signature_tolerance_s: Annotated[int, Field(ge=1, le=3_600)] = 300
    webhook_secret_grace_s: Annotated[int, Field(ge=0, le=7 * 86_400)] = 86_400
    # Retries: backoff with jitter from the base up to the cap, for the window; then the endpoint is disabled.
    webhook_retry_window_s: Annotated[float, Field(gt=0, le=7 * 86_400)] = 86_400.0
    webhook_retry_base_s: Annotated[float, Field(gt=0, le=3_600)] = 30.0
    webhook_retry_max_s: Annotated[float, Field(gt=0, le=86_400)] = 3_600.0
    webhook_max_per_user: Annotated[int, Field(ge=1, le=1_000)] = 20
    backtest_max_range_days: Annotated[int, Field(ge=30, le=36_600)] = 7_320
    backtest_max_assets: Annotated[int, Field(ge=1, le=500)] = 50
    backtest_max_concurrent_per_key: Annotated[int, Field(ge=1, le=100)] = 2
    backtest_daily_quota: Annotated[int, Field(ge=1, le=100_000)] = 100
    # How long an Idempotency-Key names the backtest it created (Stripe keeps keys 24 hours).
    backtest_idempotency_hours: Annotated[int, Field(ge=1, le=2_160)] = 24
    # CSV exports with more rows than this go to EXPORT_BUCKET and are answered 303 to a presigned URL.
    export_inline_max_rows: Annotated[int, Field(ge=1, le=1_000_000)] = 5_000
    export_url_ttl_s: Annotated[int, Field(ge=60, le=604_800)] = 900

    @field_validator("twelvedata_base_url")
    @classmethod
    def _provider_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        # The API key travels in a header: plain http only to a fake on this machine.
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise ValueError("must be an https URL (http only for 127.0.0.1 or localhost)")
        return value.rstrip("/")

    @field_validator("tracing_enabled")
    @classmethod
    def _tracer_installed(cls, value: bool) -> bool:
        import importlib.util

        if value and importlib.util.find_spec("aws_xray_sdk") is None:
            raise ValueError("needs the X-Ray SDK (aws-lambda-powertools[tracer]), which the layer does not ship")
        return value

    @model_validator(mode="after")
    def _provider_named_outside_local(self) -> Settings:
        if self.market_data_provider is None:
            if self.stage != "local":
                raise ValueError(
                    "MARKET_DATA_PROVIDER is required outside the local stage: 'twelvedata', or 'demo' to serve "
                    "synthetic prices on purpose"
                )
            object.__setattr__(self, "market_data_provider", "demo")
        return self

    @model_validator(mode="after")
    def _provider_key_present(self) -> Settings:
        keyless = self.twelvedata_api_key is None and self.twelvedata_api_key_secret_arn is None
        if self.market_data_provider == "twelvedata" and keyless:
            raise ValueError(
                "TWELVEDATA_API_KEY or TWELVEDATA_API_KEY_SECRET_ARN is required when MARKET_DATA_PROVIDER=twelvedata"
            )
        return self

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _no_wildcard_origin(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*" or not origin.startswith(("https://", "http://")):
                raise ValueError(f"each origin must be an explicit http(s) origin, got {origin!r}")
        return value

    @field_validator("rate_limit_policies", mode="after")
    @classmethod
    def _merge_policy_defaults(cls, value: dict[str, RateLimitPolicy]) -> dict[str, RateLimitPolicy]:
        # An override names only the policies it changes; the others keep their defaults.
        return {**DEFAULT_RATE_LIMIT_POLICIES, **value}

    @model_validator(mode="after")
    def _api_key_quota_policy(self) -> Settings:
        # The daily quota is a policy like the others, set by API_KEY_DAILY_QUOTA; a clock-aligned day is a UTC day.
        self.rate_limit_policies["api_key_daily"] = RateLimitPolicy(
            limit=self.api_key_daily_quota, window_s=86_400, fail_mode="open"
        )
        # Not limits: the per-route-group request counts GET /v1/usage reports, counted in the same round trip.
        for group in USAGE_GROUPS:
            self.rate_limit_policies[f"usage_{group}"] = RateLimitPolicy(
                limit=1_000_000, window_s=86_400, fail_mode="open"
            )
        return self

    @model_validator(mode="after")
    def _embedded_only_locally(self) -> Settings:
        if self.stage != "local" and self.database_url is None and self.database_secret_arn is None:
            raise ValueError("DATABASE_URL or DATABASE_SECRET_ARN is required outside the local stage")
        if self.event_transport == "aws" and self.ingest_queue_url is None:
            raise ValueError("INGEST_QUEUE_URL is required when EVENT_TRANSPORT=aws")
        return self

    @field_validator("embedded_database_path")
    @classmethod
    def _anchored_to_the_project(cls, value: Path) -> Path:
        # `autoindex migrate` run from another folder must find the same database, not make a new one there.
        return value if value.is_absolute() else project_root() / value

    @field_validator("market_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("jwt_signing_key", "api_key_pepper")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes")
        return value

    @model_validator(mode="after")
    def _private_webhooks_only_locally(self) -> Settings:
        if self.webhook_allow_private and self.stage not in ("local", "test"):
            raise ValueError("WEBHOOK_ALLOW_PRIVATE=true is only for the local and test stages")
        return self

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None and self.database_secret_arn is None


def project_root() -> Path:
    """The checkout this package runs from (the folder holding template.yaml), else the working directory."""
    checkout = Path(__file__).resolve().parents[2]  # shared/autoindex/settings.py -> the checkout
    return checkout if (checkout / "template.yaml").is_file() else Path.cwd()


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = "_".join(str(part) for part in item["loc"]).upper() or "SETTINGS"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)


@functools.cache
def get_settings() -> Settings:
    """Read and validate the settings once per process; raise ConfigurationError naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(f"invalid configuration: {_describe(exc)}") from None
