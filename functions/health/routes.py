"""Liveness and readiness."""

from __future__ import annotations

from typing import Any, Literal

from autoindex import __version__
from autoindex.ops.health import readiness
from autoindex.settings import get_settings
from autoindex.web.problems import problem_response, request_id_of
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"]
    version: str
    stage: str


class ReadinessRead(BaseModel):
    status: Literal["ready"]
    checks: dict[str, dict[str, Any]]


@router.get("")
def live() -> Liveness:
    """Liveness: the function answers; touches no dependency."""
    return Liveness(status="ok", version=__version__, stage=get_settings().stage)


@router.get("/ready", response_model=ReadinessRead, responses={503: {"description": "a required dependency is down"}})
def ready(request: Request) -> Response:
    """Readiness: database and Redis, each with its latency; 503 naming what is down."""
    report = readiness()
    if report.ready:
        return JSONResponse(ReadinessRead(status="ready", checks=report.as_dict()).model_dump(mode="json"))
    return problem_response(
        status=503,
        detail=f"Not ready: {', '.join(report.failing)} unavailable.",
        instance=request.url.path,
        request_id=request_id_of(request),
        headers={"Retry-After": "5", "Cache-Control": "no-store"},
        extensions={"checks": report.as_dict()},
    )
