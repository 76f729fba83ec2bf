"""Route-group rate limits count per verified caller; a caller not verified yet counts per address."""

from __future__ import annotations

import uuid

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.identity import key_format
from autoindex.identity.models import ApiKey

from tests.conftest import clear_process_caches
from tests.functions.auth.keys import create_key
from tests.functions.conftest import Account, Client

pytestmark = pytest.mark.usefixtures("steady_minute")


def tighten(settings: pytest.MonkeyPatch, default_limit: int) -> None:
    """A small per-minute budget for the auth function's route group, in counters of this test's own."""
    settings.setenv("RATE_LIMIT_POLICIES", f'{{"default": {{"limit": {default_limit}, "window_s": 60}}}}')
    settings.setenv("RATE_LIMIT_KEY_PREFIX", f"rl-{uuid.uuid4().hex[:8]}")
    clear_process_caches()


def me(auth: Client, key: str) -> int:
    return auth.get("/v1/auth/me", headers={"X-API-Key": key}).status


def wrong_secret(key: str) -> str:
    """The same key id with another secret and a valid checksum: it passes the format check, then fails."""
    parsed = key_format.parse(key)
    assert parsed is not None
    forged, _ = key_format.generate(parsed.key_id)
    assert forged != key
    return forged


def test_callers_behind_one_address_each_have_their_own_budget(
    auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    first, second = create_key(auth, user, ["read"])["key"], create_key(auth, user, ["read"])["key"]
    tighten(fresh_settings, default_limit=5)
    # One client address (a B2B office behind NAT), two keys and a bearer token
    assert [me(auth, first) for _ in range(6)] == [200] * 5 + [429]
    refused = auth.get("/v1/auth/me", headers={"X-API-Key": first})
    assert refused.json()["policy"] == "default" and int(refused.headers["retry-after"]) >= 1
    assert [me(auth, second) for _ in range(5)] == [200] * 5
    assert auth.get("/v1/auth/me", headers=user.bearer()).status == 200


def test_failed_credentials_are_limited_per_address_and_end_in_429(
    auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    key = create_key(auth, user, ["read"])["key"]
    assert me(auth, key) == 200  # verified once: its facts are in the principal cache
    tighten(fresh_settings, default_limit=3)
    guesses = ["aik_garbage", wrong_secret(key), "", wrong_secret(key)]
    statuses = [me(auth, guess) if guess else auth.get("/v1/auth/me").status for guess in guesses]
    assert statuses == [401, 401, 401, 429]
    assert "retry-after" in auth.get("/v1/auth/me", headers={"X-API-Key": "aik_more_guessing"}).headers
    # The verified caller at the same address is not locked out by the guesses
    assert me(auth, key) == 200
    # while the same guesses from another address get their own anonymous budget
    assert me(Client(auth.handler), wrong_secret(key)) == 401


def test_a_credential_that_needs_the_database_is_counted_as_anonymous_first(
    auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh = create_key(auth, user, ["read"])  # never used: not in the principal cache
    tighten(fresh_settings, default_limit=2)
    assert [me(auth, "aik_x"), me(auth, "aik_y")] == [401, 401]
    # The address's anonymous budget is spent, so the database is never asked about this key
    assert me(auth, fresh["key"]) == 429
    with UnitOfWork(read_only=True) as uow:
        row = uow.session.get(ApiKey, uuid.UUID(fresh["id"]))
        assert row is not None and row.last_used_at is None
    # From another address it is read, verified and served
    assert me(Client(auth.handler), fresh["key"]) == 200
