"""B2B API keys: shown once, stored as an HMAC, scoped, revocable and expiring at once, with a daily quota."""

from __future__ import annotations

import re
import uuid
import zlib
from datetime import datetime, timedelta

import pytest
from autoindex.auth.deps import WriterPrincipal
from autoindex.db.uow import UnitOfWork
from autoindex.identity import authn
from autoindex.identity.models import ApiKey
from autoindex.web.app import create_app, http_handler
from fastapi import APIRouter
from sqlalchemy import select

from tests.functions.auth.keys import create_key
from tests.functions.conftest import Account, Client, register_and_login
from tests.lambda_http import call

KEY_FORMAT = re.compile(r"^aik_[0-9a-f]{32}_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$")


def test_key_is_shown_once_and_stored_only_as_an_hmac(auth: Client, user: Account) -> None:
    created = create_key(auth, user, ["read"], expires_in_days=30)
    assert KEY_FORMAT.fullmatch(created["key"])
    assert created["prefix"] == created["key"][: len(created["prefix"])]
    listed = auth.get("/v1/auth/api-keys", headers=user.bearer())
    assert listed.status == 200
    assert created["key"] not in listed.body.decode()
    secret = _secret_of(created["key"])
    assert secret not in listed.body.decode()
    (item,) = [i for i in listed.json()["items"] if i["id"] == created["id"]]
    assert "key" not in item and item["scopes"] == ["read"]
    with UnitOfWork() as uow:
        row = uow.session.get(ApiKey, uuid.UUID(created["id"]))
        assert row is not None and secret not in row.secret_hmac and len(row.secret_hmac) == 64


def test_key_authenticates_me_and_records_last_use(auth: Client, user: Account) -> None:
    created = create_key(auth, user, ["read"])
    me = auth.get("/v1/auth/me", headers={"X-API-Key": created["key"]})
    assert me.status == 200
    # A read key may also run backtests (issue 14: the backtest scope comes with read).
    expected = ("api_key", ["backtest", "read"], created["id"])
    assert (me.json()["auth"], me.json()["scopes"], me.json()["api_key_id"]) == expected
    listed = auth.get("/v1/auth/api-keys", headers=user.bearer()).json()["items"]
    assert next(i for i in listed if i["id"] == created["id"])["last_used_at"] is not None


@pytest.mark.parametrize("mutate", ["checksum", "secret", "id", "garbage"])
def test_altered_keys_are_refused(auth: Client, user: Account, mutate: str) -> None:
    key = create_key(auth, user, ["read"])["key"]
    parts = key.rsplit("_", 1)
    body, checksum = parts[0], parts[1]
    if mutate == "checksum":
        bad = f"{body}_{'0' * 8 if checksum != '0' * 8 else '1' * 8}"
    elif mutate == "secret":
        # A different secret with a correct checksum: only the HMAC comparison can refuse it.
        other = body[:-1] + ("A" if body[-1] != "A" else "B")
        bad = f"{other}_{zlib.crc32(other.encode()) & 0xFFFFFFFF:08x}"
    elif mutate == "id":
        other = f"aik_{uuid.uuid4().hex}_{body.split('_', 2)[2]}"
        bad = f"{other}_{zlib.crc32(other.encode()) & 0xFFFFFFFF:08x}"
    else:
        bad = "not-a-key"
    assert auth.get("/v1/auth/me", headers={"X-API-Key": bad}).status == 401


def test_revocation_takes_effect_immediately(auth: Client, user: Account) -> None:
    created = create_key(auth, user, ["read"])
    headers = {"X-API-Key": created["key"]}
    assert auth.get("/v1/auth/me", headers=headers).status == 200
    assert auth.delete(f"/v1/auth/api-keys/{created['id']}", headers=user.bearer()).status == 204
    assert auth.get("/v1/auth/me", headers=headers).status == 401


def test_expiry_takes_effect_immediately(auth: Client, user: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    created = create_key(auth, user, ["read"], expires_in_days=1)
    headers = {"X-API-Key": created["key"]}
    assert auth.get("/v1/auth/me", headers=headers).status == 200  # now cached
    expires_at = datetime.fromisoformat(created["expires_at"]).timestamp()
    monkeypatch.setattr(authn, "now", lambda: expires_at + 1)
    assert auth.get("/v1/auth/me", headers=headers).status == 401
    monkeypatch.setattr(authn, "now", lambda: expires_at - 1)
    assert auth.get("/v1/auth/me", headers=headers).status == 200


def test_someone_elses_key_is_not_found(auth: Client, user: Account) -> None:
    other = register_and_login(auth)
    theirs = create_key(auth, other, ["read"])
    assert auth.delete(f"/v1/auth/api-keys/{theirs['id']}", headers=user.bearer()).status == 404
    assert auth.delete(f"/v1/auth/api-keys/{uuid.uuid4()}", headers=user.bearer()).status == 404
    assert auth.get("/v1/auth/me", headers={"X-API-Key": theirs["key"]}).status == 200  # still alive
    mine = auth.get("/v1/auth/api-keys", headers=user.bearer()).json()["items"]
    assert theirs["id"] not in {i["id"] for i in mine}


def test_users_cannot_grant_admin_scope(auth: Client, user: Account) -> None:
    result = auth.post("/v1/auth/api-keys", headers=user.bearer(), body={"name": "x", "scopes": ["admin"]})
    assert result.status == 403


def test_keys_cannot_manage_keys(auth: Client, user: Account) -> None:
    key = create_key(auth, user, ["read", "write"])["key"]
    minted = auth.post("/v1/auth/api-keys", headers={"X-API-Key": key}, body={"name": "x", "scopes": ["read"]})
    assert minted.status == 403
    assert auth.get("/v1/auth/api-keys", headers={"X-API-Key": key}).status == 403


def test_bearer_and_key_together_is_a_bad_request(auth: Client, user: Account) -> None:
    key = create_key(auth, user, ["read"])["key"]
    assert auth.get("/v1/auth/me", headers={**user.bearer(), "X-API-Key": key}).status == 400


def test_a_read_key_cannot_write(auth: Client, user: Account) -> None:
    router = APIRouter()

    @router.post("/v1/things")
    def write_something(principal: WriterPrincipal) -> dict[str, str]:
        return {"by": principal.kind}

    writer_app = http_handler(create_app([router], title="scopes"))
    read_key = create_key(auth, user, ["read"])["key"]
    write_key = create_key(auth, user, ["read", "write"])["key"]
    assert call(writer_app, "POST", "/v1/things", headers={"X-API-Key": read_key}).status == 403
    assert call(writer_app, "POST", "/v1/things", headers={"X-API-Key": write_key}).json() == {"by": "api_key"}
    assert call(writer_app, "POST", "/v1/things", headers=user.bearer()).json() == {"by": "user"}


def test_unknown_scopes_and_bad_expiry_are_422(auth: Client, user: Account) -> None:
    for body in (
        {"name": "x", "scopes": ["superuser"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["read", "read"]},
        {"name": "x", "scopes": ["read"], "expires_in_days": 0},
        {"name": "x", "scopes": ["read"], "expires_in_days": 366},  # API_KEY_MAX_TTL_DAYS
        {"name": "", "scopes": ["read"]},
    ):
        assert auth.post("/v1/auth/api-keys", headers=user.bearer(), body=body).status == 422, body


def test_a_key_without_expires_in_days_lives_api_key_max_ttl_days(
    auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("API_KEY_MAX_TTL_DAYS", "90")
    created = create_key(auth, user, ["read"])
    lifetime = datetime.fromisoformat(created["expires_at"]) - datetime.fromisoformat(created["created_at"])
    assert lifetime == timedelta(days=90)  # docs/security.md: a key lives at most API_KEY_MAX_TTL_DAYS
    (listed,) = [i for i in auth.get("/v1/auth/api-keys", headers=user.bearer()).json()["items"]]
    assert listed["expires_at"] == created["expires_at"]


def test_expires_in_days_takes_only_a_json_integer(auth: Client, user: Account) -> None:
    for value in (True, "30", 30.5):  # true is not one day
        body = {"name": "x", "scopes": ["read"], "expires_in_days": value}
        refused = auth.post("/v1/auth/api-keys", headers=user.bearer(), body=body)
        assert refused.status == 422, value
        assert refused.json()["errors"][0]["loc"][:2] == ["body", "expires_in_days"]
    assert create_key(auth, user, ["read"], expires_in_days=30)["expires_at"] is not None


def test_too_many_active_keys_is_a_conflict(auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("API_KEY_MAX_PER_USER", "2")
    create_key(auth, user, ["read"])
    create_key(auth, user, ["read"])
    third = auth.post("/v1/auth/api-keys", headers=user.bearer(), body={"name": "3", "scopes": ["read"]})
    assert third.status == 409


@pytest.mark.usefixtures("steady_minute")
def test_daily_quota_per_key(auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("API_KEY_DAILY_QUOTA", "3")
    key = create_key(auth, user, ["read"])["key"]
    statuses = [auth.get("/v1/auth/me", headers={"X-API-Key": key}).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other_key = create_key(auth, user, ["read"])["key"]
    assert auth.get("/v1/auth/me", headers={"X-API-Key": other_key}).status == 200  # per key, not per user


def test_keys_are_listed_newest_first(auth: Client, user: Account) -> None:
    ids = [create_key(auth, user, ["read"])["id"] for _ in range(2)]
    listed = [i["id"] for i in auth.get("/v1/auth/api-keys", headers=user.bearer()).json()["items"]]
    assert listed[:2] == ids[::-1]
    with UnitOfWork(read_only=True) as uow:
        assert uow.session.scalars(select(ApiKey.id).where(ApiKey.id.in_([uuid.UUID(i) for i in ids]))).all()


def _secret_of(key: str) -> str:
    """The secret part of a full key (it may itself contain "_", so no naive split)."""
    from autoindex.identity import key_format as key_parts

    parsed = key_parts.parse(key)
    assert parsed is not None
    return parsed.secret
