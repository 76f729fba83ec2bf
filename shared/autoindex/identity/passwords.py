"""Password policy and bcrypt hashing.

bcrypt reads at most 72 bytes and stops at a NUL byte. Rather than truncate silently, every
password is first reduced to the base64 of its SHA-256 (44 ASCII bytes, no NUL), so the whole
password counts whatever its length or alphabet. Passwords are capped at 256 characters so a
huge body cannot buy a long hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 256
_MIN_DISTINCT = 5


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("autoindex.data").joinpath("common-passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def policy_violation(password: str, email: str) -> str | None:
    """Why ``password`` is refused for the account ``email``, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters long."
    lowered = password.strip().lower()
    local_part = email.split("@", 1)[0].lower()
    if lowered in (email.lower(), local_part) or (len(local_part) >= 4 and local_part in lowered):
        return "The password must not contain the e-mail address."
    if lowered in _common_passwords():
        return "The password is too common."
    if len(set(lowered)) < _MIN_DISTINCT:
        return f"The password must use at least {_MIN_DISTINCT} different characters."
    return None


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str, *, rounds: int) -> str:
    import bcrypt

    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    import bcrypt

    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode())
    except ValueError:  # a malformed stored hash never authenticates
        return False


@functools.cache
def _dummy_hash(rounds: int) -> str:
    return hash_password("not-a-real-password-but-the-same-cost", rounds=rounds)


def burn_equal_time(password: str, *, rounds: int) -> None:
    """Spend one verification at the configured cost, so an unknown e-mail answers as slowly as a wrong password."""
    verify_password(password, _dummy_hash(rounds))
