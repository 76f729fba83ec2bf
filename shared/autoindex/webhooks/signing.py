"""Stripe-style request signatures: ``AutoIndex-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

During a secret rotation the header carries one ``v1`` per valid secret, so a receiver that still holds
the old secret (or already the new one) verifies either way. Pure: no database, no settings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

HEADER = "AutoIndex-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets_in_use: Sequence[str], timestamp: int) -> str:
    """The header value: the timestamp, then one v1 signature per secret in use (the current one first)."""
    parts = [f"t={timestamp}"] + [f"v1={_mac(secret, timestamp, body)}" for secret in secrets_in_use]
    return ",".join(parts)


class SignatureError(ValueError):
    """The header is missing, malformed, too old, or no signature matches."""


def verify(header: str, body: bytes, secret: str, *, now: int, tolerance_s: int = 300) -> int:
    """Check a received request the way a receiver should; returns its timestamp. (docs/webhooks.md)"""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError("timestamp outside the tolerance window")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("no signature matches")
    return timestamp
