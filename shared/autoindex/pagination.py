"""Opaque cursors for keyset pagination: a kind tag and the last key seen, URL-safe base64."""

from __future__ import annotations

import base64
import binascii

from autoindex.errors import ValidationFailed


def encode_cursor(kind: str, last_key: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_key}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str:
    """The last key a cursor of ``kind`` carries; a 422 for anything else (forged, truncated, another kind)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    tag, sep, value = raw.partition(":")
    # A forged cursor may decode to anything: control characters (NUL among them) never reach a query.
    if tag != kind or not sep or not value or not value.isprintable():
        raise ValidationFailed("The cursor is not valid; start again without it.")
    return value
