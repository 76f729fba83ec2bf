"""The FastAPI factory every API function uses, and the Lambda handler built from it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.middleware.gzip import GZipMiddleware

from autoindex import __version__
from autoindex.observability import Handler, lambda_entry
from autoindex.settings import get_settings
from autoindex.web.body_limit import BodyLimitMiddleware
from autoindex.web.concurrency import ConcurrencyLimitMiddleware
from autoindex.web.middleware import RequestContextMiddleware
from autoindex.web.openapi import install_problem_openapi
from autoindex.web.problems import PROBLEM_JSON, ROUTE_METHODS, install_error_handlers
from autoindex.web.query_params import single_valued_query
from autoindex.web.ratelimit import rate_limit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Mangum base64-encodes any body whose type is not listed; JSON problems are text.
TEXT_MIME_TYPES = ["text/", "application/json", PROBLEM_JSON, "application/vnd.oai.openapi", "application/javascript"]


def create_app(
    routers: Sequence[APIRouter],
    *,
    title: str,
    rate_limit_policy: str | None = "default",
    openapi_url: str | None = None,
    body_limit: Literal["default", "auth"] = "default",
) -> FastAPI:
    """Build one route area's app: problem+json errors, request ids, security headers, CORS, gzip, rate limit.

    ``rate_limit_policy=None`` exempts the whole app (health checks); routes may add stricter
    policies of their own on top of the app-wide one. ``body_limit="auth"`` applies the smaller
    AUTH_MAX_BODY_BYTES cap to request bodies.
    """
    settings = get_settings()
    dependencies = [Depends(rate_limit(rate_limit_policy))] if rate_limit_policy else []
    dependencies.append(Depends(single_valued_query))
    app = FastAPI(
        title=f"AutoIndex {title}",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=openapi_url,
        dependencies=dependencies,
    )
    for router in routers:
        app.include_router(router)
    setattr(
        app.state,
        ROUTE_METHODS,
        [(r.path_regex, set(r.methods or ())) for router in routers for r in router.routes if isinstance(r, APIRoute)],
    )
    install_error_handlers(app)
    install_problem_openapi(app, routers, rate_limited=rate_limit_policy is not None)
    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_minimum_size)
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID", "If-None-Match"],
            expose_headers=[
                "X-Request-ID",
                "ETag",
                "RateLimit",
                "RateLimit-Policy",
                "Retry-After",
                "Link",
                "X-Next-Cursor",
            ],
            allow_credentials=False,  # the API authenticates by headers only, never cookies
            max_age=settings.cors_max_age_s,
        )
    max_body_bytes = settings.auth_max_body_bytes if body_limit == "auth" else settings.max_body_bytes
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    # Shed before any work (CORS, gzip, the route), but inside the request context: a 503 has its headers.
    app.add_middleware(ConcurrencyLimitMiddleware, limit=settings.max_concurrent_requests)
    # Added last, so it runs first: every response, preflights and 500s included, gets its headers.
    app.add_middleware(RequestContextMiddleware, hsts_max_age_s=settings.hsts_max_age_s)
    return app


def http_handler(app: FastAPI) -> Handler:
    """The Lambda entry for an API Gateway HTTP API (payload v2.0) in front of ``app``."""
    from mangum import Mangum

    from autoindex.web.snapstart import register_hooks

    adapter = Mangum(app, lifespan="off", text_mime_types=TEXT_MIME_TYPES)
    register_hooks()  # SnapStart: nothing pooled in the snapshot, fresh connections and randomness after restore

    @lambda_entry(kind="http")
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return adapter(without_stage(event), context)  # type: ignore[arg-type]

    return handler


def without_stage(event: dict[str, Any]) -> dict[str, Any]:
    """The event as routes expect it: on a named stage, API Gateway keeps ``/<stage>`` at the front of the path.

    The ``$default`` stage has no prefix. A named one (``prod``) sends ``/prod/v1/...``; every route
    is declared without it, so it is taken off here, once, for every function.
    """
    context = event.get("requestContext") or {}
    stage = context.get("stage")
    prefix = f"/{stage}"
    raw_path = event.get("rawPath") or ""
    if not stage or stage == "$default" or not (raw_path == prefix or raw_path.startswith(prefix + "/")):
        return event
    path = raw_path[len(prefix) :] or "/"
    http = {**(context.get("http") or {}), "path": path}
    return {**event, "rawPath": path, "requestContext": {**context, "http": http}}
