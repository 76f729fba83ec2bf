"""The rules a presented credential must pass: pure functions of the facts and the time, no I/O."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from autoindex.errors import Unauthorized

if TYPE_CHECKING:
    from autoindex.identity.principal import Principal
    from autoindex.identity.principal_cache import KeyFacts

INVALID_KEY = "The API key is invalid."
LAPSED_KEY = "The API key is revoked or expired."
INVALID_TOKEN = "The access token is invalid or expired."  # noqa: S105 - a message, not a secret
LAST_USED_RESOLUTION_S = 60  # last_used_at is written at most once a minute per key


def check_key(facts: KeyFacts, presented_hmac: str, at: float) -> Principal:
    """The key's principal if the presented secret is its own and it is live at ``at``; else Unauthorized."""
    if not hmac.compare_digest(presented_hmac, facts.secret_hmac):
        raise Unauthorized(INVALID_KEY)
    if not key_is_live(facts, at):
        raise Unauthorized(LAPSED_KEY)
    return facts.principal()


def key_is_live(facts: KeyFacts, at: float) -> bool:
    return not facts.revoked and facts.owner_active and (facts.expires_at is None or facts.expires_at > at)


def last_use_due(facts: KeyFacts, at: float) -> bool:
    return facts.last_used_at is None or at - facts.last_used_at >= LAST_USED_RESOLUTION_S
