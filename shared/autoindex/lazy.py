"""A module imported on its first use, for route modules: the route names its service at import, and the service
(SQLAlchemy, the ORM models) loads when a request first needs it. A cold start whose first request is answered
without the database (a 404, a 401, a preflight, a health probe through the catch-all) does not pay for it.

Typed code imports the real module under ``TYPE_CHECKING`` and binds :func:`lazy`'s proxy otherwise, so mypy
checks every call against the module itself.
"""

from __future__ import annotations

import importlib
from typing import Any


class _LazyModule:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # import_module holds the import lock, so concurrent first uses load the module once.
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


def lazy(name: str) -> Any:
    """A stand-in for ``import name`` that imports on the first attribute access."""
    return _LazyModule(name)
