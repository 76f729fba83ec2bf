"""Make moto's IAM enforcement check the resource of the calls the product makes, not only the action.

moto evaluates a request's action against the caller's policies with the resource ``*`` for most services,
so a statement scoped to one secret or one queue (what least privilege means) never matches and everything
is denied. :func:`install` gives Secrets Manager and EventBridge requests (SQS has it) their real resource ARN, so a
role's statements are evaluated as AWS evaluates them: this action, on this secret, queue or bus.
"""

from __future__ import annotations

import json
from typing import Any


def _body(response: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(response.body or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _secret_arn(response: Any) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id = _body(response).get("SecretId")
    if not secret_id:
        return "*"
    backend = secretsmanager_backends[response.current_account][response.region]
    try:
        return str(backend.describe_secret(secret_id).arn)
    except Exception:  # an unknown secret: let the action fail as AWS would, after the permission check
        return str(secret_id)


def _bus_arn(response: Any) -> str:
    entries = _body(response).get("Entries") or [{}]
    bus = entries[0].get("EventBusName") or "default"
    if str(bus).startswith("arn:"):
        return str(bus)
    return f"arn:aws:events:{response.region}:{response.current_account}:event-bus/{bus}"


def install() -> None:
    """Idempotent; call before moto serves requests (in-process, or in the server's process)."""
    from moto.events.responses import EventsHandler
    from moto.secretsmanager.responses import SecretsManagerResponse

    # (moto's SQS already gives its requests the queue's ARN.)
    SecretsManagerResponse._determine_resource = _secret_arn  # type: ignore[attr-defined]
    EventsHandler._determine_resource = _bus_arn  # type: ignore[attr-defined]
