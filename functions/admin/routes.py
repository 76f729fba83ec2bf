"""Operator routes. Every one needs the `admin` scope."""

from __future__ import annotations

from typing import Annotated

from autoindex.auth.deps import AdminPrincipal
from autoindex.schemas.audit import AuditPage, AuditQuery
from autoindex.services import audit_log
from autoindex.web.deps import ReadUowDep
from autoindex.web.ratelimit import rate_limit
from fastapi import APIRouter, Depends, Query

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(rate_limit("admin"))])


@router.get("/audit")
def read_audit(_: AdminPrincipal, query: Annotated[AuditQuery, Query()], uow: ReadUowDep) -> AuditPage:
    """The audit trail, newest first, filtered and cursor-paginated."""
    return audit_log.list_events(uow=uow, query=query)
