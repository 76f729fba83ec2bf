"""Access tokens (short-lived JWT) and refresh tokens (opaque, stored only as a hash).

Only HS256 is accepted: ``alg: none``, RS/ES tokens and HS/RS confusion all fail on the fixed
algorithm list. Every access token carries ``typ: access``, which no refresh token can have
(refresh tokens are not JWTs at all), and ``sid``, the session (refresh-token family) it belongs
to: authentication checks that the session is still live, so a logout ends its access tokens at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from autoindex.errors import Unauthorized
from autoindex.secret_store import jwt_signing_key
from autoindex.settings import get_settings

ALGORITHMS = ["HS256"]
ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ", "sid"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: uuid.UUID
    role: str
    token_id: str
    session_id: uuid.UUID
    expires_at: datetime


def issue_access_token(
    user_id: uuid.UUID,
    role: str,
    *,
    session_id: uuid.UUID,
    session_expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[str, int]:
    """A signed access token for the user's session and its lifetime in seconds (never past the session's end)."""
    import jwt

    settings = get_settings()
    issued = now or datetime.now(UTC)
    ttl = settings.access_token_ttl_s
    if session_expires_at is not None:
        ttl = max(1, min(ttl, int((session_expires_at - issued).total_seconds())))
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "iat": issued,
        "nbf": issued,
        "exp": issued + timedelta(seconds=ttl),
        "jti": uuid.uuid4().hex,
        "typ": ACCESS_TYPE,
        "sid": session_id.hex,
        "role": role,
    }
    return jwt.encode(claims, jwt_signing_key(), algorithm=ALGORITHMS[0]), ttl


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, algorithm, issuer, audience, times and type; raise Unauthorized on any doubt."""
    import jwt

    settings = get_settings()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            jwt_signing_key(),
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
        if claims.get("typ") != ACCESS_TYPE:
            raise jwt.InvalidTokenError("not an access token")
        return AccessClaims(
            subject=uuid.UUID(str(claims["sub"])),
            role=str(claims.get("role", "user")),
            token_id=str(claims["jti"]),
            session_id=uuid.UUID(hex=str(claims["sid"])),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
        raise Unauthorized("The access token is invalid or expired.") from None


REFRESH_TOKEN_BYTES = 32


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the hash that is all the database keeps of it."""
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # 256 random bits need no salt or slow hash: SHA-256 is enough to keep the stored form useless.
    return hashlib.sha256(token.encode()).hexdigest()
