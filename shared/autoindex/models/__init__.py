"""SQLAlchemy mapped classes, one module per aggregate. Importing this package registers them all."""

from autoindex.models.audit import AuditEvent
from autoindex.models.identity import ApiKey, RefreshToken, User
from autoindex.models.market import Asset, DailyPrice
from autoindex.models.pipeline import ProcessedEvent, RefreshBatch, RefreshRun
from autoindex.models.strategy import (
    ComputeRun,
    IndexAllocation,
    IndexEngineState,
    IndexMetric,
    IndexPublication,
    IndexValue,
    StrategyVersion,
)

__all__ = [
    "ApiKey",
    "Asset",
    "AuditEvent",
    "ComputeRun",
    "DailyPrice",
    "IndexAllocation",
    "IndexEngineState",
    "IndexMetric",
    "IndexPublication",
    "IndexValue",
    "ProcessedEvent",
    "RefreshBatch",
    "RefreshRun",
    "RefreshToken",
    "StrategyVersion",
    "User",
]
