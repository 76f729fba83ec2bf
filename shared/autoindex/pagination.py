"""Opaque cursors for keyset pagination: a kind tag and the last key seen, URL-safe base64.

A cursor comes back from the client, so it may be forged: every key it carries is checked against the
column it will be compared with (an integer within the column's range, a bounded aware moment, a bounded date),
and anything else is the same 422 — never a database error or an OverflowError (a 500).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import date, datetime

from autoindex.errors import ValidationFailed
from autoindex.moments import bounded_day, parse_moment

# The largest key of an INTEGER and a BIGINT column (PostgreSQL refuses a larger literal with an error).
INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

_INVALID = "The cursor is not valid; start again without it."


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        _INVALID, extensions={"errors": [{"loc": ["query", "cursor"], "msg": _INVALID, "type": "value_error"}]}
    )


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
        raise _invalid()
    return value


def decode_int_cursor(kind: str, cursor: str, *, max_value: int = BIGINT_MAX) -> int:
    """An integer key in 0..``max_value``, ASCII digits only (``int`` also reads other scripts' digits)."""
    value = decode_cursor(kind, cursor)
    if not (value.isascii() and value.isdigit()) or len(value) > 20 or int(value) > max_value:
        raise _invalid()
    return int(value)


def decode_date_cursor(kind: str, cursor: str) -> date:
    try:
        return bounded_day(date.fromisoformat(decode_cursor(kind, cursor)))
    except ValueError:
        raise _invalid() from None


def decode_moment_id_cursor(kind: str, cursor: str) -> tuple[datetime, uuid.UUID]:
    """A ``created_at|id`` key: a bounded moment with an offset, and a UUID."""
    stamp, _, ident = decode_cursor(kind, cursor).partition("|")
    try:
        return parse_moment(stamp), uuid.UUID(ident)
    except ValueError:
        raise _invalid() from None
