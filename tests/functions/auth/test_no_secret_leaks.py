"""Passwords, hashes, tokens' secrets and API-key secrets never appear in a response or a log line."""

from __future__ import annotations

import logging
import uuid

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.identity.models import ApiKey, User
from sqlalchemy import select

from tests.functions.conftest import Client, new_email


def test_full_flow_leaks_nothing(
    auth: Client, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    email, password = new_email(), f"Leak-check-{uuid.uuid4().hex[:8]}"
    bodies: list[str] = []
    with caplog.at_level(logging.DEBUG):
        bodies.append(auth.post("/v1/auth/register", body={"email": email, "password": password}).body.decode())
        bodies.append(auth.post("/v1/auth/register", body={"email": "bad", "password": password}).body.decode())
        bodies.append(auth.post("/v1/auth/login", body={"email": email, "password": password + "x"}).body.decode())
        login = auth.post("/v1/auth/login", body={"email": email, "password": password})
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = auth.post("/v1/auth/api-keys", headers=bearer, body={"name": "k", "scopes": ["read"]})
        key = created.json()["key"]
        bodies.append(auth.get("/v1/auth/api-keys", headers=bearer).body.decode())
        bodies.append(auth.get("/v1/auth/me", headers={"X-API-Key": key}).body.decode())
        bodies.append(auth.get("/v1/auth/me", headers={"X-API-Key": key[:-1] + "0"}).body.decode())
    with UnitOfWork(read_only=True) as uow:
        user = uow.session.scalars(select(User).where(User.email == email)).one()
        stored_hmac = uow.session.scalars(select(ApiKey.secret_hmac).where(ApiKey.user_id == user.id)).one()
    secrets = [password, user.password_hash, _secret_of(key), stored_hmac, "test-api-key-pepper", "test-signing-key"]
    logs = (
        capsys.readouterr().out
        + capsys.readouterr().err
        + "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    )
    for secret in secrets:
        assert all(secret not in body for body in bodies), secret
        assert secret not in logs, secret


def test_audit_row_shares_the_transaction_of_its_action(auth: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the audit write fails, the registration it records must not survive either.
    from autoindex.identity import audit

    def broken_record(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit, "record", broken_record)
    email = new_email()
    result = auth.post("/v1/auth/register", body={"email": email, "password": "Transaction-check-42"})
    assert result.status == 500
    with UnitOfWork(read_only=True) as uow:
        assert uow.session.scalars(select(User).where(User.email == email)).one_or_none() is None


def _secret_of(key: str) -> str:
    """The secret part of a full key (it may itself contain "_", so no naive split)."""
    from autoindex.identity import key_format as key_parts

    parsed = key_parts.parse(key)
    assert parsed is not None
    return parsed.secret


def test_answers_carrying_a_credential_are_never_stored_by_a_cache(auth: Client) -> None:
    # RFC 6749 5.1: a token response says no-store, as the browser-session login already did; a shared
    # cache (or a proxy's disk) must not keep a refresh token or an API key's only copy.
    email, password = new_email(), f"No-store-{uuid.uuid4().hex[:8]}"
    assert auth.post("/v1/auth/register", body={"email": email, "password": password}).status == 202
    login = auth.post("/v1/auth/login", body={"email": email, "password": password})
    refreshed = auth.post("/v1/auth/refresh", body={"refresh_token": login.json()["refresh_token"]})
    bearer = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    created = auth.post("/v1/auth/api-keys", headers=bearer, body={"name": "k", "scopes": ["read"]})
    for answer in (login, refreshed, created):
        assert answer.status in {200, 201}, answer.body
        assert answer.headers.get("cache-control") == "no-store"
