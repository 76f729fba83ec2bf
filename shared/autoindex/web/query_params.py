"""Refuse a repeated single-valued query parameter (``limit=2&limit=3``) instead of silently using one of them.

Starlette keeps every value and FastAPI reads the last, so ``fields=a&fields=b`` meant ``fields=b``: a
client's mistake answered as if it were fine. One app-wide dependency checks the parameters the matched
operation declares; a list-typed parameter may repeat. An undeclared parameter is not this module's
concern: where the query is a model (``PageQuery`` and the lists built on it, ``extra="forbid"``) it is
refused with a 422 ``extra_forbidden``, repeated or not; an operation with plain parameters ignores it.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

if TYPE_CHECKING:
    from fastapi.dependencies.models import Dependant

_LISTS = (list, set, tuple, frozenset)


def _single_valued(annotation: Any) -> bool:
    return get_origin(annotation) not in _LISTS and annotation not in _LISTS


_ATTRIBUTE = "autoindex_single_valued_query"  # kept on the route: routes are unhashable, and live with their app


def _declared(route: APIRoute) -> frozenset[str]:
    """The single-valued query parameters of an operation, through its dependencies and query models."""
    known: frozenset[str] | None = getattr(route, _ATTRIBUTE, None)
    if known is not None:
        return known
    names: set[str] = set()
    stack: list[Dependant] = [route.dependant]
    while stack:
        current = stack.pop()
        stack.extend(current.dependencies)
        for field in current.query_params:
            annotation = field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query model (PageQuery)
                names.update(
                    info.alias or name
                    for name, info in annotation.model_fields.items()
                    if _single_valued(info.annotation)
                )
            elif _single_valued(annotation):
                names.add(field.alias)
    setattr(route, _ATTRIBUTE, frozenset(names))
    return frozenset(names)


async def single_valued_query(request: Request) -> None:
    """422 naming each declared, non-list query parameter given more than once.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency on a worker thread, a hop
    every request would pay (it made the cached history read 2-3x slower).
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = [name for name, count in counts.items() if count > 1]
    if not repeated:
        return
    declared = _declared(route)
    errors = [
        {
            "type": "repeated_parameter",
            "loc": ("query", name),
            "msg": f"{name} may be given once; it was given {counts[name]} times.",
            "input": request.query_params.getlist(name),
        }
        for name in repeated
        if name in declared
    ]
    if errors:
        raise RequestValidationError(errors)
