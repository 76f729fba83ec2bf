"""Values read from Redis ahead of need, in the request's one round trip.

A cached read needs the principal, the rate-limit decision and (on the index API) the read
cache's current version. The authentication fast path (``autoindex.auth.fast_path``) asks for all
of them in one script; a module that will want a key later in the request registers it here at
import (the read cache registers its version key), and takes its value instead of sending a
``GET`` of its own. Values live in a context variable, so each request sees only its own, and a
value is taken at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

_wanted: list[Callable[[], str]] = []
_fetched: ContextVar[dict[str, bytes | None] | None] = ContextVar("redis_prefetched", default=None)


def register(key: Callable[[], str]) -> None:
    """Ask for ``key()`` (evaluated per request: settings may change) in every prefetching round trip."""
    if key not in _wanted:
        _wanted.append(key)


def wanted() -> list[str]:
    """The keys to fetch ahead for this request."""
    return [key() for key in _wanted]


def remember(values: dict[str, bytes | None]) -> None:
    """Keep this request's prefetched values (an empty dict forgets any)."""
    _fetched.set(values or None)


def take(key: str) -> tuple[bool, bytes | None]:
    """(True, value) when ``key`` was fetched for this request (None: it does not exist), else (False, None)."""
    fetched = _fetched.get()
    if fetched is None or key not in fetched:
        return False, None
    return True, fetched.pop(key)
