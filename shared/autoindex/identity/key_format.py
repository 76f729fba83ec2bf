"""API-key format: ``aik_<public id>_<secret>_<checksum>``.

- public id: the key row's UUID as 32 hex characters, so lookup is one primary-key read;
- secret: 32 random bytes (256 bits) in URL-safe base64 without padding;
- checksum: CRC-32 of everything before it, 8 hex characters, so typos and scanners' finds are
  told apart from real keys without touching the database.

Only HMAC-SHA256(pepper, secret) is stored; comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
import zlib
from dataclasses import dataclass

from autoindex.secret_store import api_key_pepper

PREFIX = "aik"
_SECRET_BYTES = 32
_FORMAT = re.compile(r"^aik_([0-9a-f]{32})_([A-Za-z0-9_-]{43})_([0-9a-f]{8})$")


@dataclass(frozen=True, slots=True)
class ParsedKey:
    key_id: uuid.UUID
    secret: str


def _checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode()) & 0xFFFFFFFF:08x}"


def generate(key_id: uuid.UUID) -> tuple[str, str]:
    """A new key for row ``key_id`` (shown once) and the HMAC to store."""
    secret = base64.urlsafe_b64encode(secrets.token_bytes(_SECRET_BYTES)).rstrip(b"=").decode()
    body = f"{PREFIX}_{key_id.hex}_{secret}"
    return f"{body}_{_checksum(body)}", secret_hmac(secret)


def display_prefix(key_id: uuid.UUID) -> str:
    """What the owner sees in listings to recognise a key: never any part of the secret."""
    return f"{PREFIX}_{key_id.hex[:12]}"


def parse(presented: str) -> ParsedKey | None:
    """The key's id and secret if it is well formed and its checksum holds, else None."""
    found = _FORMAT.fullmatch(presented.strip())
    if not found:
        return None
    body = presented.strip().rsplit("_", 1)[0]
    if not hmac.compare_digest(_checksum(body), found.group(3)):
        return None
    return ParsedKey(key_id=uuid.UUID(hex=found.group(1)), secret=found.group(2))


def secret_hmac(secret: str) -> str:
    return hmac.new(api_key_pepper(), secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, stored_hmac: str) -> bool:
    return hmac.compare_digest(secret_hmac(secret), stored_hmac)
