"""The domain error tree. Services raise these; the web layer maps them to RFC 9457 problems once.

``detail`` is always a message written for the client. Internal exception text never goes
into one: unexpected exceptions become a generic 500 and their traceback goes to the log.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error a client may see."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extensions = extensions or {}
        super().__init__(self.detail)


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "Bad Request"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not Found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "Precondition Failed"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation-failed", "Unprocessable Content"


class RateLimited(AppError):
    status, slug, title = 429, "rate-limited", "Too Many Requests"


class UpstreamError(AppError):
    status, slug, title = 502, "upstream-error", "Bad Gateway"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service Unavailable"
