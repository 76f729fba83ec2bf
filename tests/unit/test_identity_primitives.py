"""Password policy and hashing, and the API-key format, without a database."""

from __future__ import annotations

import uuid

from autoindex.identity import key_format as api_keys
from autoindex.identity import passwords


def test_hash_verifies_and_differs_per_salt() -> None:
    first = passwords.hash_password("Some-long-password-1", rounds=4)
    second = passwords.hash_password("Some-long-password-1", rounds=4)
    assert first != second
    assert passwords.verify_password("Some-long-password-1", first)
    assert not passwords.verify_password("Some-long-password-2", first)
    assert not passwords.verify_password("anything", "not-a-bcrypt-hash")


def test_the_whole_of_a_long_or_nul_password_counts() -> None:
    base = "x" * 80
    stored = passwords.hash_password(base + "a", rounds=4)
    assert not passwords.verify_password(base + "b", stored)
    with_nul = passwords.hash_password("abc\x00defghijklmn", rounds=4)
    assert not passwords.verify_password("abc\x00zzzzzzzzzzz", with_nul)


def test_the_cost_comes_from_settings() -> None:
    assert passwords.hash_password("Some-long-password-1", rounds=5).startswith("$2b$05$")


def test_policy_reasons() -> None:
    email = "jane.doe@example.com"
    assert passwords.policy_violation("Tr0ub4dor&3-horse", email) is None
    assert "at least" in (passwords.policy_violation("short", email) or "")
    assert "at most" in (passwords.policy_violation("y" * 300, email) or "")
    assert "e-mail" in (passwords.policy_violation("my-jane.doe-pass", email) or "")
    assert "common" in (passwords.policy_violation("Password1234", email) or "")


def test_api_key_round_trip_and_checksum() -> None:
    key_id = uuid.uuid4()
    key, digest = api_keys.generate(key_id)
    parsed = api_keys.parse(key)
    assert parsed is not None and parsed.key_id == key_id
    assert api_keys.secret_matches(parsed.secret, digest)
    assert api_keys.parse(key[:-1] + ("0" if key[-1] != "0" else "1")) is None
    assert api_keys.parse(key.replace("aik_", "xyz_")) is None
    assert len(parsed.secret) == 43  # 32 random bytes: 256 bits
    assert api_keys.display_prefix(key_id) in key and parsed.secret not in api_keys.display_prefix(key_id)
