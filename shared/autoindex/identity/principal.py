"""Who is calling: a user with a bearer token, or an API key acting for its owner with its scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Scope = Literal["read", "write", "admin", "backtest"]
ALL_SCOPES: tuple[Scope, ...] = ("read", "write", "admin", "backtest")


def scopes_for_role(role: str) -> frozenset[str]:
    """What a user's own token may do: read, write and run backtests; admins administer too."""
    own = {"read", "write", "backtest"}
    return frozenset(own | {"admin"} if role == "admin" else own)


def key_scopes(granted: frozenset[str], role: str) -> frozenset[str]:
    """What a key may do: its scopes within its owner's; the ``read`` scope carries ``backtest`` (issue 14)."""
    held = set(granted) | ({"backtest"} if "read" in granted else set())
    return frozenset(held) & scopes_for_role(role)


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "api_key"]
    user_id: uuid.UUID
    email: str
    role: str
    scopes: frozenset[str]
    api_key_id: uuid.UUID | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def actor(self) -> tuple[str, str]:
        """(actor_type, actor_id) for the audit trail."""
        if self.kind == "api_key" and self.api_key_id is not None:
            return "api_key", str(self.api_key_id)
        return "user", str(self.user_id)

    @property
    def rate_limit_identity(self) -> str:
        kind, ident = self.actor
        return f"{'key' if kind == 'api_key' else 'user'}:{ident}"


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What the audit trail records about the request an action came from."""

    request_id: str | None
    source_ip: str | None
