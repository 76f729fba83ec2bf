"""``Annotated`` dependency aliases shared by every route module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from autoindex.db.uow import UnitOfWork
from autoindex.identity.principal import RequestMeta
from autoindex.web.problems import request_id_of
from autoindex.web.ratelimit import client_ip


async def _write_uow() -> UnitOfWork:
    return UnitOfWork()


async def _read_uow() -> UnitOfWork:
    return UnitOfWork(read_only=True)


async def _request_meta(request: Request) -> RequestMeta:
    return RequestMeta(request_id=request_id_of(request), source_ip=client_ip(request))


# A unit of work that is not open yet: the service opens it, so it commits before the response is sent.
UowDep = Annotated[UnitOfWork, Depends(_write_uow)]
ReadUowDep = Annotated[UnitOfWork, Depends(_read_uow)]
RequestMetaDep = Annotated[RequestMeta, Depends(_request_meta)]
