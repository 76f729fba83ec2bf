"""The migrate job: bring the database schema to a revision (Alembic ships with this function only).

Two callers. A deploy pipeline invokes it directly (``{}`` for head, or ``{"revision": "0007"}``) and reads the
revision it answers. CloudFormation invokes it through the ``MigrateOnDeploy`` custom resource on stack create and
on every new shared layer version (the migrations live in the layer); it is answered at the pre-signed
``ResponseURL``, and a failure there fails the deploy instead of leaving the functions on an old schema.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from autoindex.observability import lambda_entry, logger

_RESPONSE_TIMEOUT_S = 30


def _migrate(revision: str) -> str | None:
    from autoindex.db.engine import write_engine
    from autoindex.migrations import migrate

    engine = write_engine()
    migrate.upgrade(engine, revision)
    return migrate.current_revision(engine)


def _answer_cloudformation(event: dict[str, Any], status: str, reason: str, data: dict[str, str]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or "autoindex-schema",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    url = str(event["ResponseURL"])
    if not url.startswith(("https://", "http://127.0.0.1")):  # CloudFormation's pre-signed S3 URL (or a local fake)
        raise ValueError("the custom resource's ResponseURL is not an https URL")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=_RESPONSE_TIMEOUT_S):  # noqa: S310 - scheme checked above
        pass


def _custom_resource(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("RequestType") == "Delete":
        # Deleting the stack never drops the schema: the data outlives it.
        _answer_cloudformation(event, "SUCCESS", "schema left in place", {})
        return {"status": "kept"}
    revision = str(event.get("ResourceProperties", {}).get("Revision", "head"))
    try:
        current = _migrate(revision)
    except Exception as exc:
        logger.exception("migration failed")
        _answer_cloudformation(event, "FAILED", f"migration failed: {type(exc).__name__}", {})
        return {"status": "failed"}
    _answer_cloudformation(event, "SUCCESS", "migrated", {"Revision": current or ""})
    return {"status": "migrated", "revision": current}


@lambda_entry(kind="event")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and "ResponseURL" in event and "RequestType" in event:
        return _custom_resource(event)
    revision = str(event.get("revision", "head")) if isinstance(event, dict) else "head"
    current = _migrate(revision)
    logger.info("database migrated", extra={"revision": current})
    return {"status": "migrated", "revision": current}
